import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { needsScheduling, nodeChangeMatters, Scheduler, type SchedulerApi } from './scheduler.js';
import { testNode, testPod } from './test-objects.js';

/** A fake API: bindings succeed (or fail with a status) and are recorded. */
function fakeApi(fail: (pod: KObj) => number | undefined = () => undefined) {
  const bound = new Map<string, string>();
  const unschedulable = new Map<string, string>();
  const events: string[] = [];
  const api: SchedulerApi = {
    async bind(pod, nodeName) {
      const code = fail(pod);
      if (code) throw Object.assign(new Error(`HTTP ${code}`), { httpStatus: code });
      bound.set(pod.metadata.name, nodeName);
    },
    async markUnschedulable(pod, message) {
      unschedulable.set(pod.metadata.name, message);
    },
    event(pod, type, reason, message) {
      events.push(`${type} ${reason} ${pod.metadata.name}: ${message}`);
    },
  };
  return { api, bound, unschedulable, events };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('needsScheduling / nodeChangeMatters', () => {
  it.each([
    ['unbound default-scheduler pod', testPod('a'), true],
    ['bound pod', testPod('a', { nodeName: 'n' }), false],
    ['other scheduler', { ...testPod('a'), spec: { ...testPod('a').spec, schedulerName: 'mine' } }, false],
    [
      'terminating',
      { ...testPod('a'), metadata: { ...testPod('a').metadata, deletionTimestamp: 'x' } },
      false,
    ],
    ['finished', testPod('a', { phase: 'Succeeded' }), false],
  ])('%s -> %s', (_n, pod, want) => expect(needsScheduling(pod)).toBe(want));

  it.each([
    [
      'heartbeat only',
      { ...testNode('n'), status: { ...testNode('n').status, conditions: [{ type: 'Ready' }] } },
      false,
    ],
    ['labels', testNode('n', { labels: { a: 'b' } }), true],
    ['taints', testNode('n', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), true],
    ['cordon', testNode('n', { unschedulable: true }), true],
    ['allocatable', testNode('n', { cpu: '8' }), true],
  ])('node change %s -> %s', (_n, node, want) => expect(nodeChangeMatters(node, testNode('n'))).toBe(want));
});

describe('Scheduler', () => {
  it('binds pods, counting assumed pods in the next decision', async () => {
    const f = fakeApi();
    const s = new Scheduler({ api: f.api, random: () => 0.5 });
    s.onNodeAdd(testNode('a', { cpu: '1' }));
    s.onNodeAdd(testNode('b', { cpu: '1' }));
    // Three 600m pods: two fit (one per node, thanks to the assumed first one), the third fits nowhere.
    for (const n of ['p1', 'p2', 'p3']) s.onPodAdd(testPod(n, { cpu: '600m' }));
    s.start();
    await s.whenIdle();
    await settle();
    s.stop();
    expect(new Set([f.bound.get('p1'), f.bound.get('p2')])).toEqual(new Set(['a', 'b']));
    expect(f.bound.has('p3')).toBe(false);
    expect(f.unschedulable.get('p3')).toBe(
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    );
    expect(f.events).toContain(
      `Normal Scheduled p1: Successfully assigned default/p1 to ${f.bound.get('p1')}`,
    );
    expect(f.events.some((e) => e.startsWith('Warning FailedScheduling p3: 0/2 nodes'))).toBe(true);
    expect(s.queue.whereIs('default/p3')).toBe('unschedulable');
  });

  it('re-queues an unschedulable pod when a fitting node arrives', async () => {
    let t = 0;
    const f = fakeApi();
    const s = new Scheduler({ api: f.api, now: () => t });
    s.onNodeAdd(testNode('small', { cpu: '1' }));
    s.onPodAdd(testPod('big', { cpu: '2' }));
    s.start();
    await s.whenIdle();
    expect(f.bound.has('big')).toBe(false);
    t += 1500; // past the first 1 s backoff
    s.onNodeAdd(testNode('large', { cpu: '4' }));
    await settle();
    await s.whenIdle();
    s.stop();
    expect(f.bound.get('big')).toBe('large');
  });

  it('a failed binding is forgotten and retried after backoff; a 409 is dropped', async () => {
    let t = 0;
    let failures = 1;
    const f = fakeApi((pod) => {
      if (pod.metadata.name === 'gone') return 409;
      if (failures > 0) {
        failures--;
        return 500;
      }
      return undefined;
    });
    const s = new Scheduler({ api: f.api, now: () => t, log: () => {} });
    s.onNodeAdd(testNode('n', { cpu: '2' }));
    s.onPodAdd(testPod('a', { cpu: '1' }));
    s.onPodAdd(testPod('gone', { cpu: '100m' }));
    s.start();
    await s.whenIdle();
    await settle();
    expect(s.cache.node('n')?.podCount).toBe(0); // both assumptions undone
    expect(s.queue.whereIs('default/a')).toBe('backoff');
    expect(s.queue.has('default/gone')).toBe(false);
    t += 1000;
    s.queue.flushBackoff();
    await settle();
    await s.whenIdle();
    s.stop();
    expect(f.bound.get('a')).toBe('n');
  });

  it('frees resources when a bound pod is deleted and retries waiting pods', async () => {
    let t = 0;
    const f = fakeApi();
    const s = new Scheduler({ api: f.api, now: () => t });
    s.onNodeAdd(testNode('n', { cpu: '1' }));
    const old = testPod('old', { cpu: '1', nodeName: 'n' });
    s.onPodAdd(old);
    s.onPodAdd(testPod('new', { cpu: '1' }));
    s.start();
    await s.whenIdle();
    expect(f.bound.has('new')).toBe(false);
    t += 2000;
    s.onPodDelete(old);
    await settle();
    await s.whenIdle();
    s.stop();
    expect(f.bound.get('new')).toBe('n');
  });
});
