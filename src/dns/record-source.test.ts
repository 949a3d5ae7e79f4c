import dnsPacket from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { describe, expect, it } from 'vitest';
import type { InformerHandlers, KObj } from '../core/client/informer.js';
import { RecordIndex } from './record-index.js';
import { RecordSource } from './record-source.js';
import { buildRecords } from './records.js';
import { renderAnswer } from './responder.js';
import { keyToName, nameKey, QueryView, TYPE } from './wire.js';

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
  return setupWith({});
}

function setupWith(o: { pods?: 'insecure' | 'verified' | 'disabled'; podsInformer?: FakeInformer }) {
  const services = new FakeInformer();
  const slices = new FakeInformer();
  const namespaces = new FakeInformer();
  const queued: (() => void)[] = [];
  const source = new RecordSource(
    { services, slices, namespaces, pods: o.podsInformer },
    {
      zone: 'cluster.local',
      ttl: 5,
      now: () => 1_000_000,
      schedule: (fn) => queued.push(fn),
      pods: o.pods,
    },
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

/** A seeded PRNG (mulberry32), so a failing sequence can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const QTYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'NS', 'SOA', 'ANY'] as const;

/** Rcode, flags and every section of the rendered answer, each section sorted (order is free). */
function answerOf(index: RecordIndex, name: string, type: string): string {
  const query = dnsPacket.encode({
    type: 'query',
    id: 7,
    questions: [{ type: type as any, name, class: 'IN' }],
  });
  const q = new QueryView();
  if (!q.parse(query)) throw new Error(`unparsable query ${name} ${type}`);
  const a = index.lookup(q.key, q.qtype);
  if (!a) return 'forward';
  const p = dnsPacket.decode(
    renderAnswer(a, query, { qlen: q.qlen, hasOpt: false, maxSize: 65535, serial: index.serial }),
  );
  const rr = (list: any[] | undefined) =>
    (list ?? []).map((r) => `${r.name} ${r.ttl} ${r.type} ${JSON.stringify(r.data)}`).sort();
  return JSON.stringify([
    p.rcode,
    p.flags,
    a.chase ?? '',
    rr(p.answers),
    rr(p.authorities),
    rr(p.additionals),
  ]);
}

describe('RecordSource incremental updates equal a full rebuild (randomized model test)', () => {
  const zone = 'cluster.local';
  const nss = ['a', 'b', 'c'];
  const svcNames = ['s0', 's1', 's2', 's3'];
  const ips4 = ['10.42.0.1', '10.42.0.2', '10.42.0.3', '10.42.0.4', '10.43.0.1', '10.43.0.2'];
  const ips6 = ['fd00::1', 'fd00::2'];
  const hostnames = ['h0', 'h1', ''];

  function randomService(r: ReturnType<typeof rng>, ns: string, name: string): KObj {
    const ports =
      r.int(3) === 0
        ? []
        : [{ name: r.pick(['http', 'dns', '']), port: 80 + r.int(3), protocol: r.pick(['TCP', 'UDP']) }];
    const named = ports.map((p) => (p.name ? p : { port: p.port, protocol: p.protocol }));
    switch (r.int(4)) {
      case 0:
        return { metadata: { name, namespace: ns }, spec: { clusterIP: r.pick(ips4), ports: named } };
      case 1:
        return {
          metadata: { name, namespace: ns },
          spec: { clusterIP: r.pick(ips4), clusterIPs: [r.pick(ips4), r.pick(ips6)], ports: named },
        };
      case 2: {
        const target = r.pick([
          `${r.pick(svcNames)}.${r.pick(nss)}.svc.${zone}`,
          `h0.${r.pick(svcNames)}.${r.pick(nss)}.svc.${zone}`,
          'www.example.com.',
          `${r.pick(nss)}.svc.${zone}`,
        ]);
        return { metadata: { name, namespace: ns }, spec: { type: 'ExternalName', externalName: target } };
      }
      default:
        return {
          metadata: { name, namespace: ns },
          spec: { clusterIP: 'None', ports: named, publishNotReadyAddresses: r.int(4) === 0 },
        };
    }
  }

  function randomSlice(r: ReturnType<typeof rng>, ns: string, name: string): KObj {
    const v6 = r.int(4) === 0;
    const endpoints = Array.from({ length: r.int(4) }, () => ({
      addresses: [r.pick(v6 ? ips6 : ips4)],
      ...(r.pick(hostnames) ? { hostname: r.pick(hostnames.slice(0, 2)) } : {}),
      conditions: { ready: r.int(3) !== 0 },
    }));
    return {
      metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': r.pick(svcNames) } },
      addressType: v6 ? 'IPv6' : 'IPv4',
      ports: [{ name: r.pick(['http', 'pg']), port: 5432 + r.int(2), protocol: 'TCP' }],
      endpoints,
    };
  }

  /** Names worth asking: every name of either index, their children that do not exist, pod names. */
  function probes(a: RecordIndex, b: RecordIndex): string[] {
    const names = new Set<string>();
    for (const k of [...a.names(), ...b.names()]) names.add(keyToName(k));
    for (const ns of nss) {
      names.add(`10-42-0-1.${ns}.pod.${zone}`);
      names.add(`nope.${ns}.svc.${zone}`);
      for (const s of svcNames) names.add(`_http._tcp.${s}.${ns}.svc.${zone}`);
    }
    return [...names];
  }

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 150 random changes, answers equal the full builder's after each update`, () => {
      const r = rng(seed);
      const t = setup();
      const check = () => {
        const full = new RecordIndex(
          buildRecords(
            {
              services: t.services.list() as Service[],
              slices: t.slices.list() as EndpointSlice[],
              namespaces: t.namespaces.list().map((n) => n.metadata.name),
            },
            { zone, ttl: 5 },
          ),
          { zone, ttl: 5, serial: t.source.index.serial },
        );
        const inc = t.source.index;
        expect(inc.names().sort()).toEqual(full.names().sort());
        const want: string[] = [];
        const got: string[] = [];
        for (const name of probes(inc, full))
          for (const type of QTYPES) {
            got.push(`${name} ${type} ${answerOf(inc, name, type)}`);
            want.push(`${name} ${type} ${answerOf(full, name, type)}`);
          }
        expect(got).toEqual(want);
      };
      for (let step = 0; step < 150; step++) {
        for (let burst = 1 + r.int(3); burst > 0; burst--) {
          const ns = r.pick(nss);
          const op = r.int(10);
          if (op < 3) t.services.set(randomService(r, ns, r.pick(svcNames)));
          else if (op < 4) {
            const o = t.services.objs.get(`${ns}/${r.pick(svcNames)}`);
            if (o) t.services.del(o);
          } else if (op < 7) t.slices.set(randomSlice(r, ns, `x${r.int(4)}`));
          else if (op < 8) {
            const o = t.slices.objs.get(`${ns}/x${r.int(4)}`);
            if (o) t.slices.del(o);
          } else if (op < 9) t.namespaces.set({ metadata: { name: ns } });
          else {
            const o = t.namespaces.objs.get(`/${ns}`);
            if (o) t.namespaces.del(o);
          }
        }
        // Warm some answer caches of the current index, so stale shared answers would show.
        for (let i = 0; i < 5; i++) {
          const names = t.source.index.names();
          if (names.length) answerOf(t.source.index, keyToName(r.pick(names)), r.pick(QTYPES));
        }
        t.flush();
        if (step % 5 === 0 || step === 149) check();
      }
    });
  }
});

