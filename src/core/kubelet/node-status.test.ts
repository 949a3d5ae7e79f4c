import { describe, expect, it } from 'vitest';
import { type MachineInfo, nodeConditions, nodeLease, nodeObject } from './node-status.js';

const m: MachineInfo = {
  cpus: 2,
  memoryBytes: 8 * 1024 ** 3,
  memoryAvailableBytes: 4 * 1024 ** 3,
  diskBytes: 100 * 1024 ** 3,
  diskAvailableBytes: 50 * 1024 ** 3,
  processes: 300,
  pidMax: 32768,
  arch: 'x64',
  kernelVersion: '6.1.0',
  osImage: 'Debian',
  machineId: 'abc',
  bootId: 'def',
};
const T = Date.UTC(2026, 0, 1);

describe('node object', () => {
  it('capacity, labels, addresses, daemon endpoint', () => {
    const n = nodeObject(
      {
        name: 'n1',
        address: '192.0.2.5',
        kubeletPort: 10250,
        labels: { 'node-role.kubernetes.io/control-plane': 'true' },
      },
      m,
      T,
    );
    expect(n.status.capacity).toEqual({
      cpu: '2',
      memory: '8388608Ki',
      pods: '110',
      'ephemeral-storage': '104857600Ki',
    });
    expect(n.status.allocatable).toEqual(n.status.capacity);
    expect(n.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'n1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/control-plane': 'true',
    });
    expect(n.status.addresses).toEqual([
      { type: 'InternalIP', address: '192.0.2.5' },
      { type: 'Hostname', address: 'n1' },
    ]);
    expect(n.status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
  });
  it.each([
    ['healthy', {}, { MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', Ready: 'True' }],
    ['memory', { memoryAvailableBytes: 50 * 1024 ** 2 }, { MemoryPressure: 'True' }],
    ['disk', { diskAvailableBytes: 5 * 1024 ** 3 }, { DiskPressure: 'True' }],
    ['pids', { processes: 32000 }, { PIDPressure: 'True' }],
  ])('conditions: %s', (_n, over, want) => {
    const conds = nodeConditions({ ...m, ...over }, undefined, T);
    expect(Object.fromEntries(conds.map((c) => [c.type, c.status]))).toMatchObject(want);
  });
  it('keeps lastTransitionTime while the status holds, moves the heartbeat', () => {
    const first = nodeConditions(m, undefined, T);
    const second = nodeConditions(m, first, T + 60_000);
    expect(second[0]!.lastTransitionTime).toBe(first[0]!.lastTransitionTime);
    expect(second[0]!.lastHeartbeatTime).not.toBe(first[0]!.lastHeartbeatTime);
  });
  it('lease owned by the node', () => {
    const l = nodeLease({ metadata: { name: 'n1', uid: 'u' } }, 40, T);
    expect(l.metadata).toMatchObject({
      name: 'n1',
      namespace: 'kube-node-lease',
      ownerReferences: [{ kind: 'Node', uid: 'u' }],
    });
    expect(l.spec).toEqual({
      holderIdentity: 'n1',
      leaseDurationSeconds: 40,
      renewTime: '2026-01-01T00:00:00.000000Z',
    });
  });
});
