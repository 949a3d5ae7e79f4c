import { describe, expect, it } from 'vitest';
import { EndpointsChangeTracker, ServiceChangeTracker } from './change-tracker.js';
import { ProxyState } from './proxy-state.js';
import { slice, svc } from './testing/fixtures.js';

describe('ServiceChangeTracker', () => {
  it('an add then delete before a sync cancels out', () => {
    const t = new ServiceChangeTracker();
    const s = svc();
    t.update(undefined, s);
    t.update(s, undefined);
    expect(t.pendingCount()).toBe(0);
    expect(t.checkout(new ProxyState()).changed.size).toBe(0);
  });

  it('an update that changes nothing the proxy reads is no change', () => {
    const t = new ServiceChangeTracker();
    const a = svc();
    const b = { ...svc(), metadata: { ...a.metadata, labels: { x: 'y' } } };
    t.update(a, b);
    expect(t.pendingCount()).toBe(0);
  });

  it('checkout folds ports in and reports removed ones', () => {
    const t = new ServiceChangeTracker();
    const state = new ProxyState();
    const two = svc({
      ports: [
        { name: 'a', port: 1 },
        { name: 'b', port: 2 },
      ],
    });
    t.update(undefined, two);
    expect([...t.checkout(state).changed]).toEqual(['default/web']);
    expect([...state.portsOf('default/web')]).toEqual(['default/web:a/TCP', 'default/web:b/TCP']);
    const one = svc({ ports: [{ name: 'a', port: 1 }] });
    t.update(two, one);
    const ch = t.checkout(state);
    expect(ch.removed.map((p) => p.name)).toEqual(['default/web:b']);
    expect([...state.services.keys()]).toEqual(['default/web:a/TCP']);
  });
});

describe('EndpointsChangeTracker', () => {
  it('merges the slices of a service, deduplicating by ip:port and preferring the ready copy', () => {
    const t = new EndpointsChangeTracker();
    const state = new ProxyState();
    t.update(slice(['10.0.0.1', { ip: '10.0.0.2', ready: false }], { name: 's1' }));
    t.update(slice(['10.0.0.2', '10.0.0.3'], { name: 's2' }));
    t.checkout(state);
    expect(state.endpoints.get('default/web:http/TCP')!.map((e) => [e.ip, e.ready])).toEqual([
      ['10.0.0.1', true],
      ['10.0.0.2', true],
      ['10.0.0.3', true],
    ]);
  });

  it('a slice moved between names without content change is no change', () => {
    const t = new EndpointsChangeTracker();
    const state = new ProxyState();
    t.update(slice(['10.0.0.1'], { name: 's1' }));
    t.checkout(state);
    t.update(slice(['10.0.0.1'], { name: 's2' }));
    t.update(slice([], { name: 's1' }), { removed: true });
    expect(t.checkout(state).changed.size).toBe(0);
  });

  it('reports UDP endpoints that went away and UDP ports that got their first endpoint', () => {
    const t = new EndpointsChangeTracker();
    const state = new ProxyState();
    const ports = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];
    t.update(slice([], { ports }));
    t.checkout(state);
    t.update(slice(['10.0.0.1', '10.0.0.2'], { ports }));
    expect(t.checkout(state).newlyActiveUdp).toEqual(['default/web:dns/UDP']);
    t.update(slice(['10.0.0.2'], { ports }));
    const ch = t.checkout(state);
    expect(ch.staleEndpoints.map((s) => s.endpoint.ip)).toEqual(['10.0.0.1']);
    expect(ch.newlyActiveUdp).toEqual([]);
  });

  it('keeps the oldest trigger time of the changes it batches', () => {
    const t = new EndpointsChangeTracker();
    t.update(slice(['10.0.0.1'], { triggerTime: '2026-01-01T00:00:05Z' }));
    t.update(slice(['10.0.0.2'], { triggerTime: '2026-01-01T00:00:03Z' }));
    expect(t.checkout(new ProxyState()).triggerTimes).toEqual([Date.parse('2026-01-01T00:00:03Z')]);
  });
});
