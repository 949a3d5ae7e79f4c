import { describe, expect, it } from 'vitest';
import { MergePatchError } from './errors.js';
import { applyMergePatch, createMergePatch } from './merge-patch.js';

describe('applyMergePatch (RFC 7386 appendix A)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [{ a: [{ x: null }] }, { b: 1 }, { a: [{ x: null }], b: 1 }],
  ];
  it.each(cases)('%j + %j', (target, patch, want) => {
    const before = structuredClone(target);
    expect(applyMergePatch(target, patch)).toEqual(want);
    expect(target).toEqual(before);
  });

  it('kubectl label / annotate / scale shaped patches', () => {
    const obj = {
      metadata: { name: 'web', labels: { app: 'web', tier: 'fe' }, annotations: { a: '1' } },
      spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    const labelled = applyMergePatch(obj, { metadata: { labels: { env: 'prod', tier: null } } });
    expect(labelled.metadata.labels).toEqual({ app: 'web', env: 'prod' });
    const annotated = applyMergePatch(obj, { metadata: { annotations: { a: null, b: '2' } } });
    expect(annotated.metadata.annotations).toEqual({ b: '2' });
    const scaled = applyMergePatch(obj, { spec: { replicas: 5 } });
    expect(scaled.spec.replicas).toBe(5);
    expect(scaled.spec.template).toEqual(obj.spec.template);
    expect(obj.spec.replicas).toBe(1);
  });

  it('requireObject rejects non-object bodies like the API server', () => {
    expect(() => applyMergePatch({}, [1], { requireObject: true })).toThrow(MergePatchError);
    expect(() => applyMergePatch({}, 'x', { requireObject: true })).toThrow(
      'json: cannot unmarshal string into Go value of type map[string]interface {}',
    );
  });
});

describe('createMergePatch', () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
    [{ a: 1 }, { a: 1 }, {}],
    [{ a: 1 }, { a: 2 }, { a: 2 }],
    [{ a: 1, b: 2 }, { a: 1 }, { b: null }],
    [{ a: { b: 1, c: 2 } }, { a: { b: 1, c: 3 } }, { a: { c: 3 } }],
    [{ a: [1, 2] }, { a: [1] }, { a: [1] }],
    [{ a: { b: 1 } }, { a: 'x' }, { a: 'x' }],
    [{}, { a: { b: 1 } }, { a: { b: 1 } }],
  ];
  it.each(cases)('%j -> %j', (original, modified, want) => {
    const patch = createMergePatch(original, modified);
    expect(patch).toEqual(want);
    expect(applyMergePatch(original, patch)).toEqual(modified);
  });
});
