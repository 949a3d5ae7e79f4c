import { applyPatch, deepClone, type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Schema } from '../openapi/schema.js';
import {
  checkFieldValidation,
  checkPatchFieldValidation,
  duplicateFields,
  goFormat,
  goQuote,
  hasFieldSchema,
  JsonScanError,
  jsonStrictProblems,
  pruneUnknownFields,
  type TypeRef,
  unknownFields,
  unknownFieldsForSchema,
  yamlDuplicateKeys,
} from './field-validation.js';

const DEPLOYMENT: TypeRef = { apiVersion: 'apps/v1', kind: 'Deployment' };
const POD: TypeRef = { apiVersion: 'v1', kind: 'Pod' };
const SERVICE: TypeRef = { apiVersion: 'v1', kind: 'Service' };
const CONFIGMAP: TypeRef = { apiVersion: 'v1', kind: 'ConfigMap' };
const INGRESS: TypeRef = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' };
const WIDGET: TypeRef = { apiVersion: 'example.com/v1', kind: 'Widget' };

function deployment(): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      labels: { app: 'web', 'app.kubernetes.io/name': 'web' },
      annotations: { 'x/y': 'z' },
    },
    spec: {
      replicas: 2,
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }],
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.27',
              ports: [{ containerPort: 80, name: 'http' }],
              resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 0.1 } },
              readinessProbe: { httpGet: { path: '/', port: 'http' } },
            },
          ],
        },
      },
    },
    status: { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
  };
}

/** A copy of `base` with `value` set at `path` (creating nothing: every parent must exist). */
function withField(
  base: Record<string, unknown>,
  path: (string | number)[],
  value: unknown,
): Record<string, unknown> {
  const copy = deepClone(base) as Record<string, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) at = at[seg] as Record<string | number, unknown>;
  at[path[path.length - 1] as string | number] = value;
  return copy;
}

