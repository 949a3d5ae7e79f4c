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

describe('FieldSet operations share nodes without sharing changes', () => {
  // A model of a set: its members as path texts. The trie must answer every operation as the model.
  type Model = Set<string>;
  const key = (p: readonly string[]) => JSON.stringify(p);
  const model = (s: FieldSet): Model => new Set(s.paths().map(key));
  const prefixOf = (q: string, p: string) => {
    const a = JSON.parse(q) as string[];
    const b = JSON.parse(p) as string[];
    return a.length <= b.length && a.every((x, i) => x === b[i]);
  };
  const ops: Array<[string, (a: FieldSet, b: FieldSet) => FieldSet, (a: Model, b: Model) => string[]]> = [
    ['union', (a, b) => a.union(b), (a, b) => [...a, ...b]],
    ['difference', (a, b) => a.difference(b), (a, b) => [...a].filter((p) => !b.has(p))],
    ['intersection', (a, b) => a.intersection(b), (a, b) => [...a].filter((p) => b.has(p))],
    [
      'recursiveDifference',
      (a, b) => a.recursiveDifference(b),
      (a, b) => [...a].filter((p) => ![...b].some((q) => prefixOf(q, p))),
    ],
    [
      'recursiveIntersection',
      (a, b) => a.recursiveIntersection(b),
      (a, b) => [...a].filter((p) => [...b].some((q) => prefixOf(q, p))),
    ],
  ];
  const P = (...names: string[]) => names.map(f);
  const sets: Array<[string, string[][]]> = [
    ['empty', []],
    ['spec', [P('spec')]],
    ['spec tree', [P('spec'), P('spec', 'replicas'), P('spec', 'template', 'spec', 'containers')]],
    ['spec leaves', [P('spec', 'replicas'), P('spec', 'paused'), P('metadata', 'labels', 'app')]],
    ['status', [P('status', 'phase'), P('status', 'conditions')]],
    ['mixed', [P('metadata', 'labels', 'app'), P('status'), P('status', 'phase'), P('spec', 'paused')]],
  ];
  for (const [op, run, expected] of ops) {
    for (const [an, ap] of sets) {
      for (const [bn, bp] of sets) {
        it(`${an} ${op} ${bn}`, () => {
          const a = FieldSet.of(ap);
          const b = FieldSet.of(bp);
          const before = [a.paths(), b.paths()];
          const out = run(a, b);
          expect(model(out)).toEqual(new Set(expected(model(a), model(b))));
          // The result may hold the operands' nodes: inserting into any one leaves the others.
          const after = out.paths();
          out.insert(P('zz', 'out'));
          a.insert(P('zz', 'a'));
          b.insert(P('zz', 'b'));
          expect(out.paths()).toEqual([...after, P('zz', 'out')].sort(byText));
          expect(a.paths()).toEqual([...before[0]!, P('zz', 'a')].sort(byText));
          expect(b.paths()).toEqual([...before[1]!, P('zz', 'b')].sort(byText));
        });
      }
    }
  }
  function byText(x: readonly string[], y: readonly string[]): number {
    // paths() order for these field-only paths: members of a node first, then its children.
    const all = FieldSet.of([x, y]).paths();
    return all.findIndex((p) => key(p) === key(x)) - all.findIndex((p) => key(p) === key(y));
  }

  it('a child set shares nodes with its parent, not changes', () => {
    const parent = FieldSet.of([P('spec', 'replicas'), P('spec', 'paused')]);
    const child = parent.child(f('spec'))!;
    child.insert(P('selector'));
    parent.insert(P('spec', 'template'));
    expect(child.paths()).toEqual([P('paused'), P('replicas'), P('selector')]);
    expect(parent.paths()).toEqual([P('spec', 'paused'), P('spec', 'replicas'), P('spec', 'template')]);
  });

  it('a decoded set and its encoding stay apart', () => {
    const decoded = FieldSet.fromFieldsV1({ 'f:spec': { 'f:replicas': {} } });
    const encoded = decoded.toFieldsV1();
    decoded.insert(P('spec', 'paused'));
    expect(encoded).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(decoded.toFieldsV1()).toEqual({ 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
  });
});

describe('FieldsV1 written back as decoded', () => {
  // A decoded set that nothing changed encodes to the object it came from when that object is
  // already canonical; otherwise to the canonical encoding. Either way the text is upstream's.
  const cases: Array<[string, string, boolean]> = [
    ['fields in order', '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{}}}', true],
    [
      'keys, values and fields',
      '{"f:spec":{"f:containers":{"k:{\\"name\\":\\"a\\"}":{".":{},"f:name":{}}},"f:finalizers":{"v:\\"x\\"":{}}}}',
      true,
    ],
    ['empty', '{}', true],
    ['fields out of order', '{"f:spec":{},"f:metadata":{"f:name":{}}}', false],
    [
      'a key not spelled canonically',
      '{"f:ports":{"k:{\\"protocol\\":\\"TCP\\",\\"containerPort\\":80}":{}}}',
      false,
    ],
    [
      'two spellings of one key',
      '{"f:p":{"k:{\\"a\\":1,\\"b\\":2}":{},"k:{\\"b\\":2,\\"a\\":1}":{}}}',
      false,
    ],
    ['a dot after a field', '{"f:labels":{"f:app":{},".":{}}}', false],
    ['a dot alone', '{"f:labels":{".":{}}}', false],
    ['a dot with a value', '{"f:labels":{".":{"f:x":{}},"f:app":{}}}', false],
    ['a dot at the root', '{".":{},"f:spec":{}}', false],
    ['a field before a key', '{"f:c":{"k:{\\"name\\":\\"a\\"}":{},"f:x":{}}}', false],
  ];
  it.each(cases)('%s', (_name, text, canonical) => {
    const json = JSON.parse(text);
    const decoded = FieldSet.fromFieldsV1(json);
    const fresh = FieldSet.of(decoded.paths());
    const out = decoded.toFieldsV1();
    expect(JSON.stringify(out)).toBe(JSON.stringify(fresh.toFieldsV1()));
    expect(out === json).toBe(canonical);
    // Changed sets encode anew, never the decoded object.
    const changed = decoded.union(FieldSet.of([[f('zz')]]));
    expect(changed.toFieldsV1()).not.toBe(json);
    expect(JSON.stringify(FieldSet.fromFieldsV1(json).toFieldsV1())).toBe(JSON.stringify(out));
  });
});
