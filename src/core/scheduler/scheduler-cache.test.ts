import { describe, expect, it } from 'vitest';
import { podInfo } from './pod-info.js';
import { SchedulerCache } from './scheduler-cache.js';
import { testNode, testPod } from './test-objects.js';

describe('SchedulerCache', () => {
  it('assumes a pod, keeps it through unbound updates, confirms it from the watch', () => {
    const c = new SchedulerCache();
    c.setNode(testNode('n'));
    const pod = testPod('a', { cpu: '1' });
    c.assumePod(podInfo(pod), 'n');
    expect(c.node('n')?.requested.milliCpu).toBe(1000);
    // An update of the still-unbound pod (e.g. a status write) keeps the assumption.
    c.observePod({ ...pod, metadata: { ...pod.metadata, resourceVersion: '2' } });
    expect(c.isAssumed('default/a')).toBe(true);
    expect(c.node('n')?.requested.milliCpu).toBe(1000);
    c.observePod(testPod('a', { cpu: '1', nodeName: 'n' }));
    expect(c.isAssumed('default/a')).toBe(false);
    expect(c.node('n')?.podCount).toBe(1);
    expect(c.node('n')?.requested.milliCpu).toBe(1000);
    // Forgetting a confirmed pod does nothing.
    c.forgetPod('default/a');
    expect(c.node('n')?.podCount).toBe(1);
  });

  it('forgets an assumed pod whose binding failed', () => {
    const c = new SchedulerCache();
    c.setNode(testNode('n'));
    c.assumePod(podInfo(testPod('a', { cpu: '1' })), 'n');
    c.forgetPod('default/a');
    expect(c.node('n')?.requested.milliCpu).toBe(0);
    expect(c.podCount()).toBe(0);
  });

  it.each([
    ['Succeeded', 0],
    ['Failed', 0],
    ['Running', 1],
  ])('a bound pod in phase %s holds %d pods worth of resources', (phase, want) => {
    const c = new SchedulerCache();
    c.setNode(testNode('n'));
    c.observePod(testPod('a', { nodeName: 'n', phase: 'Running' }));
    c.observePod(testPod('a', { nodeName: 'n', phase }));
    expect(c.node('n')?.podCount).toBe(want);
  });

  it('keeps pods of an unknown node until the node arrives, and deletes', () => {
    const c = new SchedulerCache();
    c.observePod(testPod('a', { cpu: '1', nodeName: 'later' }));
    expect(c.nodeList()).toHaveLength(0);
    c.setNode(testNode('later'));
    expect(c.nodeList().map((n) => n.name)).toEqual(['later']);
    expect(c.node('later')?.requested.milliCpu).toBe(1000);
    c.deletePod(testPod('a', { nodeName: 'later' }));
    expect(c.node('later')?.podCount).toBe(0);
    c.removeNode('later');
    expect(c.nodeList()).toHaveLength(0);
  });
});
