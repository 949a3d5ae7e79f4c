import { describe, expect, it } from 'vitest';
import { Expectations } from './daemonset-expectations.js';

type Step =
  | ['expect', number, string[]]
  | ['created']
  | ['failed']
  | ['deleted', string]
  | ['tick', number]
  | ['forget'];

describe('Expectations', () => {
  const cases: [string, Step[], boolean][] = [
    ['nothing expected', [], true],
    ['creates pending', [['expect', 2, []], ['created']], false],
    ['creates all seen', [['expect', 2, []], ['created'], ['created']], true],
    ['watch event before the create answered still counts', [['expect', 1, []], ['created']], true],
    ['a failed create is not waited for', [['expect', 2, []], ['created'], ['failed']], true],
    [
      'deletes pending',
      [
        ['expect', 0, ['a', 'b']],
        ['deleted', 'a'],
      ],
      false,
    ],
    [
      'a delete seen twice counts once',
      [
        ['expect', 0, ['a', 'b']],
        ['deleted', 'a'],
        ['deleted', 'a'],
      ],
      false,
    ],
    [
      'deletes all seen',
      [
        ['expect', 0, ['a', 'b']],
        ['deleted', 'b'],
        ['deleted', 'a'],
      ],
      true,
    ],
    [
      'unmet but expired',
      [
        ['expect', 1, ['a']],
        ['tick', 301_000],
      ],
      true,
    ],
    [
      'unmet, not yet expired',
      [
        ['expect', 1, ['a']],
        ['tick', 299_000],
      ],
      false,
    ],
    ['forgotten', [['expect', 1, []], ['forget']], true],
  ];
  for (const [name, steps, want] of cases) {
    it(name, () => {
      let t = 1_000;
      const e = new Expectations({ now: () => t });
      for (const s of steps) {
        if (s[0] === 'expect') e.expect('ns/ds', s[1], s[2]);
        else if (s[0] === 'created') e.creationObserved('ns/ds');
        else if (s[0] === 'failed') e.creationFailed('ns/ds');
        else if (s[0] === 'deleted') e.deletionObserved('ns/ds', s[1]);
        else if (s[0] === 'tick') t += s[1];
        else e.forget('ns/ds');
      }
      expect(e.satisfied('ns/ds')).toBe(want);
      expect(e.satisfied('ns/other')).toBe(true);
    });
  }
});
