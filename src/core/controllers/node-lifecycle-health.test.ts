import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import {
  type Clock,
  desiredTaints,
  NodeHealthTracker,
  nodeCondition,
  rfc3339,
  unknownConditions,
} from './node-lifecycle-health.js';

class FakeClock implements Clock {
  t = Date.parse('2025-01-01T00:00:00Z');
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function node(ready: string | undefined, heartbeat = '2025-01-01T00:00:00Z', extra: KObj = {}): KObj {
  const conditions = ready
    ? [
        { type: 'Ready', status: ready, reason: 'KubeletReady', lastHeartbeatTime: heartbeat },
        { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: heartbeat },
      ]
    : [];
  return {
    metadata: { name: 'n1', creationTimestamp: '2024-12-31T00:00:00Z' },
    spec: extra.spec ?? {},
    status: { conditions },
  };
}

const lease = (renew: string) => ({ spec: { renewTime: renew } });

describe('NodeHealthTracker', () => {
  const grace = 40_000;

  it('turns a silent node Unknown after the grace period, once', () => {
    const clock = new FakeClock();
    const t = new NodeHealthTracker({ clock, gracePeriodMs: grace, startupGracePeriodMs: 60_000 });
    const n = node('True');
    expect(t.check(n, lease('a'))).toEqual({ becameNotReady: false });
    clock.advance(grace);
    expect(t.check(n, lease('a'))).toEqual({ becameNotReady: false });
    clock.advance(1);
    const v = t.check(n, lease('a'));
    expect(v.becameNotReady).toBe(true);
    const ready = v.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: '2025-01-01T00:00:00Z',
      lastTransitionTime: rfc3339(clock.now()),
    });
    // Pods are marked not ready on the transition only.
    expect(t.check({ ...n, status: { conditions: v.conditions } }, lease('a')).becameNotReady).toBe(false);
  });

  it('a renewed Lease keeps the node healthy even with an old Ready heartbeat', () => {
    const clock = new FakeClock();
    const t = new NodeHealthTracker({ clock, gracePeriodMs: grace, startupGracePeriodMs: 60_000 });
    const n = node('True');
    t.check(n, lease('r0'));
    for (let i = 1; i <= 10; i++) {
      clock.advance(10_000);
      expect(t.check(n, lease(`r${i}`)).conditions).toBeUndefined();
    }
  });

  it('a changed Ready heartbeat counts as hearing from the node (no Lease)', () => {
    const clock = new FakeClock();
    const t = new NodeHealthTracker({ clock, gracePeriodMs: grace, startupGracePeriodMs: 60_000 });
    t.check(node('True', 'h0'), undefined);
    clock.advance(30_000);
    t.check(node('True', 'h1'), undefined);
    clock.advance(30_000);
    expect(t.check(node('True', 'h1'), undefined).conditions).toBeUndefined();
    clock.advance(20_000);
    expect(t.check(node('True', 'h1'), undefined).conditions).toBeDefined();
  });

  it('uses the startup grace for a node that never posted Ready', () => {
    const clock = new FakeClock();
    const t = new NodeHealthTracker({ clock, gracePeriodMs: grace, startupGracePeriodMs: 60_000 });
    const n = node(undefined);
    t.check(n, undefined);
    clock.advance(50_000);
    expect(t.check(n, undefined).conditions).toBeUndefined();
    clock.advance(10_001);
    const conds = t.check(n, undefined).conditions!;
    expect(conds.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'Unknown', 'NodeStatusNeverUpdated'],
      ['MemoryPressure', 'Unknown', 'NodeStatusNeverUpdated'],
      ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated'],
      ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated'],
    ]);
    expect(conds[0]!.lastHeartbeatTime).toBe('2024-12-31T00:00:00Z');
  });

  it('reports the kubelet posting Ready=False as a transition', () => {
    const clock = new FakeClock();
    const t = new NodeHealthTracker({ clock, gracePeriodMs: grace, startupGracePeriodMs: 60_000 });
    t.check(node('True', 'h0'), undefined);
    const v = t.check(node('False', 'h1'), undefined);
    expect(v).toEqual({ becameNotReady: true });
  });
});

describe('unknownConditions', () => {
  it('is undefined when everything is already Unknown', () => {
    const n = {
      metadata: { name: 'n' },
      status: {
        conditions: ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
          type,
          status: 'Unknown',
        })),
      },
    };
    expect(unknownConditions(n, 0)).toBeUndefined();
  });
  it('leaves other conditions alone', () => {
    const n = node('True');
    n.status.conditions.push({ type: 'NetworkUnavailable', status: 'False' });
    const out = unknownConditions(n, 0)!;
    expect(out.find((c) => c.type === 'NetworkUnavailable')?.status).toBe('False');
    expect(nodeCondition(n, 'Ready')?.status).toBe('True'); // input not mutated
  });
});

describe('desiredTaints', () => {
  const NOW = Date.parse('2025-01-01T00:01:00Z');
  const withConds = (conds: [string, string][], spec: KObj = {}) => ({
    metadata: { name: 'n' },
    spec,
    status: { conditions: conds.map(([type, status]) => ({ type, status })) },
  });
  const keys = (ts: KObj[] | undefined) => ts?.map((t) => `${t.key}:${t.effect}`);
  const cases: [string, KObj, string[] | undefined][] = [
    ['ready node: nothing to do', withConds([['Ready', 'True']]), undefined],
    [
      'Unknown: unreachable NoSchedule + NoExecute',
      withConds([['Ready', 'Unknown']]),
      ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'],
    ],
    [
      'False: not-ready NoSchedule + NoExecute',
      withConds([['Ready', 'False']]),
      ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
    ],
    [
      'recovered: managed taints removed, others kept',
      withConds([['Ready', 'True']], {
        taints: [
          { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'x' },
          { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
        ],
      }),
      ['dedicated:NoSchedule'],
    ],
    [
      'Unknown -> False swaps the taints',
      withConds([['Ready', 'False']], {
        taints: [
          { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'x' },
        ],
      }),
      ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
    ],
    [
      'pressure and unschedulable',
      withConds(
        [
          ['Ready', 'True'],
          ['MemoryPressure', 'True'],
          ['DiskPressure', 'False'],
        ],
        { unschedulable: true },
      ),
      ['node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule'],
    ],
    [
      'already tainted: unchanged',
      withConds([['Ready', 'Unknown']], {
        taints: [
          { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'x' },
        ],
      }),
      undefined,
    ],
  ];
  it.each(cases)('%s', (_n, n, want) => expect(keys(desiredTaints(n, NOW))).toEqual(want));

  it('stamps NoExecute taints with timeAdded and keeps an existing stamp', () => {
    const out = desiredTaints(withConds([['Ready', 'Unknown']]), NOW)!;
    expect(out.find((t) => t.effect === 'NoExecute')?.timeAdded).toBe('2025-01-01T00:01:00Z');
    expect(out.find((t) => t.effect === 'NoSchedule')?.timeAdded).toBeUndefined();
    const again = desiredTaints(
      withConds(
        [
          ['Ready', 'Unknown'],
          ['MemoryPressure', 'True'],
        ],
        { taints: out },
      ),
      NOW + 5000,
    )!;
    expect(again.find((t) => t.effect === 'NoExecute')?.timeAdded).toBe('2025-01-01T00:01:00Z');
  });
});
