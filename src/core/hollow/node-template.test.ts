import { describe, expect, it } from 'vitest';
import {
  healthyConditions,
  hollowLease,
  hollowNode,
  microTime,
  nodeIp,
  parseTaint,
  rfc3339,
} from './node-template.js';

const T = Date.parse('2025-03-04T05:06:07.891Z');
const shape = { cpu: '4', memory: '16Gi', pods: 110, arch: 'amd64', zones: ['a', 'b', 'c'], taints: [] };

describe('timestamps', () => {
  it('formats metav1.Time and MicroTime', () => {
    expect(rfc3339(T)).toBe('2025-03-04T05:06:07Z');
    expect(microTime(T)).toBe('2025-03-04T05:06:07.891000Z');
  });
});

describe('nodeIp', () => {
  const cases: [number, string][] = [
    [0, '10.240.0.1'],
    [1, '10.240.0.2'],
    [254, '10.240.0.255'],
    [255, '10.240.1.0'],
    [999, '10.240.3.232'],
  ];
  it.each(cases)('node %i -> %s', (i, ip) => expect(nodeIp(i)).toBe(ip));
});

describe('hollowNode', () => {
  it('has the labels, capacity, addresses and nodeInfo a kubelet registers', () => {
    const n = hollowNode('hollow-4', 4, { ...shape, instanceType: 'm5.large' }, T);
    expect(n.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'hollow-4',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'm5.large',
      'topology.kubernetes.io/zone': 'b',
    });
    expect(n.status.capacity).toEqual({
      cpu: '4',
      memory: '16Gi',
      pods: '110',
      'ephemeral-storage': '100Gi',
    });
    expect(n.status.allocatable).toEqual(n.status.capacity);
    expect(n.status.addresses).toEqual([
      { type: 'InternalIP', address: '10.240.0.5' },
      { type: 'Hostname', address: 'hollow-4' },
    ]);
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.32.0-k8ts');
    expect(n.status.nodeInfo.machineID).toMatch(/^[0-9a-f]{32}$/);
    expect(hollowNode('hollow-4', 4, shape, T).status.nodeInfo.machineID).toBe(n.status.nodeInfo.machineID);
    expect(hollowNode('hollow-5', 5, shape, T).status.nodeInfo.machineID).not.toBe(
      n.status.nodeInfo.machineID,
    );
    const ready = n.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady', lastHeartbeatTime: rfc3339(T) });
  });

  it('gives zones round robin and none without zones', () => {
    const zones = [0, 1, 2, 3].map(
      (i) => hollowNode(`n${i}`, i, shape, T).metadata.labels['topology.kubernetes.io/zone'],
    );
    expect(zones).toEqual(['a', 'b', 'c', 'a']);
    const n = hollowNode('n', 0, { ...shape, zones: [] }, T);
    expect(n.metadata.labels['topology.kubernetes.io/zone']).toBeUndefined();
    expect(n.metadata.labels['node.kubernetes.io/instance-type']).toBeUndefined();
  });
});

describe('healthyConditions', () => {
  it('moves the heartbeat and keeps the transition time of an unchanged status', () => {
    const first = healthyConditions(undefined, T);
    const later = healthyConditions(first, T + 60_000);
    const ready = later.find((c) => c.type === 'Ready')!;
    expect(ready.lastHeartbeatTime).toBe(rfc3339(T + 60_000));
    expect(ready.lastTransitionTime).toBe(rfc3339(T));
  });
  it('stamps a new transition time when the status was something else (Unknown)', () => {
    const prev = [{ type: 'Ready', status: 'Unknown', lastTransitionTime: rfc3339(T) }];
    const ready = healthyConditions(prev, T + 5000).find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'True', lastTransitionTime: rfc3339(T + 5000) });
  });
});

describe('hollowLease', () => {
  it('is owned by its node and renewed now', () => {
    const l = hollowLease({ metadata: { name: 'n1', uid: 'u1' } }, 40, T);
    expect(l.metadata).toMatchObject({
      name: 'n1',
      namespace: 'kube-node-lease',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u1' }],
    });
    expect(l.spec).toEqual({ holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: microTime(T) });
  });
});

describe('parseTaint', () => {
  it.each([
    ['dedicated=db:NoSchedule', { key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
    ['gpu:NoExecute', { key: 'gpu', effect: 'NoExecute' }],
    ['example.com/x=:PreferNoSchedule', { key: 'example.com/x', effect: 'PreferNoSchedule' }],
  ])('%s', (spec, want) => {
    expect(parseTaint(spec)).toEqual(want);
  });
  it.each(['dedicated=db', 'a:Sometimes', ':NoSchedule'])('refuses %s', (spec) => {
    expect(() => parseTaint(spec)).toThrow(/invalid taint/);
  });
  it('hollow nodes register with their taints', () => {
    const tainted = {
      cpu: '4',
      memory: '8Gi',
      pods: 110,
      arch: 'amd64',
      zones: [],
      taints: [parseTaint('a=b:NoSchedule')],
    };
    expect(hollowNode('n', 0, tainted, 0).spec).toEqual({
      taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }],
    });
  });
});
