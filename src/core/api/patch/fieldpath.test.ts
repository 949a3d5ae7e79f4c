import { describe, expect, it } from 'vitest';
import {
  compareElements,
  FieldSet,
  fieldElement,
  fieldSetFromObject,
  keyElement,
  pathToString,
  removeFields,
  schemaFor,
  valueElement,
} from './fieldpath.js';

const f = fieldElement;
const deploymentSchema = schemaFor('apps/v1', 'Deployment');

/** A Deployment as `kubectl apply --server-side` sends it. */
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
    finalizers: ['example.com/keep'],
  },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    strategy: {},
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.25',
            args: ['-g', 'daemon off;'],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'MODE', value: 'prod' }],
            resources: {},
          },
        ],
        nodeSelector: { disk: 'ssd' },
      },
    },
  },
};

/** FieldsV1 upstream writes for that configuration, written out by hand. */
const deploymentFieldsV1 =
  '{"f:apiVersion":{},"f:kind":{},' +
  '"f:metadata":{"f:finalizers":{"v:\\"example.com/keep\\"":{}},' +
  '"f:labels":{"f:app":{},"f:app.kubernetes.io/part-of":{}},"f:name":{}},' +
  '"f:spec":{"f:replicas":{},"f:selector":{},"f:strategy":{},' +
  '"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},' +
  '"f:spec":{"f:containers":{"k:{\\"name\\":\\"web\\"}":{".":{},"f:args":{},' +
  '"f:env":{"k:{\\"name\\":\\"MODE\\"}":{".":{},"f:name":{},"f:value":{}}},' +
  '"f:image":{},"f:name":{},' +
  '"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{},"f:protocol":{}}},' +
  '"f:resources":{}}},"f:nodeSelector":{}}}}}';

describe('fieldSetFromObject and FieldsV1', () => {
  it('encodes a Deployment configuration exactly as upstream serializes it', () => {
    const set = fieldSetFromObject(deployment, deploymentSchema);
    expect(JSON.stringify(set.toFieldsV1())).toBe(deploymentFieldsV1);
  });

  it('round-trips the hand-written FieldsV1', () => {
    const decoded = FieldSet.fromFieldsV1(JSON.parse(deploymentFieldsV1));
    expect(decoded.equals(fieldSetFromObject(deployment, deploymentSchema))).toBe(true);
    expect(JSON.stringify(decoded.toFieldsV1())).toBe(deploymentFieldsV1);
  });

  it.each([
    {
      name: 'key fields out of order are respelled sorted',
      in: { 'f:ports': { 'k:{"protocol":"TCP","containerPort":80}': {} } },
      out: '{"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{}}}',
    },
    {
      name: '. marks a node that is also a parent, written first',
      in: { 'f:labels': { 'f:b': {}, '.': {}, 'f:a': {} } },
      out: '{"f:labels":{".":{},"f:a":{},"f:b":{}}}',
    },
    {
      name: 'fields sort before keys, keys before values, values before indexes',
      in: { 'i:0': {}, 'v:"x"': {}, 'k:{"a":1}': {}, 'f:z': {} },
      out: '{"f:z":{},"k:{\\"a\\":1}":{},"v:\\"x\\"":{},"i:0":{}}',
    },
    {
      name: 'set values order numbers, then strings, then booleans',
      in: { 'v:true': {}, 'v:"a"': {}, 'v:10': {}, 'v:9': {} },
      out: '{"v:9":{},"v:10":{},"v:\\"a\\"":{},"v:true":{}}',
    },
  ])('decodes and re-encodes canonically: $name', ({ in: input, out }) => {
    expect(JSON.stringify(FieldSet.fromFieldsV1(input).toFieldsV1())).toBe(out);
  });

  it.each([
    { name: 'not an object', json: { 'f:a': 1 } },
    { name: 'unknown prefix', json: { 'x:a': {} } },
    { name: 'bad key JSON', json: { 'k:{name': {} } },
  ])('rejects invalid FieldsV1: $name', ({ json }) => {
    expect(() => FieldSet.fromFieldsV1(json)).toThrow(/FieldsV1|path element/);
  });

  it.each([
    { name: 'empty map is a leaf', obj: { spec: { strategy: {} } }, fields: '{"f:spec":{"f:strategy":{}}}' },
    { name: 'null is a leaf', obj: { spec: { paused: null } }, fields: '{"f:spec":{"f:paused":{}}}' },
    {
      name: 'atomic list is a leaf',
      obj: { spec: { template: { spec: { tolerations: [{ key: 'a' }] } } } },
      fields: '{"f:spec":{"f:template":{"f:spec":{"f:tolerations":{}}}}}',
    },
    {
      name: 'unknown kind: lists are atomic, maps granular',
      obj: { spec: { items: [1, 2], cfg: { a: 1 } } },
      fields: '{"f:spec":{"f:cfg":{"f:a":{}},"f:items":{}}}',
      kind: 'Widget',
    },
  ])('leaves: $name', ({ obj, fields, kind }) => {
    const schema = kind ? schemaFor('example.com/v1', kind) : deploymentSchema;
    expect(JSON.stringify(fieldSetFromObject(obj, schema).toFieldsV1())).toBe(fields);
  });
});

