import { describe, expect, it, vi } from 'vitest';
import { resourceForPlural } from '../api/resources.js';
import { FakeClock } from './fake-clock.js';
import { Informer, type KObj, type ListWatchClient, waitForCacheSync } from './informer.js';
import { InformerFactory } from './informer-factory.js';
import { ApiStatusError, type RequestOptions, type WatchHandler } from './rest-client.js';

function pod(name: string, rv: number, labels: Record<string, string> = {}): KObj {
  return { metadata: { name, namespace: 'ns', resourceVersion: String(rv), labels } };
}

/** A fake API collection: a list (paged with `limit`/`continue`) and watches the test feeds by hand. */
class FakeApi implements ListWatchClient {
  objects = new Map<string, KObj>();
  rv = 100;
  lists: { limit: unknown; cont: unknown }[] = [];
  watches: { rv: unknown; onEvent: WatchHandler; onEnd: (err?: Error) => void }[] = [];
  failLists = 0;

  async request<T>(_method: string, _path: string, opts: RequestOptions = {}): Promise<T> {
    await Promise.resolve();
    this.lists.push({ limit: opts.query?.limit, cont: opts.query?.continue });
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error('connect ECONNREFUSED');
    }
    const all = [...this.objects.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const limit = Number(opts.query?.limit ?? 0) || all.length;
    const from = Number(opts.query?.continue ?? 0);
    const items = all.slice(from, from + limit);
    const more = from + limit < all.length;
    return {
      items,
      metadata: { resourceVersion: String(this.rv), ...(more ? { continue: String(from + limit) } : {}) },
    } as T;
  }

  watch(_path: string, query: RequestOptions['query'], onEvent: WatchHandler, onEnd: (err?: Error) => void) {
    let ended = false;
    // Like RestClient.watch: onEnd runs once, also when the watch is stopped.
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    const w = { rv: query?.resourceVersion, onEvent, onEnd: end };
    this.watches.push(w);
    return { stop: () => end() };
  }

  /** The watch in use. */
  get current() {
    return this.watches.at(-1)!;
  }

  set(o: KObj): void {
    this.objects.set(o.metadata.name, o);
    this.rv = Math.max(this.rv, Number(o.metadata.resourceVersion));
  }
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      add: (o: KObj) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
      update: (o: KObj, old: KObj) =>
        events.push(
          `update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`,
        ),
      delete: (o: KObj) => events.push(`delete ${o.metadata.name}`),
    },
  };
}

