import { describe, expect, it } from 'vitest';
import { podInfo } from './pod-info.js';
import { SchedulingQueue } from './scheduling-queue.js';
import { testPod } from './test-objects.js';

function setup() {
  let t = 0;
  let wakes = 0;
  const q = new SchedulingQueue({ now: () => t, onActive: () => wakes++ });
  return {
    q,
    advance: (ms: number) => (t += ms),
    wakes: () => wakes,
  };
}

const info = (name: string, o: Parameters<typeof testPod>[1] = {}) => podInfo(testPod(name, o));

describe('SchedulingQueue', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 10_000],
    [9, 10_000],
  ])('backoff after %d attempts is %d ms', (n, want) =>
    expect(new SchedulingQueue().backoffDuration(n)).toBe(want),
  );

  it('pops higher priority first, then oldest', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    advance(1);
    q.add(info('b', { priority: 10 }));
    advance(1);
    q.add(info('c'));
    expect([q.pop()?.info.name, q.pop()?.info.name, q.pop()?.info.name, q.pop()]).toEqual([
      'b',
      'a',
      'c',
      undefined,
    ]);
  });

  it('parks unschedulable pods until a cluster event, honouring the backoff', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    q.pop();
    q.requeueUnschedulable('default/a');
    expect(q.whereIs('default/a')).toBe('unschedulable');
    q.flushBackoff();
    expect(q.pop()).toBeUndefined();
    // An event within the 1 s backoff goes to the backoff queue...
    advance(500);
    q.moveAllToActiveOrBackoff();
    expect(q.whereIs('default/a')).toBe('backoff');
    q.flushBackoff();
    expect(q.pop()).toBeUndefined();
    // ...and becomes active once it has passed.
    advance(600);
    q.flushBackoff();
    const again = q.pop();
    expect(again?.info.name).toBe('a');
    expect(again?.attempts).toBe(2);
    // Second failure: 2 s backoff; an event after it moves straight to active.
    q.requeueUnschedulable('default/a');
    advance(2500);
    q.moveAllToActiveOrBackoff();
    expect(q.whereIs('default/a')).toBe('active');
  });

  it('retries leftover unschedulable pods after the maximum wait', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    q.pop();
    q.requeueUnschedulable('default/a');
    advance(60_000);
    q.flushUnschedulableLeftover();
    expect(q.whereIs('default/a')).toBe('unschedulable');
    advance(5 * 60_000);
    q.flushUnschedulableLeftover();
    expect(q.whereIs('default/a')).toBe('active');
  });

  it('a relevant pod update moves an unschedulable pod; a status-only one does not', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    q.pop();
    q.requeueUnschedulable('default/a');
    advance(5000);
    q.update(info('a'), false);
    expect(q.whereIs('default/a')).toBe('unschedulable');
    q.update(info('a', { cpu: '1' }), true);
    expect(q.whereIs('default/a')).toBe('active');
    expect(q.pop()?.info.requests.milliCpu).toBe(1000);
  });

  it('bind errors back off; deleted pods vanish; done removes', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    q.add(info('b'));
    q.pop();
    q.requeueBackoff('default/a');
    expect(q.whereIs('default/a')).toBe('backoff');
    q.delete('default/b');
    expect(q.pop()).toBeUndefined();
    advance(1000);
    q.flushBackoff();
    expect(q.pop()?.info.name).toBe('a');
    q.done('default/a');
    expect(q.stats()).toEqual({ active: 0, backoff: 0, unschedulable: 0, total: 0 });
  });

  it('a re-created pod (new uid) starts over', () => {
    const { q } = setup();
    q.add(info('a'));
    q.pop();
    q.requeueUnschedulable('default/a');
    q.add(info('a', { uid: 'other' }));
    expect(q.whereIs('default/a')).toBe('active');
    expect(q.pop()?.attempts).toBe(1);
  });

  it('wakes the loop when a pod becomes active', () => {
    const { q, wakes } = setup();
    q.add(info('a'));
    expect(wakes()).toBe(1);
  });
});