describe('RecordSource pods verified', () => {
  function podObj(name: string, ip: string | undefined): KObj {
    return { metadata: { name, namespace: 'default' }, status: ip ? { podIP: ip, podIPs: [{ ip }] } : {} };
  }
  const rcode = (s: RecordSource, name: string, type: number = TYPE.A) =>
    s.index.lookup(nameKey(name), type)?.rcode;

  it('answers a pod name only while a pod has that IP in that namespace', () => {
    const pods = new FakeInformer();
    const t = setupWith({ pods: 'verified', podsInformer: pods });
    t.namespaces.set({ metadata: { name: 'default' } });
    t.namespaces.set({ metadata: { name: 'other' } });
    pods.set(podObj('p', undefined)); // no IP yet
    t.flush();
    expect(rcode(t.source, '10-42-0-7.default.pod.cluster.local')).toBe(3);
    pods.set(podObj('p', '10.42.0.7'));
    t.flush();
    expect(t.source.index.records('10-42-0-7.default.pod.cluster.local', TYPE.A).map((r) => r.data)).toEqual([
      '10.42.0.7',
    ]);
    expect(rcode(t.source, '10-42-0-7.default.pod.cluster.local', TYPE.AAAA)).toBe(0); // NODATA
    expect(rcode(t.source, '10-42-0-8.default.pod.cluster.local')).toBe(3);
    expect(rcode(t.source, '10-42-0-7.other.pod.cluster.local')).toBe(3);
    pods.set(podObj('p', '10.42.0.8')); // the pod got another IP (a restart elsewhere)
    t.flush();
    expect(rcode(t.source, '10-42-0-7.default.pod.cluster.local')).toBe(3);
    expect(rcode(t.source, '10-42-0-8.default.pod.cluster.local')).toBe(0);
    pods.del(podObj('p', '10.42.0.8'));
    t.flush();
    expect(rcode(t.source, '10-42-0-8.default.pod.cluster.local')).toBe(3);
    // The namespace's own name still exists (NODATA), as in insecure mode.
    expect(rcode(t.source, 'default.pod.cluster.local')).toBe(0);
  });

  it('insecure (the default) answers any IP in an existing namespace; disabled none', () => {
    const insecure = setupWith({});
    const disabled = setupWith({ pods: 'disabled' });
    for (const t of [insecure, disabled]) {
      t.namespaces.set({ metadata: { name: 'default' } });
      t.flush();
    }
    expect(rcode(insecure.source, '10-42-0-9.default.pod.cluster.local')).toBe(0);
    expect(rcode(disabled.source, '10-42-0-9.default.pod.cluster.local')).toBe(3);
  });

  it('refuses verified mode without a pod informer', () => {
    expect(() => setupWith({ pods: 'verified' })).toThrow(/pod informer/);
  });
});