describe('Informer', () => {
  it('caches and delivers what the transform keeps, from the list and the watch', async () => {
    const api = new FakeApi();
    api.set({ ...pod('a', 90), spec: { containers: [{ name: 'c' }] } });
    const seen: KObj[] = [];
    const inf = new Informer(api, {
      path: '/api/v1/pods',
      handlers: { add: (o) => seen.push(o), update: (o) => seen.push(o) },
      transform: (o) => ({ metadata: o.metadata, kept: true }),
    });
    await inf.start();
    api.current.onEvent('MODIFIED', { ...pod('a', 101), spec: {} });
    expect(seen.map((o) => [o.metadata.resourceVersion, o.spec, o.kept])).toEqual([
      ['90', undefined, true],
      ['101', undefined, true],
    ]);
    expect(inf.list()).toEqual([{ metadata: pod('a', 101).metadata, kept: true }]);
    inf.stop();
  });

  it('lists in pages, watches from the list resourceVersion and applies events', async () => {
    const api = new FakeApi();
    for (const [i, n] of ['a', 'b', 'c'].entries()) api.set(pod(n, 90 + i));
    const r = recorder();
    const inf = new Informer(api, { path: '/api/v1/pods', handlers: r.handlers, pageSize: 2 });
    await inf.start();
    expect(api.lists).toEqual([
      { limit: 2, cont: undefined },
      { limit: 2, cont: '2' },
    ]);
    expect(r.events).toEqual(['add a@90', 'add b@91', 'add c@92']);
    expect(api.current.rv).toBe('100');
    api.current.onEvent('MODIFIED', pod('a', 101));
    api.current.onEvent('MODIFIED', pod('a', 101)); // same version: no event
    api.current.onEvent('ADDED', pod('d', 102));
    api.current.onEvent('BOOKMARK', { metadata: { resourceVersion: '150' } });
    api.current.onEvent('DELETED', pod('b', 151));
    expect(r.events.slice(3)).toEqual(['update a@90->101', 'add d@102', 'delete b']);
    expect(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'c', 'd']);
    // A watch that ends cleanly after a while is resumed from the last resourceVersion (the bookmark's).
    inf.stop();
  });

  it.each([
    {
      name: 'a 410 ERROR event',
      end: (api: FakeApi) => api.current.onEvent('ERROR', { kind: 'Status', code: 410 }),
    },
    {
      name: 'a 410 answer to the watch',
      end: (api: FakeApi) =>
        api.current.onEnd(new ApiStatusError(410, { kind: 'Status', code: 410, reason: 'Expired' }, '')),
    },
  ])('relists after $name and delivers the difference', async ({ end }) => {
    const clock = new FakeClock();
    const api = new FakeApi();
    api.set(pod('a', 1));
    api.set(pod('b', 2));
    const r = recorder();
    const inf = new Informer(api, { path: '/api/v1/pods', handlers: r.handlers, clock });
    await Promise.all([inf.start(), clock.advance(0)]);
    // While the watch is gone: b deleted, a changed, c created.
    api.objects.delete('b');
    api.set(pod('a', 300));
    api.set(pod('c', 301));
    end(api);
    await clock.advance(5000);
    expect(r.events).toEqual(['add a@1', 'add b@2', 'update a@1->300', 'add c@301', 'delete b']);
    expect(api.current.rv).toBe('301');
    expect(api.watches.length).toBe(2);
    inf.stop();
  });

  it('retries a failing list with growing delays', async () => {
    const clock = new FakeClock();
    const api = new FakeApi();
    api.failLists = 3;
    const inf = new Informer(api, { path: '/api/v1/pods', handlers: {}, clock, retryMs: 100 });
    void inf.start();
    const times: number[] = [];
    const t0 = clock.now();
    const orig = api.request.bind(api);
    api.request = async (m, p, o) => {
      times.push(clock.now() - t0);
      return orig(m, p, o);
    };
    await clock.advance(0);
    await clock.advance(2000);
    expect(times).toEqual([100, 300, 700]);
    expect(inf.hasSynced()).toBe(true);
    inf.stop();
  });

  it('keeps going when a handler throws, and logs the error once', async () => {
    const api = new FakeApi();
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen: string[] = [];
    const inf = new Informer(api, {
      path: '/api/v1/pods',
      handlers: {
        add: (o) => {
          seen.push(o.metadata.name);
          throw new Error('handler bug');
        },
      },
    });
    await inf.start();
    api.current.onEvent('ADDED', pod('x', 101));
    api.current.onEvent('ADDED', pod('y', 102));
    expect(seen).toEqual(['x', 'y']);
    expect(inf.list()).toHaveLength(2);
    expect(err).toHaveBeenCalledTimes(1);
    err.mockRestore();
    inf.stop();
  });
});

describe('InformerFactory', () => {
  const pods = resourceForPlural('', 'v1', 'pods')!;

  it('indexes, isolates handlers, and resyncs on its clock', async () => {
    const clock = new FakeClock();
    const api = new FakeApi();
    api.set(pod('a', 1, { app: 'web' }));
    api.set(pod('b', 2, { app: 'db' }));
    const f = new InformerFactory(api, { clock });
    const inf = f.informer(pods);
    inf.addIndex('app', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
    const good = recorder();
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    inf.addHandlers({
      update: () => {
        throw new Error('bad handler');
      },
    });
    inf.addHandlers(good.handlers, { resyncMs: 30_000 });
    const ok = f.startAndWait();
    await clock.advance(0);
    expect(await ok).toBe(true);
    expect(inf.byIndex('app', 'web').map((o) => o.metadata.name)).toEqual(['a']);
    api.current.onEvent('MODIFIED', pod('a', 5, { app: 'db' }));
    expect(inf.byIndex('app', 'web')).toEqual([]);
    expect(
      inf
        .byIndex('app', 'db')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(good.events).toEqual(['add a@1', 'add b@2', 'update a@1->5']);
    await clock.advance(30_000);
    expect(good.events.slice(3).sort()).toEqual(['update a@5->5', 'update b@2->2']);
    expect(err).toHaveBeenCalledTimes(1);
    err.mockRestore();
    f.stop();
    await clock.advance(60_000);
    expect(good.events).toHaveLength(5);
  });

  it('waitForCacheSync gives up when its signal aborts', async () => {
    const api = new FakeApi();
    api.failLists = 1_000_000;
    const clock = new FakeClock();
    const f = new InformerFactory(api, { clock });
    const inf = f.informer(pods);
    const ac = new AbortController();
    const p = f.startAndWait(ac.signal);
    await clock.advance(10_000);
    ac.abort();
    expect(await p).toBe(false);
    expect(await waitForCacheSync([inf], AbortSignal.abort())).toBe(false);
    f.stop();
  });
});