describe('FieldSet operations', () => {
  const p = (...names: string[]) => names.map(f);
  const a = FieldSet.of([p('spec', 'replicas'), p('spec', 'paused'), p('metadata', 'labels')]);
  const b = FieldSet.of([p('spec', 'replicas'), p('metadata', 'labels', 'app'), p('status')]);
  const show = (s: FieldSet) => s.paths().map(pathToString);

  it.each([
    {
      op: 'union',
      got: () => a.union(b),
      want: ['.status', '.metadata.labels', '.metadata.labels.app', '.spec.paused', '.spec.replicas'],
    },
    { op: 'difference', got: () => a.difference(b), want: ['.metadata.labels', '.spec.paused'] },
    { op: 'intersection', got: () => a.intersection(b), want: ['.spec.replicas'] },
    {
      op: 'difference keeps children of a removed member',
      got: () => b.difference(a),
      want: ['.status', '.metadata.labels.app'],
    },
    {
      op: 'recursiveDifference drops children too',
      got: () => b.recursiveDifference(a),
      want: ['.status'],
    },
    {
      op: 'recursiveIntersection keeps what lies below',
      got: () => b.recursiveIntersection(FieldSet.of([p('metadata')])),
      want: ['.metadata.labels.app'],
    },
  ])('$op', ({ got, want }) => {
    expect(show(got())).toEqual(want);
  });

  it('has, isEmpty, size', () => {
    expect(a.has(p('spec', 'replicas'))).toBe(true);
    expect(a.has(p('spec'))).toBe(false);
    expect(a.size).toBe(3);
    expect(a.difference(a).isEmpty()).toBe(true);
  });

  it('ensureNamedFieldsAreMembers marks field parents, not list items', () => {
    const s = FieldSet.of([[f('spec'), keyElement({ name: 'web' }), f('image')]]);
    expect(show(s.ensureNamedFieldsAreMembers())).toEqual(['.spec', '.spec[name="web"].image']);
  });
});

describe('paths', () => {
  it.each([
    { path: [f('spec'), f('replicas')], text: '.spec.replicas' },
    {
      path: [f('spec'), f('template'), f('spec'), f('containers'), keyElement({ name: 'web' }), f('image')],
      text: '.spec.template.spec.containers[name="web"].image',
    },
    {
      path: [f('ports'), keyElement({ protocol: 'TCP', containerPort: 80 })],
      text: '.ports[containerPort=80,protocol="TCP"]',
    },
    { path: [f('metadata'), f('finalizers'), valueElement('a/b')], text: '.metadata.finalizers[="a/b"]' },
  ])('prints $text', ({ path, text }) => {
    expect(pathToString(path)).toBe(text);
  });

  it('orders elements like upstream', () => {
    const els = [valueElement('b'), keyElement({ name: 'a' }), f('b'), f('a'), valueElement(1)];
    expect([...els].sort(compareElements)).toEqual([
      f('a'),
      f('b'),
      keyElement({ name: 'a' }),
      'v:1',
      'v:"b"',
    ]);
  });
});

describe('removeFields', () => {
  const obj = {
    metadata: { labels: { a: '1', b: '2' }, finalizers: ['x', 'y'] },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'nginx' },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    },
  };
  const containers = [f('spec'), f('template'), f('spec'), f('containers')];

  it.each([
    {
      name: 'a map entry',
      remove: [[f('metadata'), f('labels'), f('a')]],
      check: (o: any) => expect(o.metadata.labels).toEqual({ b: '2' }),
    },
    {
      name: 'a list item by key',
      remove: [[...containers, keyElement({ name: 'web' })]],
      check: (o: any) =>
        expect(o.spec.template.spec.containers).toEqual([{ name: 'side', image: 'busybox' }]),
    },
    {
      name: 'a field inside a list item',
      remove: [[...containers, keyElement({ name: 'side' }), f('image')]],
      check: (o: any) => expect(o.spec.template.spec.containers[1]).toEqual({ name: 'side' }),
    },
    {
      name: 'a set item',
      remove: [[f('metadata'), f('finalizers'), valueElement('x')]],
      check: (o: any) => expect(o.metadata.finalizers).toEqual(['y']),
    },
  ])('removes $name without touching the input', ({ remove, check }) => {
    const before = structuredClone(obj);
    check(removeFields(obj, FieldSet.of(remove), deploymentSchema));
    expect(obj).toEqual(before);
  });
});