describe('unknownFields', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [
        { name: 'a', image: 'a' },
        {
          name: 'b',
          image: 'b',
          env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          volumeMounts: [
            { name: 'v', mountPath: '/v' },
            { name: 'w', mountPath: '/w' },
          ],
          resources: { limits: { 'nvidia.com/gpu': 1 } },
        },
      ],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      volumes: [{ name: 'v', emptyDir: {} }],
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      selector: { app: 'web', 'any.key/here': 'x' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'alt', port: 8080, targetPort: 8080, protocol: 'TCP' },
      ],
    },
  };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c' },
    data: { 'app.properties': 'a=b', 'weird key!': '' },
    binaryData: { blob: 'AAEC' },
  };
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'i', annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' } },
    spec: {
      ingressClassName: 'k8ts',
      tls: [{ hosts: ['a.example.com'], secretName: 't' }],
      rules: [
        {
          host: 'a.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };

  const cases: { name: string; type: TypeRef; obj: unknown; want: string[] }[] = [
    { name: 'a valid Deployment', type: DEPLOYMENT, obj: deployment(), want: [] },
    {
      name: 'a misspelt spec field',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['spec', 'replicass'], 3),
      want: ['spec.replicass'],
    },
    {
      name: 'a misspelt container field',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['spec', 'template', 'spec', 'containers', 0, 'imagee'], 'x'),
      want: ['spec.template.spec.containers[0].imagee'],
    },
    {
      name: 'a misspelt metadata field',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['metadata', 'labelz'], { a: 'b' }),
      want: ['metadata.labelz'],
    },
    {
      name: 'an unknown top-level field next to apiVersion and kind',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['specs'], {}),
      want: ['specs'],
    },
    {
      name: 'an undeclared field is reported once, not looked into',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['spec', 'foo'], { bar: { baz: 1 } }),
      want: ['spec.foo'],
    },
    {
      name: 'IntOrString and Quantity values take strings and numbers',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['spec', 'strategy', 'rollingUpdate', 'maxSurge'], 2),
      want: [],
    },
    {
      name: 'managedFields fieldsV1 (raw JSON) takes any key',
      type: DEPLOYMENT,
      obj: withField(
        deployment(),
        ['metadata', 'managedFields'],
        [
          {
            manager: 'kubectl',
            operation: 'Apply',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': { 'f:replicas': {} } },
          },
        ],
      ),
      want: [],
    },
    {
      name: 'a misspelt managedFields entry field',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['metadata', 'managedFields'], [{ manager: 'm' }, { managr: 'm' }]),
      want: ['metadata.managedFields[1].managr'],
    },
    {
      name: 'several problems in key order',
      type: DEPLOYMENT,
      obj: withField(withField(deployment(), ['spec', 'zeta'], 1), ['metadata', 'alpha'], 1),
      want: ['metadata.alpha', 'spec.zeta'],
    },
    { name: 'a valid Pod with nested lists and maps', type: POD, obj: pod, want: [] },
    {
      name: 'Pod: nested list items',
      type: POD,
      obj: withField(
        withField(pod, ['spec', 'containers', 1, 'volumeMounts', 1, 'mountPathh'], '/x'),
        ['spec', 'initContainers', 0, 'commandd'],
        [],
      ),
      want: ['spec.initContainers[0].commandd', 'spec.containers[1].volumeMounts[1].mountPathh'],
    },
    {
      name: 'Pod: deep inside env valueFrom',
      type: POD,
      obj: withField(pod, ['spec', 'containers', 1, 'env', 0, 'valueFrom', 'fieldRef', 'fieldPathh'], 'x'),
      want: ['spec.containers[1].env[0].valueFrom.fieldRef.fieldPathh'],
    },
    {
      name: 'Pod: a volume source',
      type: POD,
      obj: withField(pod, ['spec', 'volumes', 0, 'emptyDir'], { medium: 'Memory', sizeLimitt: '1Gi' }),
      want: ['spec.volumes[0].emptyDir.sizeLimitt'],
    },
    { name: 'a valid Service (targetPort as name and number)', type: SERVICE, obj: service, want: [] },
    {
      name: 'Service: a misspelt port field',
      type: SERVICE,
      obj: withField(service, ['spec', 'ports', 1, 'targetPortt'], 80),
      want: ['spec.ports[1].targetPortt'],
    },
    { name: 'a valid ConfigMap (data takes any key)', type: CONFIGMAP, obj: configMap, want: [] },
    {
      name: 'ConfigMap: a misspelt top-level map',
      type: CONFIGMAP,
      obj: withField(configMap, ['datas'], { a: 'b' }),
      want: ['datas'],
    },
    { name: 'a valid Ingress', type: INGRESS, obj: ingress, want: [] },
    {
      name: 'Ingress: the old v1beta1 backend shape',
      type: INGRESS,
      obj: withField(ingress, ['spec', 'rules', 0, 'http', 'paths', 0, 'backend'], {
        serviceName: 'web',
        servicePort: 80,
      }),
      want: [
        'spec.rules[0].http.paths[0].backend.serviceName',
        'spec.rules[0].http.paths[0].backend.servicePort',
      ],
    },
    {
      name: 'a value of the wrong type is not an unknown field',
      type: DEPLOYMENT,
      obj: withField(deployment(), ['spec'], 'not an object'),
      want: [],
    },
    {
      name: 'a kind without a published schema',
      type: WIDGET,
      obj: { apiVersion: 'example.com/v1', kind: 'Widget', anything: 1 },
      want: [],
    },
    { name: 'not an object', type: DEPLOYMENT, obj: [1, 2], want: [] },
  ];
  it.each(cases)('$name', ({ type, obj, want }) => {
    expect(unknownFields(type, obj)).toEqual(want);
  });

  it('walks keys sorted when asked, as upstream does for decoded maps', () => {
    const obj = withField(withField(deployment(), ['spec', 'zeta'], 1), ['spec', 'alpha'], 1);
    expect(unknownFields(DEPLOYMENT, obj)).toEqual(['spec.zeta', 'spec.alpha']);
    expect(unknownFields(DEPLOYMENT, obj, { order: 'sorted' })).toEqual(['spec.alpha', 'spec.zeta']);
  });

  it('keeps at most 100 problems', () => {
    const spec: Record<string, number> = {};
    for (let i = 0; i < 150; i++) spec[`x${i}`] = i;
    const got = unknownFields(DEPLOYMENT, { spec });
    expect(got).toHaveLength(100);
    expect(got[0]).toBe('spec.x0');
  });

  it('knows which kinds have a schema', () => {
    expect([DEPLOYMENT, POD, SERVICE, CONFIGMAP, INGRESS, WIDGET].map(hasFieldSchema)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
  });
});

