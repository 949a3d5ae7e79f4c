import { describe, expect, it } from 'vitest';
import {
  nodeAffinity,
  nodeName,
  nodePorts,
  nodeResourcesFit,
  nodeUnschedulable,
  runFilters,
  taintToleration,
} from './filters.js';
import { nodeInfoOf } from './node-info.js';
import { podInfo } from './pod-info.js';
import { testNode, testPod } from './test-objects.js';

const p = (...a: Parameters<typeof testPod>) => podInfo(testPod(...a));

describe('filters', () => {
  const tainted = testNode('t', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  const cordoned = testNode('u', { unschedulable: true });
  const small = testNode('s', { cpu: '1', memory: '1Gi', pods: '2' });
  const cases: [string, (pod: any, node: any) => any, any, any, string[] | undefined][] = [
    [
      'NodeUnschedulable passes a normal node',
      nodeUnschedulable,
      p('a'),
      nodeInfoOf(testNode('n')),
      undefined,
    ],
    [
      'NodeUnschedulable rejects a cordoned node',
      nodeUnschedulable,
      p('a'),
      nodeInfoOf(cordoned),
      ['node(s) were unschedulable'],
    ],
    [
      'NodeUnschedulable: the unschedulable toleration lets it through',
      nodeUnschedulable,
      p('a', {
        tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      }),
      nodeInfoOf(cordoned),
      undefined,
    ],
    [
      'NodeName other node',
      nodeName,
      p('a', { nodeName: 'x' }),
      nodeInfoOf(testNode('n')),
      ["node(s) didn't match the requested node name"],
    ],
    ['NodeName same node', nodeName, p('a', { nodeName: 'n' }), nodeInfoOf(testNode('n')), undefined],
    [
      'Taint untolerated',
      taintToleration,
      p('a'),
      nodeInfoOf(tainted),
      ['node(s) had untolerated taint {dedicated: gpu}'],
    ],
    [
      'Taint tolerated',
      taintToleration,
      p('a', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }] }),
      nodeInfoOf(tainted),
      undefined,
    ],
    [
      'PreferNoSchedule does not filter',
      taintToleration,
      p('a'),
      nodeInfoOf(testNode('n', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })),
      undefined,
    ],
    [
      'NodeAffinity selector miss',
      nodeAffinity,
      p('a', { nodeSelector: { disk: 'ssd' } }),
      nodeInfoOf(testNode('n')),
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
    [
      'NodeAffinity selector hit',
      nodeAffinity,
      p('a', { nodeSelector: { disk: 'ssd' } }),
      nodeInfoOf(testNode('n', { labels: { disk: 'ssd' } })),
      undefined,
    ],
    [
      'NodeAffinity matchFields metadata.name',
      nodeAffinity,
      p('a', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['other'] }] },
              ],
            },
          },
        },
      }),
      nodeInfoOf(testNode('n')),
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
    [
      'NodePorts conflict',
      nodePorts,
      p('a', { hostPort: 80 }),
      nodeInfoOf(testNode('n'), [p('b', { hostPort: 80 })]),
      ["node(s) didn't have free ports for the requested pod ports"],
    ],
    [
      'NodePorts other port',
      nodePorts,
      p('a', { hostPort: 81 }),
      nodeInfoOf(testNode('n'), [p('b', { hostPort: 80 })]),
      undefined,
    ],
    ['Fit fits', nodeResourcesFit, p('a', { cpu: '500m', memory: '512Mi' }), nodeInfoOf(small), undefined],
    ['Fit cpu', nodeResourcesFit, p('a', { cpu: '1500m' }), nodeInfoOf(small), ['Insufficient cpu']],
    [
      'Fit counts pods already on the node',
      nodeResourcesFit,
      p('a', { cpu: '600m', memory: '600Mi' }),
      nodeInfoOf(small, [p('b', { cpu: '600m', memory: '600Mi' })]),
      ['Insufficient cpu', 'Insufficient memory'],
    ],
    ['Fit pod count', nodeResourcesFit, p('a'), nodeInfoOf(small, [p('b'), p('c')]), ['Too many pods']],
    [
      'Fit extended resource',
      nodeResourcesFit,
      podInfo({
        ...testPod('g'),
        spec: { containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] },
      }),
      nodeInfoOf(small),
      ['Insufficient nvidia.com/gpu'],
    ],
  ];
  it.each(cases)('%s', (_n, fn, pod, node, want) => expect(fn(pod, node)?.reasons).toEqual(want));

  it('runFilters stops at the first failing plugin, in upstream order', () => {
    const node = nodeInfoOf(
      testNode('n', {
        cpu: '1',
        unschedulable: true,
        taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
      }),
    );
    const f = runFilters(p('a', { cpu: '2' }), node);
    expect(f?.plugin).toBe('NodeUnschedulable');
    expect(f?.unresolvable).toBe(true);
    const g = runFilters(p('a', { cpu: '2', tolerations: [{ operator: 'Exists' }] }), node);
    expect(g?.plugin).toBe('NodeResourcesFit');
    expect(g?.unresolvable).toBe(false);
  });
});
