import { describe, expect, it } from 'vitest';
import { SliceTracker, type TrackedSlice } from './endpointslice-tracker.js';

const s = (name: string, rv: string): TrackedSlice => ({ metadata: { name, resourceVersion: rv } });

describe('SliceTracker.stale', () => {
  type Op = ['written', string, string] | ['deleted', string];
  const cases: [string, Op[], TrackedSlice[], boolean][] = [
    ['nothing written', [], [s('a', '1')], false],
    ['created, cache lacks it', [['written', 'a', '5']], [], true],
    ['created, cache has it', [['written', 'a', '5']], [s('a', '5')], false],
    ['updated, cache older', [['written', 'a', '5']], [s('a', '4')], true],
    ['updated, cache newer (someone else wrote since)', [['written', 'a', '5']], [s('a', '7')], false],
    ['deleted, cache still has it', [['deleted', 'a']], [s('a', '4')], true],
    ['deleted, cache lost it', [['deleted', 'a']], [], false],
    [
      'one of two behind',
      [
        ['written', 'a', '5'],
        ['written', 'b', '6'],
      ],
      [s('a', '5'), s('b', '2')],
      true,
    ],
  ];
  for (const [name, ops, cached, want] of cases) {
    it(name, () => {
      const t = new SliceTracker();
      for (const op of ops) {
        if (op[0] === 'written') t.written('ns/web', s(op[1], op[2]));
        else t.deleted('ns/web', op[1]);
      }
      expect(t.stale('ns/web', cached)).toBe(want);
      expect(t.stale('ns/other', [])).toBe(false);
    });
  }

  it('met expectations are dropped; old ones expire', () => {
    let now = 0;
    const t = new SliceTracker({ now: () => now, maxAgeMs: 1000 });
    t.written('k', s('a', '5'));
    expect(t.stale('k', [s('a', '5')])).toBe(false);
    // Met and dropped: an older cache no longer counts as behind.
    expect(t.stale('k', [s('a', '1')])).toBe(false);
    t.written('k', s('b', '9'));
    expect(t.stale('k', [])).toBe(true);
    now = 2000;
    expect(t.stale('k', [])).toBe(false);
  });
});

describe('SliceTracker.observe', () => {
  const cases: [string, (t: SliceTracker) => void, 'add' | 'update' | 'delete', TrackedSlice, boolean][] = [
    ['unknown slice added: sync', () => {}, 'add', s('a', '3'), true],
    ['echo of our create: no sync', (t) => t.written('k', s('a', '3')), 'add', s('a', '3'), false],
    [
      'older event before our write: no sync',
      (t) => t.written('k', s('a', '3')),
      'update',
      s('a', '2'),
      false,
    ],
    ['someone changed it after us: sync', (t) => t.written('k', s('a', '3')), 'update', s('a', '4'), true],
    ['our delete echoed: no sync', (t) => t.deleted('k', 'a'), 'delete', s('a', '3'), false],
    ['someone deleted our slice: sync', (t) => t.written('k', s('a', '3')), 'delete', s('a', '3'), true],
    ['someone deleted an untracked slice: sync', () => {}, 'delete', s('a', '3'), true],
    ['update of a slice we deleted: no sync', (t) => t.deleted('k', 'a'), 'update', s('a', '9'), false],
  ];
  for (const [name, setup, type, slice, want] of cases) {
    it(name, () => {
      const t = new SliceTracker();
      setup(t);
      expect(t.observe('k', type, slice)).toBe(want);
    });
  }

  it('an echo clears the expectation', () => {
    const t = new SliceTracker();
    t.written('k', s('a', '3'));
    t.observe('k', 'add', s('a', '3'));
    expect(t.stale('k', [])).toBe(false);
  });
});
