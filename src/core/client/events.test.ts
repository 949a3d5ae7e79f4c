import { describe, expect, it, vi } from 'vitest';
import { EventRecorder } from './events.js';
import type { RestClient } from './rest-client.js';

/** A client whose requests stay pending until released, in order. */
function fakeClient() {
  const pending: { path: string; body: any; release: () => void }[] = [];
  const client = {
    request: (_method: string, path: string, opts: { body?: any } = {}) =>
      new Promise<Record<string, any>>((resolve) => {
        pending.push({ path, body: opts.body, release: () => resolve({}) });
      }),
  };
  return { client: client as unknown as RestClient, pending };
}

const pod = (name: string) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { namespace: 'ns', name, uid: name },
});

describe('EventRecorder', () => {
  it('writes at once without a bound or a gate', () => {
    const { client, pending } = fakeClient();
    const r = new EventRecorder(client, 'test');
    r.event(pod('a'), 'Normal', 'Started', 'one');
    r.event(pod('b'), 'Normal', 'Started', 'two');
    expect(pending.map((p) => p.body.involvedObject.name)).toEqual(['a', 'b']);
  });

  it('keeps at most maxInFlight writes in flight, the rest in order', async () => {
    const { client, pending } = fakeClient();
    const r = new EventRecorder(client, 'test', { maxInFlight: 1 });
    for (const n of ['a', 'b', 'c']) r.event(pod(n), 'Normal', 'Started', n);
    expect(pending).toHaveLength(1);
    expect(r.pending()).toBe(3);
    pending[0]!.release();
    await vi.waitFor(() => expect(pending).toHaveLength(2));
    expect(pending[1]!.body.involvedObject.name).toBe('b');
    pending[1]!.release();
    await vi.waitFor(() => expect(pending).toHaveLength(3));
    expect(pending[2]!.body.involvedObject.name).toBe('c');
  });

  it('holds events while the gate says busy, and writes them once it is quiet', async () => {
    const { client, pending } = fakeClient();
    let busy = true;
    const r = new EventRecorder(client, 'test', { gate: { busy: () => busy, maxDeferMs: 60_000 } });
    r.event(pod('a'), 'Normal', 'Started', 'a');
    await new Promise((res) => setTimeout(res, 50));
    expect(pending).toHaveLength(0);
    busy = false;
    await vi.waitFor(() => expect(pending).toHaveLength(1));
  });

  it('writes a held event after maxDeferMs even if the component never goes quiet', async () => {
    const { client, pending } = fakeClient();
    const r = new EventRecorder(client, 'test', { gate: { busy: () => true, maxDeferMs: 30 } });
    r.event(pod('a'), 'Normal', 'Started', 'a');
    expect(pending).toHaveLength(0);
    await vi.waitFor(() => expect(pending).toHaveLength(1));
  });

  it('drops events beyond its queue bound', () => {
    const { client } = fakeClient();
    const r = new EventRecorder(client, 'test', { maxInFlight: 1 });
    for (let i = 0; i < 1005; i++) r.event(pod(`p${i}`), 'Normal', 'Started', String(i));
    expect(r.pending()).toBe(1001);
    expect(r.dropped).toBe(4);
  });
});