describe('unknownFieldsForSchema', () => {
  // A CRD-style schema exercising what the generated definitions do not use.
  const schema: Schema = {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { allOf: [{ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
      spec: {
        type: 'object',
        properties: {
          port: { 'x-kubernetes-int-or-string': true },
          config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          extra: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
            properties: { known: { type: 'object', properties: { a: { type: 'string' } } } },
          },
          tags: { type: 'object', additionalProperties: true },
          limits: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { max: { type: 'integer' } } },
          },
          items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
          anything: { type: 'array' },
        },
      },
    },
  };
  const cases: { name: string; obj: unknown; want: string[] }[] = [
    {
      name: 'everything declared or free-form',
      obj: {
        apiVersion: 'x/v1',
        kind: 'X',
        metadata: { name: 'a', labels: { b: 'c' } },
        spec: {
          port: 'http',
          config: { deep: { er: [1] } },
          extra: { known: { a: 'x' }, unknownButPreserved: 1 },
          tags: { t: { u: 1 } },
          limits: { cpu: { max: 1 } },
          items: [{ name: 'a' }],
          anything: [{ z: 1 }],
        },
      },
      want: [],
    },
    { name: 'metadata through an allOf $ref', obj: { metadata: { nam: 'a' } }, want: ['metadata.nam'] },
    {
      name: 'declared fields under preserve-unknown-fields are still checked',
      obj: { spec: { extra: { known: { b: 1 } } } },
      want: ['spec.extra.known.b'],
    },
    {
      name: 'map values with a schema',
      obj: { spec: { limits: { cpu: { maxx: 1 } } } },
      want: ['spec.limits.cpu.maxx'],
    },
    {
      name: 'list items',
      obj: { spec: { items: [{ name: 'a' }, { nme: 'b' }] } },
      want: ['spec.items[1].nme'],
    },
  ];
  it.each(cases)('$name', ({ obj, want }) => {
    expect(unknownFieldsForSchema(schema, obj)).toEqual(want);
  });
});

describe('duplicateFields', () => {
  const cases: { name: string; json: string; want: string[] }[] = [
    { name: 'none', json: '{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}', want: [] },
    { name: 'top level', json: '{"replicas":1,"replicas":2}', want: ['replicas'] },
    {
      name: 'nested object',
      json: '{"spec":{"replicas":1,"paused":true,"replicas":2}}',
      want: ['spec.replicas'],
    },
    {
      name: 'inside list items',
      json: '{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x","image":"y"}]}}',
      want: ['spec.containers[1].image'],
    },
    {
      name: 'a map key',
      json: '{"metadata":{"labels":{"app":"a","app":"b"}}}',
      want: ['metadata.labels.app'],
    },
    { name: 'reported once however often repeated', json: '{"a":1,"a":2,"a":3}', want: ['a'] },
    { name: 'in document order', json: '{"b":{"y":1,"y":2},"a":1,"a":2}', want: ['b.y', 'a'] },
    { name: 'escaped keys compare decoded', json: '{"a":1,"\\u0061":2}', want: ['a'] },
    {
      name: 'strings holding JSON punctuation',
      json: '{"a":"}\\",{[","b":["]",{"c":1}],"a":null}',
      want: ['a'],
    },
    { name: 'whitespace everywhere', json: ' {\n\t"a" :\r\n 1 , "a"\t: [ ] }\n', want: ['a'] },
    { name: 'nested arrays', json: '[[{"k":1,"k":2}]]', want: ['[0][0].k'] },
    { name: 'a scalar document', json: '42', want: [] },
  ];
  it.each(cases)('$name', ({ json, want }) => {
    JSON.parse(json); // every case is valid JSON
    expect(duplicateFields(json)).toEqual(want);
  });

  it.each(['{"a":1', '{"a" 1}', '{"a":1,}x', '[1 2]'])('rejects malformed JSON %j', (json) => {
    expect(() => duplicateFields(json)).toThrow(JsonScanError);
  });
});

