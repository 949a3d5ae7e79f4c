import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { nodeMatchesPodSpec, toleratesTaint, untoleratedTaint } from './daemonset-node-fit.js';

const taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

describe('toleratesTaint', () => {
  const cases: [string, KObj, boolean][] = [
    [
      'Equal with same value',
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      true,
    ],
    ['operator defaults to Equal', { key: 'dedicated', value: 'gpu' }, true],
    ['Equal with other value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    ['Exists on the key, any effect', { key: 'dedicated', operator: 'Exists' }, true],
    ['Exists with empty key tolerates every taint', { operator: 'Exists' }, true],
    ['other key', { key: 'zone', operator: 'Exists' }, false],
    ['other effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    ['empty key with Equal compares only the value', { operator: 'Equal', value: 'gpu' }, true],
  ];
  for (const [name, toleration, want] of cases) {
    it(name, () => expect(toleratesTaint(toleration, taint)).toBe(want));
  }
});

describe('untoleratedTaint', () => {
  const taints = [
    { key: 'a', effect: 'PreferNoSchedule' },
    { key: 'b', effect: 'NoExecute' },
    { key: 'c', effect: 'NoSchedule' },
  ];
  const cases: [string, KObj[], string[], string | undefined][] = [
    ['no tolerations: first matching effect', [], ['NoSchedule', 'NoExecute'], 'b'],
    ['only NoSchedule considered', [], ['NoSchedule'], 'c'],
    ['b tolerated', [{ key: 'b', operator: 'Exists' }], ['NoSchedule', 'NoExecute'], 'c'],
    ['everything tolerated', [{ operator: 'Exists' }], ['NoSchedule', 'NoExecute'], undefined],
    ['PreferNoSchedule never blocks', [{ key: 'b', operator: 'Exists' }], ['NoExecute'], undefined],
  ];
  for (const [name, tolerations, effects, want] of cases) {
    it(name, () => expect(untoleratedTaint(taints, tolerations, effects)?.key).toBe(want));
  }
});

describe('nodeMatchesPodSpec', () => {
  const node = { metadata: { name: 'n1', labels: { zone: 'a', disk: 'ssd', cpus: '8' } } };
  const required = (...terms: KObj[]) => ({
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  });
  const cases: [string, KObj, boolean][] = [
    ['empty spec', {}, true],
    ['nodeSelector matches', { nodeSelector: { zone: 'a' } }, true],
    ['nodeSelector value differs', { nodeSelector: { zone: 'b' } }, false],
    ['nodeSelector label missing', { nodeSelector: { gpu: 'yes' } }, false],
    ['In', required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }), true],
    ['NotIn', required({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }), false],
    ['Exists', required({ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }), true],
    ['DoesNotExist', required({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }), true],
    ['Gt', required({ matchExpressions: [{ key: 'cpus', operator: 'Gt', values: ['4'] }] }), true],
    ['Lt', required({ matchExpressions: [{ key: 'cpus', operator: 'Lt', values: ['4'] }] }), false],
    [
      'matchFields name',
      required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }),
      true,
    ],
    [
      'matchFields other name',
      required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }),
      false,
    ],
    [
      'terms are ORed',
      required(
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] },
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      ),
      true,
    ],
    [
      'requirements in a term are ANDed',
      required({
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a'] },
          { key: 'disk', operator: 'In', values: ['hdd'] },
        ],
      }),
      false,
    ],
    ['an empty term matches nothing', required({}), false],
    [
      'selector and affinity both needed',
      {
        nodeSelector: { zone: 'b' },
        ...required({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }),
      },
      false,
    ],
  ];
  for (const [name, spec, want] of cases) {
    it(name, () => expect(nodeMatchesPodSpec(spec, node)).toBe(want));
  }
});
