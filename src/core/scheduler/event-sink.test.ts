import { describe, expect, it, vi } from 'vitest';
import { BoundedEventSink } from './event-sink.js';

const pod = (name: string) => ({ metadata: { namespace: 'ns', name, uid: name } });

describe('BoundedEventSink gate', () => {
  it('holds Scheduled events while bindings are pending, then writes them', async () => {
    const posted: string[] = [];
    let busy = true;
    const sink = new BoundedEventSink(
      async (_ns, ev) => {
        posted.push(ev.involvedObject.name);
      },
      { component: 'default-scheduler', gate: { busy: () => busy, maxDeferMs: 60_000 } },
    );
    sink.event(pod('a'), 'Normal', 'Scheduled', 'a');
    sink.event(pod('b'), 'Normal', 'Scheduled', 'b');
    await new Promise((r) => setTimeout(r, 50));
    expect(posted).toEqual([]);
    busy = false;
    await vi.waitFor(() => expect(posted).toEqual(['a', 'b']));
    expect(sink.pending()).toBe(0);
  });

  it('writes after maxDeferMs when bindings never stop', async () => {
    const posted: string[] = [];
    const sink = new BoundedEventSink(
      async (_ns, ev) => {
        posted.push(ev.involvedObject.name);
      },
      { component: 'default-scheduler', gate: { busy: () => true, maxDeferMs: 30 } },
    );
    sink.event(pod('a'), 'Normal', 'Scheduled', 'a');
    expect(posted).toEqual([]);
    await vi.waitFor(() => expect(posted).toEqual(['a']));
  });
});
