import { describe, expect, it } from 'vitest';
import type { FilterFailure } from './filters.js';
import { fitErrorMessage } from './fit-error.js';

const taint: FilterFailure = {
  plugin: 'TaintToleration',
  reasons: ['node(s) had untolerated taint {k: v}'],
  unresolvable: true,
};
const cpu: FilterFailure = { plugin: 'NodeResourcesFit', reasons: ['Insufficient cpu'], unresolvable: false };
const cpuMem: FilterFailure = {
  plugin: 'NodeResourcesFit',
  reasons: ['Insufficient cpu', 'Insufficient memory'],
  unresolvable: false,
};
const sel: FilterFailure = {
  plugin: 'NodeAffinity',
  reasons: ["node(s) didn't match Pod's node affinity/selector"],
  unresolvable: true,
};

describe('fitErrorMessage', () => {
  it.each([
    ['no nodes', 0, [], 'no nodes available to schedule pods'],
    [
      'upstream example shape',
      3,
      [taint, cpu, cpu],
      '0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    ],
    [
      'several reasons of one node all count',
      2,
      [cpuMem, cpu],
      '0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    ],
    [
      'only unresolvable',
      3,
      [sel, sel, sel],
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    ],
  ])('%s', (_n, n, failures, want) => expect(fitErrorMessage(n, failures)).toBe(want));
});
