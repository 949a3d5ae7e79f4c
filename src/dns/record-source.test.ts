import { describe, expect, it } from 'vitest';
import type { InformerHandlers, KObj } from '../core/client/informer.js';
import { RecordSource } from './record-source.js';
import { TYPE } from './wire.js';

class FakeInformer {
  objs = new Map<string, KObj>();
  handlers: InformerHandlers[] = [];
  synced = true;
  list() {
    return [...this.objs.values()];
  }
  addHandlers(h: InformerHandlers) {
    this.handlers.push(h);
  }
  hasSynced() {
    return this.synced;
  }
  set(o: KObj) {
    const k = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const old = this.objs.get(k);
    this.objs.set(k, o);
    for (const h of this.handlers) old ? h.update?.(o, old) : h.add?.(o);
  }
  del(o: KObj) {
    this.objs.delete(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    for (const h of this.handlers) h.delete?.(o);
  }
}

function setup() {
  const services = new FakeInformer();
  const slices = new FakeInformer();
  const namespaces = new FakeInformer();
  const queued: (() => void)[] = [];
  const source = new RecordSource(
    { services, slices, namespaces },
    { zone: 'cluster.local', ttl: 5, now: () => 1_000_000, schedule: (fn) => queued.push(fn) },
  );
  const flush = () => {
    for (const fn of queued.splice(0)) fn();
  };
  return { services, slices, namespaces, source, flush, queued };
}

describe('RecordSource', () => {
  it('coalesces a burst of events into one rebuild and swaps the index', () => {
    const t = setup();
    const swaps: number[] = [];
    t.source.onSwap = (_i, n) => swaps.push(n);
    const before = t.source.index;
    t.namespaces.set({ metadata: { name: 'default' } });
    t.services.set({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.5' } });
    t.services.set({ metadata: { name: 'api', namespace: 'default' }, spec: { clusterIP: '10.43.0.6' } });
    expect(t.queued).toHaveLength(1);
    expect(t.source.index).toBe(before);
    t.flush();
    expect(swaps).toEqual([3]);
    expect(t.source.index).not.toBe(before);
    expect(t.source.index.records('web.default.svc.cluster.local', TYPE.A).map((r) => r.data)).toEqual([
      '10.43.0.5',
    ]);
    expect(t.source.index.serial).toBeGreaterThan(before.serial);
  });

  it('follows updates and deletes of services and endpoint slices', () => {
    const t = setup();
    const svc = { metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None' } };
    const slice = (ips: string[]) => ({
      metadata: { name: 'db-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    });
    t.services.set(svc);
    t.slices.set(slice(['10.42.0.1']));
    t.flush();
    const a = () => t.source.index.records('db.default.svc.cluster.local', TYPE.A).map((r) => r.data);
    expect(a()).toEqual(['10.42.0.1']);
    t.slices.set(slice(['10.42.0.1', '10.42.0.2']));
    t.flush();
    expect(a()).toEqual(['10.42.0.1', '10.42.0.2']);
    t.slices.del(slice([]));
    t.flush();
    expect(a()).toEqual([]);
    t.services.del(svc);
    t.flush();
    expect(t.source.index.lookup('\x02db\x07default\x03svc\x07cluster\x05local', TYPE.A)?.rcode).toBe(3);
  });

  it('is synced only when every informer is', () => {
    const t = setup();
    expect(t.source.synced()).toBe(true);
    t.slices.synced = false;
    expect(t.source.synced()).toBe(false);
  });
});
