import { describe, expect, it } from 'vitest';
import { EXPECTATIONS_TIMEOUT_MS, Expectations } from './replicaset-expectations.js';

type Step =
  | ['create', number]
  | ['delete', string[]]
  | ['created']
  | ['deleted', string]
  | ['advance', number]
  | ['forget'];

describe('Expectations', () => {
  const cases: { name: string; steps: Step[]; satisfied: boolean }[] = [
    { name: 'no record', steps: [], satisfied: true },
    { name: 'creations pending', steps: [['create', 2], ['created']], satisfied: false },
    { name: 'all creations observed', steps: [['create', 2], ['created'], ['created']], satisfied: true },
    {
      name: 'deletions pending',
      steps: [
        ['delete', ['ns/a', 'ns/b']],
        ['deleted', 'ns/a'],
      ],
      satisfied: false,
    },
    {
      name: 'a deletion observed twice counts once',
      steps: [
        ['delete', ['ns/a', 'ns/b']],
        ['deleted', 'ns/a'],
        ['deleted', 'ns/a'],
      ],
      satisfied: false,
    },
    {
      name: 'an unexpected deletion does not count',
      steps: [
        ['delete', ['ns/a']],
        ['deleted', 'ns/zzz'],
      ],
      satisfied: false,
    },
    {
      name: 'all deletions observed',
      steps: [
        ['delete', ['ns/a', 'ns/b']],
        ['deleted', 'ns/b'],
        ['deleted', 'ns/a'],
      ],
      satisfied: true,
    },
    {
      name: 'expired after the timeout',
      steps: [
        ['create', 3],
        ['advance', EXPECTATIONS_TIMEOUT_MS + 1],
      ],
      satisfied: true,
    },
    {
      name: 'not expired at the timeout',
      steps: [
        ['create', 3],
        ['advance', EXPECTATIONS_TIMEOUT_MS],
      ],
      satisfied: false,
    },
    { name: 'forgotten owner', steps: [['create', 3], ['forget']], satisfied: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let now = 1000;
      const e = new Expectations({ now: () => now });
      for (const s of c.steps) {
        if (s[0] === 'create') e.expectCreations('ns/rs', s[1]);
        else if (s[0] === 'delete') e.expectDeletions('ns/rs', s[1]);
        else if (s[0] === 'created') e.creationObserved('ns/rs');
        else if (s[0] === 'deleted') e.deletionObserved('ns/rs', s[1]);
        else if (s[0] === 'advance') now += s[1];
        else e.delete('ns/rs');
      }
      expect(e.satisfied('ns/rs')).toBe(c.satisfied);
      expect(e.satisfied('ns/other')).toBe(true);
    });
  }
});
