import { describe, expect, it } from 'vitest';
import { cloneJson } from './json-clone.js';

describe('cloneJson', () => {
  const cases: Array<{ name: string; value: unknown }> = [
    { name: 'null', value: null },
    { name: 'a string', value: 'x' },
    { name: 'a number', value: 1.5 },
    { name: 'a boolean', value: false },
    { name: 'an empty object', value: {} },
    { name: 'an empty list', value: [] },
    {
      name: 'a pod',
      value: JSON.parse(
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]},"status":{"conditions":[{"type":"Ready","lastProbeTime":null}]}}',
      ),
    },
    { name: 'nested lists', value: [[1, [2, { a: [3] }]], null] },
    { name: 'an undefined member', value: { a: undefined, b: 1 } },
  ];
  it.each(cases)('copies $name as structuredClone does', ({ value }) => {
    const copy = cloneJson(value);
    expect(copy).toStrictEqual(structuredClone(value));
    if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
  });

  it('copies deeply: changing the copy leaves the original alone', () => {
    const original = { metadata: { labels: { a: '1' } }, items: [{ n: 1 }] };
    const copy = cloneJson(original);
    copy.metadata.labels.a = '2';
    copy.items[0]!.n = 2;
    copy.items.push({ n: 3 });
    expect(original).toEqual({ metadata: { labels: { a: '1' } }, items: [{ n: 1 }] });
  });

  it('keeps an own __proto__ key an own key (JSON.parse makes one)', () => {
    const value = JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}');
    const copy = cloneJson(value);
    expect(Object.getPrototypeOf(copy.metadata.labels)).toBe(Object.prototype);
    expect(Object.keys(copy.metadata.labels)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(copy.metadata.labels, '__proto__')?.value).toBe('x');
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
  });

  it('hands non-JSON objects to structuredClone', () => {
    const when = new Date('2024-05-01T10:00:00Z');
    const copy = cloneJson({ when, seen: new Map([['a', 1]]) });
    expect(copy.when).toBeInstanceOf(Date);
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(when.getTime());
    expect(copy.seen.get('a')).toBe(1);
  });

  it('throws on functions as structuredClone does', () => {
    expect(() => cloneJson({ f: () => 1 })).toThrow();
  });
});
