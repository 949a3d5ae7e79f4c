import { describe, expect, it } from 'vitest';
import { SelectorParseError } from './errors.js';
import {
  checkFieldSelector,
  escapeFieldValue,
  fieldSelectorMatches,
  fieldSelectorToString,
  parseFieldSelector,
  requiresExactMatch,
  selectableFields,
  supportedFieldLabels,
} from './field-selector.js';

describe('parseFieldSelector', () => {
  const cases: [string, [string, string, string][], string][] = [
    ['', [], ''],
    ['metadata.name=x', [['metadata.name', '=', 'x']], 'metadata.name=x'],
    ['metadata.name==x', [['metadata.name', '==', 'x']], 'metadata.name=x'],
    ['spec.nodeName!=y', [['spec.nodeName', '!=', 'y']], 'spec.nodeName!=y'],
    [
      'spec.nodeName!=y,metadata.name=x',
      [
        ['metadata.name', '=', 'x'],
        ['spec.nodeName', '!=', 'y'],
      ],
      'metadata.name=x,spec.nodeName!=y',
    ],
    ['spec.nodeName=', [['spec.nodeName', '=', '']], 'spec.nodeName='],
    ['a=x\\,y', [['a', '=', 'x,y']], 'a=x\\,y'],
    ['a=x\\=y', [['a', '=', 'x=y']], 'a=x\\=y'],
    ['a=x\\\\y', [['a', '=', 'x\\y']], 'a=x\\\\y'],
    [
      'a=1,,b=2',
      [
        ['a', '=', '1'],
        ['b', '=', '2'],
      ],
      'a=1,b=2',
    ],
  ];
  it.each(cases)('%j', (input, want, str) => {
    const sel = parseFieldSelector(input);
    expect(sel.requirements.map((r) => [r.field, r.operator, r.value])).toEqual(want);
    expect(fieldSelectorToString(sel)).toBe(str);
  });

  const bad: [string, string][] = [
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  it.each(bad)('rejects %j', (input, msg) => {
    expect(() => parseFieldSelector(input)).toThrow(SelectorParseError);
    expect(() => parseFieldSelector(input)).toThrow(msg);
  });

  it('escape round-trips', () => {
    for (const v of ['a,b', 'a=b', 'a\\b', '\\,=', 'plain']) {
      expect(parseFieldSelector(`f=${escapeFieldValue(v)}`).requirements[0]?.value).toBe(v);
    }
  });

  it('requiresExactMatch', () => {
    const sel = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed');
    expect(requiresExactMatch(sel, 'spec.nodeName')).toBe('n1');
    expect(requiresExactMatch(sel, 'status.phase')).toBeUndefined();
    expect(requiresExactMatch(sel, 'metadata.name')).toBeUndefined();
  });
});

describe('checkFieldSelector', () => {
  const ok: [string, string, string][] = [
    ['v1/Pod', 'spec.nodeName=n,status.phase=Running,spec.hostNetwork=true', ''],
    ['v1/Pod', 'spec.host=n', 'spec.nodeName=n'],
    ['v1/Event', 'involvedObject.kind=Pod,reason=Killing,source=kubelet,type=Warning', ''],
    ['v1/Secret', 'type=kubernetes.io/tls', ''],
    ['v1/Node', 'spec.unschedulable=false', ''],
    ['v1/Namespace', 'status.phase=Active', ''],
    ['apps/v1/ReplicaSet', 'status.replicas=0', ''],
    ['batch/v1/Job', 'status.successful=1', ''],
    ['v1/Service', 'spec.clusterIP!=None', ''],
    ['v1/ConfigMap', 'metadata.name=a,metadata.namespace=b', ''],
  ];
  it.each(ok)('%s accepts %j', (gvk, text, rewritten) => {
    const i = gvk.lastIndexOf('/');
    const ref = { apiVersion: gvk.slice(0, i), kind: gvk.slice(i + 1) };
    const sel = checkFieldSelector(parseFieldSelector(text), ref);
    expect(fieldSelectorToString(sel)).toBe(rewritten || fieldSelectorToString(parseFieldSelector(text)));
  });

  const bad: [string, string, string][] = [
    ['v1/Pod', 'foo=bar', 'field label not supported: foo'],
    ['v1/Node', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    [
      'v1/ConfigMap',
      'data.x=y',
      '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ],
    [
      'apps/v1/Deployment',
      'spec.replicas=1',
      '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ],
  ];
  it.each(bad)('%s rejects %j', (gvk, text, msg) => {
    const i = gvk.lastIndexOf('/');
    const ref = { apiVersion: gvk.slice(0, i), kind: gvk.slice(i + 1) };
    let err: unknown;
    try {
      checkFieldSelector(parseFieldSelector(text), ref);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect((err as SelectorParseError).code).toBe('FieldLabelNotSupported');
    expect((err as SelectorParseError).message).toBe(msg);
  });

  it('lists labels per kind', () => {
    expect(supportedFieldLabels({ apiVersion: 'v1', kind: 'Pod' })).toContain('status.nominatedNodeName');
    expect(supportedFieldLabels({ apiVersion: 'v1', kind: 'Lease' })).toEqual([
      'metadata.name',
      'metadata.namespace',
    ]);
  });
});

describe('fieldSelectorMatches', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'node-a', restartPolicy: 'Always' },
    status: { phase: 'Running', podIP: '10.42.0.5' },
  };
  const cases: [string, boolean][] = [
    ['', true],
    ['metadata.name=web-1', true],
    ['metadata.name=web-2', false],
    ['metadata.namespace=default,spec.nodeName=node-a', true],
    ['spec.nodeName!=node-a', false],
    ['spec.nodeName!=', true],
    ['spec.hostNetwork=false', true],
    ['spec.hostNetwork=true', false],
    ['status.podIP=10.42.0.5', true],
    ['status.nominatedNodeName=', true],
    ['spec.schedulerName=', true],
  ];
  it.each(cases)('pod %j -> %s', (text, want) => {
    expect(fieldSelectorMatches(pod, parseFieldSelector(text))).toBe(want);
  });

  it('uses kind-specific extractors', () => {
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', uid: 'u1' },
      source: { component: 'kubelet' },
      reportingComponent: 'kubelet',
      type: 'Normal',
    };
    expect(fieldSelectorMatches(event, parseFieldSelector('involvedObject.name=web-1,source=kubelet'))).toBe(
      true,
    );
    expect(fieldSelectorMatches(event, parseFieldSelector('involvedObject.uid=u2'))).toBe(false);
    const rs = { metadata: { name: 'r' }, status: { replicas: 3 } };
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet' };
    expect(fieldSelectorMatches(rs, parseFieldSelector('status.replicas=3'), ref)).toBe(true);
    expect(
      fieldSelectorMatches({ metadata: { name: 'r' } }, parseFieldSelector('status.replicas=0'), ref),
    ).toBe(true);
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status: { succeeded: 1 } };
    expect(fieldSelectorMatches(job, parseFieldSelector('status.successful=1'))).toBe(true);
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { unschedulable: true } };
    expect(fieldSelectorMatches(node, parseFieldSelector('spec.unschedulable=true'))).toBe(true);
    expect(selectableFields(node)).toEqual({ 'metadata.name': 'n', 'spec.unschedulable': 'true' });
  });

  it('cluster-scoped objects have no namespace field', () => {
    const ic = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' } };
    expect(selectableFields(ic)).toEqual({ 'metadata.name': 'nginx' });
  });
});
