import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeK8sProtobuf, goDuration, isK8sProtobuf, messageForKind } from './decode.js';
import { ProtobufDecodeError } from './errors.js';
import { MESSAGES } from './schema.generated.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

interface FixtureIndex {
  kubectl: string;
  cases: Record<string, { args: string[]; contentType: string; path: string }>;
}
const index = JSON.parse(readFileSync(new URL('index.json', FIXTURES), 'utf8')) as FixtureIndex;
const fixture = (name: string) => ({
  bin: readFileSync(new URL(`${name}.bin`, FIXTURES)),
  json: JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Record<string, unknown>,
});

describe(`bodies captured from kubectl ${index.kubectl}`, () => {
  const names = Object.keys(index.cases);

  it('covers the typed create commands', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
    for (const c of Object.values(index.cases)) expect(isK8sProtobuf(c.contentType)).toBe(true);
  });

  // The expected value is what `kubectl ... --dry-run=client -o json` prints for the same command:
  // the body kubectl would have sent as JSON.
  it.each(names)('%s decodes to the JSON kubectl would send', (name) => {
    const { bin, json } = fixture(name);
    expect(decodeK8sProtobuf(bin)).toEqual(json);
  });

  it('keeps pointer fields that are zero and flattens embedded structs', () => {
    const zero = decodeK8sProtobuf(fixture('deployment-zero').bin) as { spec: { replicas?: number } };
    expect(zero.spec.replicas).toBe(0);
    const job = decodeK8sProtobuf(fixture('job-from-cronjob').bin) as any;
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.ttlSecondsAfterFinished).toBe(0);
    const pod = job.spec.template.spec;
    expect(pod.securityContext.runAsUser).toBe(0);
    expect(pod.terminationGracePeriodSeconds).toBe(0);
    expect(pod.volumes[0]).toEqual({
      name: 'cfg',
      configMap: { name: 'cfg', items: [{ key: 'a', path: 'a.txt' }], defaultMode: 420, optional: false },
    });
    expect(pod.containers[0].readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(pod.containers[0].livenessProbe.initialDelaySeconds).toBeUndefined();
    expect(job.metadata.ownerReferences[0].controller).toBe(true);
  });
});

// --- hand-built bodies for what kubectl's typed commands never send ---------------------------------

