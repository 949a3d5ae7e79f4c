import { describe, expect, it } from 'vitest';
import { missingAccounts, namespaceActive } from './serviceaccount.js';

describe('namespaceActive', () => {
  const cases: [string, Record<string, any> | undefined, boolean][] = [
    ['missing', undefined, false],
    ['active', { metadata: { name: 'a' }, status: { phase: 'Active' } }, true],
    ['no status yet', { metadata: { name: 'a' } }, true],
    ['terminating phase', { metadata: { name: 'a' }, status: { phase: 'Terminating' } }, false],
    ['being deleted', { metadata: { name: 'a', deletionTimestamp: '2024-01-01T00:00:00Z' } }, false],
  ];
  for (const [name, ns, want] of cases) it(name, () => expect(namespaceActive(ns)).toBe(want));
});

describe('missingAccounts', () => {
  const cases: [string, string[], string[], string[]][] = [
    ['none yet', ['default'], [], ['default']],
    ['present', ['default'], ['default', 'builder'], []],
    ['only others', ['default'], ['builder'], ['default']],
  ];
  for (const [name, wanted, present, want] of cases)
    it(name, () => expect(missingAccounts(wanted, new Set(present))).toEqual(want));
});
