import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  fnv1a32,
  isPodAvailable,
  podFromTemplate,
  scaledValue,
  templateHash,
} from './daemonset-statefulset-shared.js';

describe('fnv1a32', () => {
  // Published FNV-1a 32-bit test vectors.
  const cases: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => expect(fnv1a32(text)).toBe(want));
});

describe('templateHash', () => {
  const t = {
    metadata: { labels: { app: 'a', tier: 'x' } },
    spec: { containers: [{ name: 'c', image: 'i:1' }] },
  };
  it('ignores key order', () => {
    const reordered = {
      spec: { containers: [{ image: 'i:1', name: 'c' }] },
      metadata: { labels: { tier: 'x', app: 'a' } },
    };
    expect(templateHash(reordered)).toBe(templateHash(t));
    expect(canonicalJson(reordered)).toBe(canonicalJson(t));
  });
  it('changes with the image and with the collision count', () => {
    const other = structuredClone(t);
    other.spec.containers[0]!.image = 'i:2';
    expect(templateHash(other)).not.toBe(templateHash(t));
    expect(templateHash(t, 1)).not.toBe(templateHash(t));
    expect(templateHash(t, 0)).toBe(templateHash(t));
  });
  it('is a label-safe string', () =>
    expect(templateHash(t)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/));
});

describe('scaledValue', () => {
  const cases: [number | string | undefined, number, boolean, number][] = [
    [3, 10, true, 3],
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['0%', 10, true, 0],
    ['100%', 7, false, 7],
    [undefined, 10, true, 0],
    ['2', 10, true, 2],
  ];
  for (const [v, total, up, want] of cases) {
    it(`${v} of ${total} (roundUp ${up})`, () => expect(scaledValue(v, total, up)).toBe(want));
  }
  it('rejects garbage', () => expect(() => scaledValue('x%', 10, true)).toThrow(/invalid value/));
});

describe('isPodAvailable', () => {
  const now = new Date('2024-01-01T00:01:00Z');
  const pod = (status: string, since: string) => ({
    status: { conditions: [{ type: 'Ready', status, lastTransitionTime: since }] },
  });
  const cases: [string, object, number, boolean][] = [
    ['ready, no minReadySeconds', pod('True', '2024-01-01T00:00:59Z'), 0, true],
    ['not ready', pod('False', '2024-01-01T00:00:00Z'), 0, false],
    ['ready long enough', pod('True', '2024-01-01T00:00:30Z'), 30, true],
    ['ready too recently', pod('True', '2024-01-01T00:00:31Z'), 30, false],
  ];
  for (const [name, p, min, want] of cases) it(name, () => expect(isPodAvailable(p, min, now)).toBe(want));
});

describe('podFromTemplate', () => {
  it('copies labels, annotations and spec without sharing them', () => {
    const template = {
      metadata: { labels: { a: '1' }, annotations: { n: 'x' } },
      spec: { containers: [{ name: 'c' }] },
    };
    const ref = { kind: 'DaemonSet', uid: 'u' };
    const pod = podFromTemplate(template, ref, 'ns');
    expect(pod.metadata).toEqual({
      namespace: 'ns',
      labels: { a: '1' },
      annotations: { n: 'x' },
      ownerReferences: [ref],
    });
    pod.spec.containers[0].name = 'changed';
    pod.metadata.labels.b = '2';
    expect(template.spec.containers[0]!.name).toBe('c');
    expect(template.metadata.labels).toEqual({ a: '1' });
  });
});
