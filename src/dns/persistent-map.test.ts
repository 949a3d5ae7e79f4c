import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { hashKey, MapEditor, PersistentMap } from './persistent-map.js';
import { nameKey, QueryView } from './wire.js';

/** Two different keys with the same 32-bit hash (found by search: the birthday bound is ~77K keys). */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const k = `k${i}`;
    const h = hashKey(k);
    const other = seen.get(h);
    if (other !== undefined) return [other, k];
    seen.set(h, k);
  }
}

describe('PersistentMap', () => {
  it('matches a Map under random sets and deletes, and old versions never change', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const [c1, c2] = collidingPair();
    const keys = [...Array.from({ length: 300 }, (_, i) => `name-${i}`), c1, c2, ''];
    let pm = PersistentMap.empty<number>();
    const model = new Map<string, number>();
    const snapshots: { pm: PersistentMap<number>; model: Map<string, number> }[] = [];
    for (let step = 0; step < 5000; step++) {
      const k = keys[rand(keys.length)]!;
      if (rand(3) === 0) {
        pm = pm.delete(k);
        model.delete(k);
      } else {
        const v = rand(5);
        pm = pm.set(k, v);
        model.set(k, v);
      }
      if (step % 500 === 0) snapshots.push({ pm, model: new Map(model) });
    }
    for (const { pm: p, model: m } of [...snapshots, { pm, model }]) {
      expect(p.size).toBe(m.size);
      expect(new Map(p.entries())).toEqual(m);
      for (const k of keys) expect(p.get(k)).toBe(m.get(k));
    }
  });

  it('keeps keys with the same hash apart, and deleting one leaves the other', () => {
    const [a, b] = collidingPair();
    expect(hashKey(a)).toBe(hashKey(b));
    const m = PersistentMap.empty<string>().set(a, 'A').set(b, 'B');
    expect([m.get(a), m.get(b), m.size]).toEqual(['A', 'B', 2]);
    const n = m.delete(a);
    expect([n.get(a), n.get(b), n.size]).toEqual([undefined, 'B', 1]);
    expect(n.delete(b).size).toBe(0);
  });

  it('returns the same map for a no-op set or delete', () => {
    const m = PersistentMap.empty<number>().set('x', 1);
    expect(m.set('x', 1)).toBe(m);
    expect(m.delete('y')).toBe(m);
  });

  it('builds the same map in bulk (from) as by single sets, collisions included', () => {
    const [a, b] = collidingPair();
    const entries: [string, number][] = [
      ...Array.from({ length: 2000 }, (_, i) => [`n${i}`, i] as [string, number]),
      [a, 1],
      [b, 2],
    ];
    const bulk = PersistentMap.from(entries);
    let one = PersistentMap.empty<number>();
    for (const [k, v] of entries) one = one.set(k, v);
    expect(bulk.size).toBe(one.size);
    expect(new Map(bulk.entries())).toEqual(new Map(one.entries()));
    // A bulk-built map takes path-copying edits like any other.
    const edited = bulk.delete(a).set('new', 9);
    expect([edited.get(a), edited.get(b), edited.get('new'), edited.size, bulk.get(a)]).toEqual([
      undefined,
      2,
      9,
      2002,
      1,
    ]);
  });

  for (const edits of [3, 1000]) {
    it(`MapEditor gives the same result whichever way it edits (${edits} edits on 1000 keys)`, () => {
      const base = PersistentMap.from(
        Array.from({ length: 1000 }, (_, i) => [`k${i}`, i] as [string, number]),
      );
      const ed = new MapEditor(base, { expectedEdits: edits });
      const model = new Map(base.entries());
      for (let i = 0; i < edits; i++) {
        if (i % 3 === 0) {
          ed.delete(`k${i}`);
          model.delete(`k${i}`);
        } else {
          ed.set(`x${i}`, -i);
          model.set(`x${i}`, -i);
        }
        expect(ed.get(`x${i}`)).toBe(model.get(`x${i}`));
      }
      const out = ed.done();
      expect(new Map(out.entries())).toEqual(model);
      expect(out.size).toBe(model.size);
      expect(base.size).toBe(1000);
    });
  }
});

describe('hashKey and the parser', () => {
  it('QueryView hashes the lower-cased key as hashKey does, so the hot path can pass it to get()', () => {
    const q = new QueryView();
    for (const name of ['web.default.svc.cluster.local', 'WeB.DeFaUlT.SVC.cluster.LOCAL', 'a', 'x-1.y_2.Z']) {
      const msg = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name, type: 'A' }] });
      expect(q.parse(msg)).toBe(true);
      expect(q.key).toBe(nameKey(name));
      expect(q.hash).toBe(hashKey(q.key));
    }
  });
});