// The request bodies of upstream's field validation integration test.
const INVALID_BODY_JSON = `
	{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "dupename",
			"name": "web",
			"labels": {"app": "nginx"},
			"unknownMeta": "metaVal"
		},
		"spec": {
			"unknown1": "val1",
			"unknownDupe": "valDupe",
			"unknownDupe": "valDupe2",
			"paused": true,
			"paused": false,
			"selector": {
				"matchLabels": {
					"app": "nginx"
				}
			},
			"template": {
				"metadata": {
					"labels": {
						"app": "nginx"
					}
				},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest",
						"unknownNested": "val1",
						"imagePullPolicy": "Always",
						"imagePullPolicy": "Never"
					}]
				}
			}
		}
	}
		`;

const INVALID_BODY_YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: dupename
  name: web
  unknownMeta: metaVal
  labels:
    app: nginx
spec:
  unknown1: val1
  unknownDupe: valDupe
  unknownDupe: valDupe2
  paused: true
  paused: false
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        unknownNested: val1
        imagePullPolicy: Always
        imagePullPolicy: Never`;

const JSON_PROBLEMS = [
  'duplicate field "metadata.name"',
  'unknown field "metadata.unknownMeta"',
  'unknown field "spec.unknown1"',
  'unknown field "spec.unknownDupe"',
  'duplicate field "spec.paused"',
  'unknown field "spec.template.spec.containers[0].unknownNested"',
  'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
];

const YAML_WARNINGS = [
  'line 5: key "name" already set in map',
  'line 12: key "unknownDupe" already set in map',
  'line 14: key "paused" already set in map',
  'line 28: key "imagePullPolicy" already set in map',
  'unknown field "metadata.unknownMeta"',
  'unknown field "spec.template.spec.containers[0].unknownNested"',
  'unknown field "spec.unknown1"',
  'unknown field "spec.unknownDupe"',
];

describe('checkFieldValidation', () => {
  const jsonBody = {
    ...DEPLOYMENT,
    obj: JSON.parse(INVALID_BODY_JSON) as unknown,
    rawJson: INVALID_BODY_JSON,
  };
  const yamlBody = {
    ...DEPLOYMENT,
    obj: parseYaml(INVALID_BODY_YAML, { uniqueKeys: false }) as unknown,
    rawYaml: INVALID_BODY_YAML,
  };
  const strictJson = `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${JSON_PROBLEMS.join(', ')}`;
  const strictYaml =
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: yaml: unmarshal errors:\n' +
    '  line 5: key "name" already set in map\n' +
    '  line 12: key "unknownDupe" already set in map\n' +
    '  line 14: key "paused" already set in map\n' +
    '  line 28: key "imagePullPolicy" already set in map, unknown field "metadata.unknownMeta", ' +
    'unknown field "spec.template.spec.containers[0].unknownNested", unknown field "spec.unknown1", unknown field "spec.unknownDupe"';

  const cases: {
    name: string;
    mode: string | undefined;
    input: Parameters<typeof checkFieldValidation>[1];
    error?: string;
    warnings: string[];
  }[] = [
    { name: 'JSON Strict', mode: 'Strict', input: jsonBody, error: strictJson, warnings: [] },
    { name: 'JSON Warn', mode: 'Warn', input: jsonBody, warnings: JSON_PROBLEMS },
    { name: 'JSON without the parameter warns', mode: undefined, input: jsonBody, warnings: JSON_PROBLEMS },
    { name: 'JSON with an empty parameter warns', mode: '', input: jsonBody, warnings: JSON_PROBLEMS },
    { name: 'JSON Ignore', mode: 'Ignore', input: jsonBody, warnings: [] },
    { name: 'YAML Strict', mode: 'Strict', input: yamlBody, error: strictYaml, warnings: [] },
    { name: 'YAML Warn', mode: 'Warn', input: yamlBody, warnings: YAML_WARNINGS },
    { name: 'YAML Ignore', mode: 'Ignore', input: yamlBody, warnings: [] },
    {
      name: 'a clean body under Strict',
      mode: 'Strict',
      input: { ...DEPLOYMENT, obj: deployment(), rawJson: JSON.stringify(deployment()) },
      warnings: [],
    },
    {
      name: 'a decoded object without its text (unknown fields only)',
      mode: 'Strict',
      input: { ...SERVICE, obj: { apiVersion: 'v1', kind: 'Service', spec: { portz: [] } } },
      error:
        'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.portz"',
      warnings: [],
    },
    {
      name: 'Ingress keeps its group out of the version',
      mode: 'Strict',
      input: { ...INGRESS, obj: { spec: { rulez: [] } }, rawJson: '{"spec":{"rulez":[]}}' },
      error:
        'Ingress in version "v1" cannot be handled as a Ingress: strict decoding error: unknown field "spec.rulez"',
      warnings: [],
    },
    {
      name: 'ConfigMap data keys are free, but not repeatable',
      mode: 'Warn',
      input: { ...CONFIGMAP, obj: {}, rawJson: '{"data":{"any key":"1","any key":"2","other":"3"}}' },
      warnings: ['duplicate field "data.any key"'],
    },
    {
      name: 'a kind without a schema still gets its duplicates checked',
      mode: 'Strict',
      input: { ...WIDGET, obj: {}, rawJson: '{"spec":{"size":1,"size":2,"colour":"red"}}' },
      error:
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: duplicate field "spec.size"',
      warnings: [],
    },
    {
      name: 'an unknown field that is repeated is reported once, as unknown',
      mode: 'Warn',
      input: { ...POD, obj: {}, rawJson: '{"spec":{"nodeNamee":"a","nodeNamee":"b"}}' },
      warnings: ['unknown field "spec.nodeNamee"'],
    },
  ];
  it.each(cases)('$name', ({ mode, input, error, warnings }) => {
    const got = checkFieldValidation(mode, input);
    expect(got.error).toBe(error);
    expect(got.warnings).toEqual(warnings);
    if (error === undefined) {
      expect(got.failure).toBeUndefined();
    } else {
      expect(got.failure).toEqual({ httpCode: 400, reason: 'BadRequest', message: error });
    }
  });

  it.each([
    ['Bogus', undefined, 'CreateOptions'],
    ['strict', 'UpdateOptions', 'UpdateOptions'],
  ] as const)('rejects the directive %j on %s', (mode, optionsKind, kind) => {
    const input =
      optionsKind === undefined ? { ...DEPLOYMENT, obj: {} } : { ...DEPLOYMENT, obj: {}, optionsKind };
    const got = checkFieldValidation(mode, input);
    const body = `Unsupported value: "${mode}": supported values: "", "Ignore", "Strict", "Warn"`;
    expect(got.error).toBe(`${kind}.meta.k8s.io "" is invalid: fieldValidation: ${body}`);
    expect(got.failure).toEqual({
      httpCode: 422,
      reason: 'Invalid',
      message: got.error,
      details: {
        group: 'meta.k8s.io',
        kind,
        name: '',
        causes: [{ reason: 'FieldValueNotSupported', message: body, field: 'fieldValidation' }],
      },
    });
    expect(got.warnings).toEqual([]);
  });

  it('takes the first of a repeated parameter', () => {
    expect(checkFieldValidation(['Ignore', 'Strict'], jsonBody)).toEqual({ warnings: [] });
  });

  it('gives the JSON problems in document order', () => {
    expect(jsonStrictProblems(DEPLOYMENT, INVALID_BODY_JSON)).toEqual(JSON_PROBLEMS);
  });
});

describe('checkPatchFieldValidation', () => {
  const current = deployment();
  const mergePatch = `
{
	"spec": {
		"unknown1": "val1",
		"unknownDupe": "valDupe",
		"unknownDupe": "valDupe2",
		"paused": true,
		"paused": false,
		"template": {
			"spec": {
				"containers": [{
					"name": "nginx",
					"image": "nginx:latest",
					"unknownNested": "val1",
					"imagePullPolicy": "Always",
					"imagePullPolicy": "Never"
				}]
			}
		}
	}
}`;
  const nonConflictingPatch = '{"spec":{"paused":true,"paused":false}}';
  const jsonPatch = `
			[
				{"op": "add", "path": "/spec/unknown1", "value": "val1", "foo":"bar"},
				{"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"},
				{"op": "add", "path": "/spec/unknownDupe", "value": "valDupe"},
				{"op": "add", "path": "/spec/unknownDupe", "value": "valDupe2"},
				{"op": "add", "path": "/spec/paused", "value": true},
				{"op": "add", "path": "/spec/paused", "value": false},
				{"op": "add", "path": "/spec/template/spec/containers/0/unknownNested", "value": "val1"},
				{"op": "add", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Always"},
				{"op": "add", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "Never"}
			]`;
  // The merge patch's result, built by hand: JSON merge of the patch above into `current`.
  const merged = withField(
    withField(
      withField(withField(current, ['spec', 'unknown1'], 'val1'), ['spec', 'unknownDupe'], 'valDupe2'),
      ['spec', 'paused'],
      false,
    ),
    ['spec', 'template', 'spec', 'containers'],
    [{ name: 'nginx', image: 'nginx:latest', unknownNested: 'val1', imagePullPolicy: 'Never' }],
  );
  const jsonPatched = applyPatch(
    deepClone(current),
    JSON.parse(jsonPatch) as Operation[],
    false,
    false,
  ).newDocument;
  const applyBody = `{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "web",
			"labels": {"app": "nginx"}
		},
		"spec": {
			"paused": false,
			"paused": true,
			"selector": {
				"matchLabels": {
					"app": "nginx"
				}
			},
			"template": {
				"metadata": {
					"labels": {
						"app": "nginx"
					}
				},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest",
						"imagePullPolicy": "Never",
						"imagePullPolicy": "Always"
					}]
				}
			}
		}
	}`;

  const mergeProblems = [
    'duplicate field "spec.unknownDupe"',
    'duplicate field "spec.paused"',
    'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
    'unknown field "spec.template.spec.containers[0].unknownNested"',
    'unknown field "spec.unknown1"',
    'unknown field "spec.unknownDupe"',
  ];
  const jsonPatchProblems = [
    'json patch unknown field "[0].foo"',
    'json patch duplicate field "[1].path"',
    'unknown field "spec.template.spec.containers[0].unknownNested"',
    'unknown field "spec.unknown1"',
    'unknown field "spec.unknown3"',
    'unknown field "spec.unknownDupe"',
  ];
  const applyLines = [
    'line 10: key "paused" already set in map',
    'line 27: key "imagePullPolicy" already set in map',
  ];

  const cases: {
    name: string;
    mode: string | undefined;
    input: Parameters<typeof checkPatchFieldValidation>[1];
    strictSuffix?: string;
    warnings: string[];
  }[] = [
    {
      name: 'merge Strict',
      mode: 'Strict',
      input: { ...DEPLOYMENT, patchType: 'merge', patch: mergePatch, patched: merged },
      strictSuffix: `: strict decoding error: ${mergeProblems.join(', ')}`,
      warnings: [],
    },
    {
      name: 'merge Warn',
      mode: 'Warn',
      input: { ...DEPLOYMENT, patchType: 'merge', patch: mergePatch, patched: merged },
      warnings: mergeProblems,
    },
    {
      name: 'merge without the parameter',
      mode: undefined,
      input: { ...DEPLOYMENT, patchType: 'merge', patch: mergePatch, patched: merged },
      warnings: mergeProblems,
    },
    {
      name: 'merge Ignore',
      mode: 'Ignore',
      input: { ...DEPLOYMENT, patchType: 'merge', patch: mergePatch, patched: merged },
      warnings: [],
    },
    {
      name: 'strategic Warn, same texts as merge',
      mode: 'Warn',
      input: { ...DEPLOYMENT, patchType: 'strategic', patch: mergePatch, patched: merged },
      warnings: mergeProblems,
    },
    {
      name: 'strategic non-conflicting Strict',
      mode: 'Strict',
      input: { ...DEPLOYMENT, patchType: 'strategic', patch: nonConflictingPatch, patched: current },
      strictSuffix: ': strict decoding error: duplicate field "spec.paused"',
      warnings: [],
    },
    {
      name: 'json patch Strict',
      mode: 'Strict',
      input: { ...DEPLOYMENT, patchType: 'json', patch: jsonPatch, patched: jsonPatched },
      strictSuffix: `: strict decoding error: ${jsonPatchProblems.join(', ')}`,
      warnings: [],
    },
    {
      name: 'json patch Warn',
      mode: 'Warn',
      input: { ...DEPLOYMENT, patchType: 'json', patch: jsonPatch, patched: jsonPatched },
      warnings: jsonPatchProblems,
    },
    {
      name: 'json patch Ignore',
      mode: 'Ignore',
      input: { ...DEPLOYMENT, patchType: 'json', patch: jsonPatch, patched: jsonPatched },
      warnings: [],
    },
    {
      name: 'a clean merge patch under Strict',
      mode: 'Strict',
      input: { ...DEPLOYMENT, patchType: 'merge', patch: '{"spec":{"replicas":3}}', patched: current },
      warnings: [],
    },
    {
      name: 'apply Warn: duplicate YAML keys only',
      mode: 'Warn',
      input: { ...DEPLOYMENT, patchType: 'apply', patch: applyBody },
      warnings: applyLines,
    },
    {
      name: 'apply Ignore',
      mode: 'Ignore',
      input: { ...DEPLOYMENT, patchType: 'apply', patch: applyBody },
      warnings: [],
    },
  ];
  it.each(cases)('$name', ({ mode, input, strictSuffix, warnings }) => {
    const got = checkPatchFieldValidation(mode, input);
    expect(got.warnings).toEqual(warnings);
    if (strictSuffix === undefined) {
      expect(got.error).toBeUndefined();
      return;
    }
    expect(got.error?.endsWith(strictSuffix)).toBe(true);
    expect(got.failure?.httpCode).toBe(422);
    expect(got.failure?.reason).toBe('Invalid');
    expect(got.failure?.details?.causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'patch',
        message: got.error?.slice(' "" is invalid: patch: '.length),
      },
    ]);
  });

  it('quotes the patched object for a merge patch (422 on field "patch")', () => {
    const got = checkPatchFieldValidation('Strict', {
      ...DEPLOYMENT,
      patchType: 'merge',
      patch: '{"spec":{"x":1}}',
      patched: { spec: { x: 1 } },
      patchedJson: '{"spec":{"x":1}}',
    });
    expect(got.error).toBe(
      ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"x\\":1}}": strict decoding error: unknown field "spec.x"',
    );
  });

  it('prints the patch as a Go map for a strategic merge patch', () => {
    const got = checkPatchFieldValidation('Strict', {
      ...DEPLOYMENT,
      patchType: 'strategic',
      patch: '{"spec":{"paused":true,"paused":false}}',
      patched: current,
    });
    expect(got.error).toBe(
      ' "" is invalid: patch: Invalid value: "map[spec:map[paused:false]]": strict decoding error: duplicate field "spec.paused"',
    );
  });

  it('fails an apply patch with duplicate keys as a 400', () => {
    const got = checkPatchFieldValidation('Strict', { ...DEPLOYMENT, patchType: 'apply', patch: applyBody });
    expect(got.failure).toEqual({
      httpCode: 400,
      reason: 'BadRequest',
      message:
        'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n' +
        '  line 10: key "paused" already set in map\n' +
        '  line 27: key "imagePullPolicy" already set in map',
    });
  });

  it('rejects an unsupported directive on PatchOptions', () => {
    const got = checkPatchFieldValidation('Loud', {
      ...DEPLOYMENT,
      patchType: 'merge',
      patch: '{}',
      patched: current,
    });
    expect(got.error).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"',
    );
  });
});

describe('yamlDuplicateKeys', () => {
  const cases: { name: string; text: string; want: string[] }[] = [
    { name: 'none', text: 'a: 1\nb:\n  a: 2\n', want: [] },
    {
      name: 'the line of the repeat',
      text: 'a: 1\nb: 2\na: 3\n',
      want: ['line 3: key "a" already set in map'],
    },
    {
      name: 'nested before outer in document order',
      text: 'x:\n  y: 1\n  y: 2\nz: 1\nz: 2\n',
      want: ['line 3: key "y" already set in map', 'line 5: key "z" already set in map'],
    },
    { name: 'inside a sequence', text: 'l:\n- a: 1\n  a: 2\n', want: ['line 3: key "a" already set in map'] },
    {
      name: 'a non-string key is printed bare',
      text: '1: a\n1: b\n',
      want: ['line 2: key 1 already set in map'],
    },
    {
      name: 'JSON with tabs',
      text: '{\n\t"a": 1,\n\t"a": 2\n}',
      want: ['line 3: key "a" already set in map'],
    },
  ];
  it.each(cases)('$name', ({ text, want }) => {
    expect(yamlDuplicateKeys(text)).toEqual(want);
  });
});

describe('goQuote and goFormat', () => {
  it.each([
    ['plain', '"plain"'],
    ['a "b" \\c', '"a \\"b\\" \\\\c"'],
    ['tab\tnl\n', '"tab\\tnl\\n"'],
    ['\x01\x7f', '"\\x01\\x7f"'],
    ['café ✓', '"café ✓"'],
    ['zero\u200bwidth', '"zero\\u200bwidth"'],
  ])('goQuote(%j)', (s, want) => {
    expect(goQuote(s)).toBe(want);
  });

  it.each([
    [{ b: [1, 'x', null], a: { c: true } }, 'map[a:map[c:true] b:[1 x <nil>]]'],
    [1.5, '1.5'],
    [0.00001, '1e-05'],
    [1e21, '1e+21'],
    [3, '3'],
  ])('goFormat(%j)', (v, want) => {
    expect(goFormat(v)).toBe(want);
  });
});

describe('pruneUnknownFields', () => {
  const cases: {
    name: string;
    kind: string;
    apiVersion: string;
    obj: Record<string, any>;
    want: Record<string, any>;
    removed: number;
  }[] = [
    {
      name: 'top-level and nested unknown fields go, maps keep every key',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      obj: {
        datta: 1,
        metadata: { name: 'x', labels: { anything: 'ok' }, bogus: true },
        spec: {
          replicas: 1,
          template: { spec: { containers: [{ name: 'c', image: 'i', imagee: 'typo' }] } },
        },
      },
      want: {
        metadata: { name: 'x', labels: { anything: 'ok' } },
        spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      },
      removed: 3,
    },
    {
      name: 'ConfigMap data keeps arbitrary keys',
      apiVersion: 'v1',
      kind: 'ConfigMap',
      obj: { metadata: { name: 'c' }, data: { 'a.b': '1' }, datta: { c: 'd' } },
      want: { metadata: { name: 'c' }, data: { 'a.b': '1' } },
      removed: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const obj = structuredClone(c.obj);
      expect(pruneUnknownFields({ apiVersion: c.apiVersion, kind: c.kind }, obj)).toBe(c.removed);
      expect(obj).toEqual(c.want);
    });
  }
});