/** Test-side protobuf encoder. */
function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const b = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? b | 0x80 : b);
  } while (u > 0n);
  return out;
}
type Bytes = ArrayLike<number>;
const cat = (...parts: Bytes[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const vi = (f: number, v: number | bigint) => cat(varint(BigInt(f) << 3n), varint(BigInt(v)));
const ld = (f: number, ...payload: Bytes[]) => {
  const p = cat(...payload);
  return cat(varint((BigInt(f) << 3n) | 2n), varint(BigInt(p.length)), p);
};
const str = (f: number, s: string) => ld(f, Buffer.from(s));
const envelope = (apiVersion: string, kind: string, ...raw: Bytes[]) =>
  cat([0x6b, 0x38, 0x73, 0x00], ld(1, str(1, apiVersion), str(2, kind)), ld(2, ...raw));
const mapEntry = (f: number, key: string, ...value: Bytes[]) => ld(f, str(1, key), ld(2, ...value));

/** Field number of a JSON field in the generated schema (`core.v1.PodSpec`, `meta.v1.ObjectMeta`). */
function n(message: string, json: string): number {
  const fq = message.startsWith('meta.')
    ? `k8s.io.apimachinery.pkg.apis.${message}`
    : message.startsWith('k8s.')
      ? message
      : `k8s.io.api.${message}`;
  const fields = MESSAGES[fq];
  if (!fields) throw new Error(`no message ${fq}`);
  const hit = Object.entries(fields).find(([, spec]) => spec[0] === json);
  if (!hit) throw new Error(`no field ${json} in ${fq}`);
  return Number(hit[0]);
}
const OM = 'meta.v1.ObjectMeta';
const T2024 = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000;

describe('decodeK8sProtobuf on hand-built bodies', () => {
  const cases: { name: string; body: Uint8Array; want: Record<string, unknown> }[] = [
    {
      name: 'ObjectMeta: times, maps, zero values, managed fields',
      body: envelope(
        'v1',
        'ConfigMap',
        ld(
          1,
          str(n(OM, 'name'), 'cfg'),
          str(n(OM, 'namespace'), ''), // Go value field, zero: left out
          vi(n(OM, 'generation'), 0), // likewise
          ld(n(OM, 'creationTimestamp'), vi(1, T2024), vi(2, 999)),
          ld(n(OM, 'deletionTimestamp')), // a pointer to the zero time: null
          vi(n(OM, 'deletionGracePeriodSeconds'), 0), // a pointer: kept
          mapEntry(n(OM, 'labels'), 'app', Buffer.from('web')),
          mapEntry(n(OM, 'labels'), '__proto__', Buffer.from('x')),
          ld(
            n(OM, 'managedFields'),
            str(n('meta.v1.ManagedFieldsEntry', 'manager'), 'kubectl'),
            str(n('meta.v1.ManagedFieldsEntry', 'operation'), 'Update'),
            ld(n('meta.v1.ManagedFieldsEntry', 'time'), vi(1, T2024)),
            ld(n('meta.v1.ManagedFieldsEntry', 'fieldsV1'), ld(1, Buffer.from('{"f:data":{"f:a":{}}}'))),
          ),
        ),
        mapEntry(n('core.v1.ConfigMap', 'data'), 'a', Buffer.from('1')),
        mapEntry(n('core.v1.ConfigMap', 'binaryData'), 'b', [0xff, 0x00, 0xfe]),
      ),
      want: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: JSON.parse(
          '{"name":"cfg","creationTimestamp":"2024-01-02T03:04:05Z","deletionTimestamp":null,' +
            '"deletionGracePeriodSeconds":0,"labels":{"app":"web","__proto__":"x"},' +
            '"managedFields":[{"manager":"kubectl","operation":"Update","time":"2024-01-02T03:04:05Z",' +
            '"fieldsV1":{"f:data":{"f:a":{}}}}]}',
        ),
        data: { a: '1' },
        binaryData: { b: '/wD+' },
      },
    },
    {
      name: 'Lease: MicroTime, pointer string and int32 that are empty/zero',
      body: envelope(
        'coordination.k8s.io/v1',
        'Lease',
        ld(1, str(n(OM, 'name'), 'node-a')),
        ld(
          2,
          str(n('coordination.v1.LeaseSpec', 'holderIdentity'), ''),
          vi(n('coordination.v1.LeaseSpec', 'leaseDurationSeconds'), 0),
          ld(n('coordination.v1.LeaseSpec', 'renewTime'), vi(1, T2024), vi(2, 123_456_789)),
          vi(n('coordination.v1.LeaseSpec', 'leaseTransitions'), -3),
        ),
      ),
      want: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'node-a' },
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 0,
          renewTime: '2024-01-02T03:04:05.123456Z',
          leaseTransitions: -3,
        },
      },
    },
    {
      name: 'PodSpec: packed and unpacked int64s, big and negative int64s, quantities, inline structs',
      body: envelope(
        'v1',
        'Pod',
        ld(1, str(n(OM, 'name'), 'p')),
        ld(
          2,
          ld(
            n('core.v1.PodSpec', 'securityContext'),
            vi(n('core.v1.PodSecurityContext', 'runAsUser'), 2n ** 53n + 1n),
            vi(n('core.v1.PodSecurityContext', 'fsGroup'), -1),
            ld(n('core.v1.PodSecurityContext', 'supplementalGroups'), varint(1n), varint(2n ** 32n)),
            vi(n('core.v1.PodSecurityContext', 'supplementalGroups'), 7),
          ),
          ld(
            n('core.v1.PodSpec', 'containers'),
            str(n('core.v1.Container', 'name'), 'c'),
            ld(
              n('core.v1.Container', 'resources'),
              mapEntry(n('core.v1.ResourceRequirements', 'limits'), 'cpu', str(1, '500m')),
              mapEntry(n('core.v1.ResourceRequirements', 'limits'), 'memory', str(1, '1Gi')),
            ),
            ld(
              n('core.v1.Container', 'livenessProbe'),
              ld(n('core.v1.Probe', 'handler'), ld(n('core.v1.ProbeHandler', 'exec'), str(1, 'true'))),
              vi(n('core.v1.Probe', 'periodSeconds'), 3),
            ),
          ),
          ld(
            n('core.v1.PodSpec', 'volumes'),
            str(n('core.v1.Volume', 'name'), 'v'),
            ld(n('core.v1.Volume', 'volumeSource'), ld(n('core.v1.VolumeSource', 'emptyDir'))),
          ),
        ),
      ),
      want: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: {
          securityContext: {
            runAsUser: '9007199254740993',
            fsGroup: -1,
            supplementalGroups: [1, 4294967296, 7],
          },
          containers: [
            {
              name: 'c',
              resources: { limits: { cpu: '500m', memory: '1Gi' } },
              livenessProbe: { exec: { command: ['true'] }, periodSeconds: 3 },
            },
          ],
          volumes: [{ name: 'v', emptyDir: {} }],
        },
      },
    },
    {
      name: 'Service: IntOrString as string and number, negative int32, unknown fields skipped',
      body: envelope(
        'v1',
        'Service',
        ld(1, str(n(OM, 'name'), 's'), vi(99, 5), cat(varint((98n << 3n) | 5n), [1, 2, 3, 4])),
        ld(
          2,
          ld(
            n('core.v1.ServiceSpec', 'ports'),
            vi(n('core.v1.ServicePort', 'port'), 80),
            ld(n('core.v1.ServicePort', 'targetPort'), vi(1, 1), str(3, 'http')),
          ),
          ld(
            n('core.v1.ServiceSpec', 'ports'),
            vi(n('core.v1.ServicePort', 'port'), -5),
            ld(n('core.v1.ServicePort', 'targetPort'), vi(1, 0), vi(2, 8080)),
          ),
          cat(varint((97n << 3n) | 1n), [1, 2, 3, 4, 5, 6, 7, 8]),
        ),
      ),
      want: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: {
          ports: [
            { port: 80, targetPort: 'http' },
            { port: -5, targetPort: 8080 },
          ],
        },
      },
    },
    {
      name: 'DeleteOptions under any apiVersion; zero grace period kept',
      body: envelope(
        'meta.k8s.io/v1',
        'DeleteOptions',
        vi(n('meta.v1.DeleteOptions', 'gracePeriodSeconds'), 0),
        ld(n('meta.v1.DeleteOptions', 'preconditions'), str(1, 'uid-1')),
        str(n('meta.v1.DeleteOptions', 'propagationPolicy'), 'Foreground'),
        str(n('meta.v1.DeleteOptions', 'dryRun'), 'All'),
      ),
      want: {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: 'uid-1' },
        propagationPolicy: 'Foreground',
        dryRun: ['All'],
      },
    },
    {
      name: 'EndpointSlice: pointer bool false kept',
      body: envelope(
        'discovery.k8s.io/v1',
        'EndpointSlice',
        ld(1, str(n(OM, 'name'), 'e')),
        ld(
          n('discovery.v1.EndpointSlice', 'endpoints'),
          str(n('discovery.v1.Endpoint', 'addresses'), '10.0.0.1'),
          ld(n('discovery.v1.Endpoint', 'conditions'), vi(n('discovery.v1.EndpointConditions', 'ready'), 0)),
        ),
        str(n('discovery.v1.EndpointSlice', 'addressType'), 'IPv4'),
      ),
      want: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'e' },
        endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: false } }],
        addressType: 'IPv4',
      },
    },
    {
      name: 'List: RawExtension items as JSON and as nested protobuf',
      body: envelope(
        'v1',
        'List',
        ld(1),
        ld(2, ld(1, Buffer.from('{"kind":"Namespace","apiVersion":"v1"}'))),
        ld(2, ld(1, envelope('v1', 'Namespace', ld(1, str(n(OM, 'name'), 'dev'))))),
      ),
      want: {
        apiVersion: 'v1',
        kind: 'List',
        metadata: {},
        items: [
          { kind: 'Namespace', apiVersion: 'v1' },
          { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'dev' } },
        ],
      },
    },
    {
      name: 'Scale: a Go value int32 of zero is omitted, as JSON omitempty does',
      body: envelope(
        'autoscaling/v1',
        'Scale',
        ld(1, str(n(OM, 'name'), 'web')),
        ld(2, vi(n('autoscaling.v1.ScaleSpec', 'replicas'), 0)),
      ),
      want: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: {} },
    },
  ];
  it.each(cases)('$name', ({ body, want }) => {
    const got = decodeK8sProtobuf(body);
    expect(got).toEqual(want);
    expect(Object.getPrototypeOf((got.metadata as any)?.labels ?? {})).toBe(Object.prototype);
  });
});

describe('decodeK8sProtobuf errors', () => {
  const deployment = (...raw: Bytes[]) => envelope('apps/v1', 'Deployment', ...raw);
  const cases: { name: string; body: Uint8Array; code: string; message?: RegExp }[] = [
    { name: 'JSON body', body: Buffer.from('{"kind":"Pod"}'), code: 'BAD_MAGIC', message: /7b226b69/ },
    { name: 'empty body', body: new Uint8Array(), code: 'BAD_MAGIC' },
    {
      name: 'unknown kind',
      body: envelope('apps/v1', 'Foo'),
      code: 'UNKNOWN_KIND',
      message: /^no protobuf schema for apps\/v1 Foo$/,
    },
    { name: 'kind in the wrong group', body: envelope('v1', 'Deployment'), code: 'UNKNOWN_KIND' },
    { name: 'truncated varint', body: deployment(varint(99n << 3n), [0x80]), code: 'TRUNCATED' },
    { name: 'length past the end', body: deployment([0x0a, 0x05, 0x0a]), code: 'TRUNCATED' },
    {
      name: 'envelope cut short',
      body: envelope('apps/v1', 'Deployment').subarray(0, 10),
      code: 'TRUNCATED',
    },
    { name: 'message field sent as varint', body: deployment(vi(1, 3)), code: 'BAD_WIRE_TYPE' },
    {
      name: 'string field sent as varint',
      body: deployment(ld(1, vi(n(OM, 'name'), 3))),
      code: 'BAD_WIRE_TYPE',
    },
    {
      name: 'gzip content encoding',
      body: cat(envelope('v1', 'Namespace'), str(3, 'gzip')),
      code: 'UNSUPPORTED_ENCODING',
    },
    {
      name: 'FieldsV1 that is not JSON',
      body: deployment(
        ld(1, ld(n(OM, 'managedFields'), ld(n('meta.v1.ManagedFieldsEntry', 'fieldsV1'), str(1, '{')))),
      ),
      code: 'INVALID_VALUE',
    },
  ];
  it.each(cases)('$name', ({ body, code, message }) => {
    let err: unknown;
    try {
      decodeK8sProtobuf(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtobufDecodeError);
    expect((err as ProtobufDecodeError).code).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
  });
});

describe('isK8sProtobuf', () => {
  it.each([
    ['application/vnd.kubernetes.protobuf', true],
    ['Application/VND.Kubernetes.Protobuf; charset=binary', true],
    ['application/vnd.kubernetes.protobuf;stream=watch', true],
    ['application/json', false],
    ['application/vnd.kubernetes.protobuf+json', false],
    [undefined, false],
    ['', false],
  ] as const)('%s -> %s', (ct, want) => {
    expect(isK8sProtobuf(ct)).toBe(want);
  });
});

describe('messageForKind', () => {
  it.each([
    ['apps/v1', 'Deployment', 'k8s.io.api.apps.v1.Deployment'],
    ['v1', 'Binding', 'k8s.io.api.core.v1.Binding'],
    ['autoscaling/v1', 'Scale', 'k8s.io.api.autoscaling.v1.Scale'],
    ['v1', 'DeleteOptions', 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions'],
    ['batch/v1', 'Status', 'k8s.io.apimachinery.pkg.apis.meta.v1.Status'],
    ['apps/v1', 'Pod', undefined],
  ] as const)('%s %s', (apiVersion, kind, want) => {
    expect(messageForKind(apiVersion, kind)).toBe(want);
  });
});

describe('goDuration', () => {
  const d = (ns: bigint) => {
    const u = BigInt.asUintN(64, ns);
    return { lo: Number(u & 0xffff_ffffn), hi: Number(u >> 32n) };
  };
  it.each([
    [0n, '0s'],
    [1n, '1ns'],
    [1_500n, '1.5µs'],
    [150_000_000n, '150ms'],
    [1_000_000_000n, '1s'],
    [90_500_000_000n, '1m30.5s'],
    [3_723_000_000_000n, '1h2m3s'],
    [-300_000_000_000n, '-5m0s'],
  ])('%s ns -> %s', (ns, want) => {
    expect(goDuration(d(ns))).toBe(want);
  });
});
