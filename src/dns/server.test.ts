import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestUpstream, type TestUpstream, udpModes } from '../../test/helpers/dns-upstream.js';
import { DnsCache } from './cache.js';
import { Forwarder } from './forwarder.js';
import { DnsMetrics } from './metrics.js';
import { RecordIndex } from './record-index.js';
import { buildRecords } from './records.js';
import { DnsServer } from './server.js';

const index = new RecordIndex(
  buildRecords(
    {
      services: [{ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.20' } }],
      slices: [],
      namespaces: ['default'],
    },
    { zone: 'cluster.local', ttl: 5 },
  ),
  { zone: 'cluster.local', ttl: 5, serial: 1 },
);

describe.each(udpModes())('over %s UDP', (mode) => {
  let upstream: TestUpstream;
  let stub: TestUpstream;
  let now = 1_000_000;
  let server: DnsServer;
  let metrics: DnsMetrics;

  beforeAll(async () => {
    upstream = await startTestUpstream([
      { name: 'www.example.com', type: 'A', ttl: 300, data: '192.0.2.1' },
      { name: 'short.example.com', type: 'A', ttl: 2, data: '192.0.2.2' },
      ...Array.from({ length: 30 }, (_, i) => ({
        name: 'big.example.com',
        type: 'A',
        data: `192.0.2.${i + 1}`,
      })),
    ]);
    stub = await startTestUpstream([{ name: 'db.corp.internal', type: 'A', data: '172.16.0.9' }]);
    metrics = new DnsMetrics({ server: 'dns://127.0.0.1:0', zone: 'cluster.local' });
    server = new DnsServer({
      host: '127.0.0.1',
      port: 0,
      udpMode: mode,
      source: { index },
      metrics,
      now: () => now,
      forwarder: new Forwarder({
        upstreams: [{ host: '127.0.0.1', port: upstream.port }],
        stubDomains: { 'corp.internal': [{ host: '127.0.0.1', port: stub.port }] },
        cache: new DnsCache(),
        now: () => now,
        timeoutMs: 1000,
      }),
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    await stub?.close();
  });

  function udpQuery(msg: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      const t = setTimeout(() => {
        s.close();
        resolve(undefined);
      }, 1500);
      s.on('message', (m) => {
        clearTimeout(t);
        s.close();
        resolve(m);
      });
      s.send(msg, server.port, '127.0.0.1');
    });
  }

  function q(name: string, type = 'A', opts: { id?: number; edns?: boolean } = {}): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id: opts.id ?? 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type: type as any, class: 'IN' }],
      additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as any] : [],
    });
  }

  async function ask(name: string, type = 'A', opts: { edns?: boolean } = {}) {
    const res = await udpQuery(q(name, type, opts));
    expect(res).toBeDefined();
    return dnsPacket.decode(res!);
  }

  /** Run `handle` directly and collect what it replies (synchronously or soon). */
  function handle(msg: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), 200);
      server.handle(msg, { tcp: false, v6: false }, (b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }

  describe('DnsServer', () => {
    it('answers cluster names over UDP', async () => {
      const p = await ask('web.default.svc.cluster.local');
      expect(p.answers!.map((a) => a.data)).toEqual(['10.43.0.20']);
    });

    it('forwards other names, then serves them from the cache with aged TTLs', async () => {
      const before = upstream.log.length;
      const p = await ask('www.example.com', 'A', { edns: true });
      expect(p.rcode).toBe('NOERROR');
      expect(p.flags! & dnsPacket.AUTHORITATIVE_ANSWER).toBe(0);
      expect(p.answers!.map((a) => [a.data, a.ttl])).toEqual([['192.0.2.1', 300]]);
      expect(p.additionals!.map((a) => a.type)).toEqual(['OPT']);
      now += 10_000;
      const again = await ask('WWW.Example.COM', 'A');
      expect(again.questions![0]!.name).toBe('WWW.Example.COM');
      expect(again.answers!.map((a) => [a.name.toLowerCase(), a.data, a.ttl])).toEqual([
        ['www.example.com', '192.0.2.1', 290],
      ]);
      expect(upstream.log.length).toBe(before + 1);
    });

    it('expires cached answers after their TTL', async () => {
      await ask('short.example.com');
      now += 3000;
      const before = upstream.log.length;
      await ask('short.example.com');
      expect(upstream.log.length).toBe(before + 1);
    });

    it('caches negative answers for the SOA minimum', async () => {
      const before = upstream.log.length;
      const p = await ask('nosuch.example.com');
      expect(p.rcode).toBe('NXDOMAIN');
      expect(p.authorities!.map((a) => a.type)).toEqual(['SOA']);
      now += 20_000;
      await ask('nosuch.example.com');
      expect(upstream.log.length).toBe(before + 1);
      now += 15_000; // 35 s > min(60, 30)
      await ask('nosuch.example.com');
      expect(upstream.log.length).toBe(before + 2);
    });

    it('retries a truncated upstream answer over TCP', async () => {
      upstream.truncateUdp = true;
      try {
        const p = await ask('big.example.com', 'A', { edns: true });
        expect(p.answers).toHaveLength(30);
        expect(upstream.log.slice(-2)).toEqual(['udp big.example.com A', 'tcp big.example.com A']);
      } finally {
        upstream.truncateUdp = false;
      }
    });

    it('truncates answers larger than the client takes (no EDNS: 512 bytes) to the records that fit, TC set', async () => {
      const full = await ask('big.example.com', 'A', { edns: true });
      expect(full.flags! & dnsPacket.TRUNCATED_RESPONSE).toBeFalsy();
      expect(full.answers).toHaveLength(30);
      const raw = await handle(q('big.example.com', 'A'));
      expect(raw!.length).toBeLessThanOrEqual(512);
      const p = dnsPacket.decode(raw!);
      expect(p.flags! & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
      // As many whole records as fit in 512 bytes, in the upstream's order, nothing else.
      expect(p.answers!.length).toBeGreaterThan(0);
      expect(p.answers!.length).toBeLessThan(30);
      expect(p.answers!.map((a) => a.data)).toEqual(
        full.answers!.slice(0, p.answers!.length).map((a) => a.data),
      );
      expect(p.authorities).toEqual([]);
      expect(p.additionals).toEqual([]);
      // One more record would not have fitted (the upstream's records are all the same size here).
      const head = q('big.example.com', 'A').length;
      const record = (raw!.length - head) / p.answers!.length;
      expect(Number.isInteger(record)).toBe(true);
      expect(raw!.length + record).toBeGreaterThan(512);
    });

    it('sends names below a stub domain to its servers', async () => {
      const p = await ask('db.corp.internal');
      expect(p.answers!.map((a) => a.data)).toEqual(['172.16.0.9']);
      expect(stub.log).toContain('udp db.corp.internal A');
    });

    it('answers SERVFAIL when no upstream answers', async () => {
      const dead = new DnsServer({
        host: '127.0.0.1',
        port: 0,
        source: { index },
        forwarder: new Forwarder({ upstreams: [], cache: new DnsCache() }),
      });
      const res = await new Promise<Buffer>((r) =>
        dead.handle(q('x.example.com'), { tcp: false, v6: false }, r),
      );
      expect(dnsPacket.decode(res).rcode).toBe('SERVFAIL');
    });

    it('slow path: malformed -> FORMERR, opcode -> NOTIMP, EDNS version -> BADVERS, responses dropped', async () => {
      const good = q('web.default.svc.cluster.local', 'A', { id: 99 });
      const garbage = Buffer.concat([good.subarray(0, 12), Buffer.from([200, 1, 2, 3])]);
      const fe = await handle(garbage);
      expect(fe!.readUInt16BE(0)).toBe(99);
      expect(fe![3]! & 0x0f).toBe(1);
      const notify = Buffer.from(good);
      notify[2] = (4 << 3) | 0; // opcode NOTIFY
      expect((await handle(notify))![3]! & 0x0f).toBe(4);
      const v1 = dnsPacket.encode({
        type: 'query',
        id: 5,
        questions: [{ name: 'a.b', type: 'A', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1 } as any],
      });
      const bad = dnsPacket.decode((await handle(v1))!);
      expect((bad.additionals![0] as any).extendedRcode).toBe(1);
      const response = Buffer.from(good);
      response[2]! |= 0x80;
      expect(await handle(response)).toBeUndefined();
      expect(await handle(Buffer.from([1, 2, 3]))).toBeUndefined();
    });

    it('slow path: two questions -> FORMERR, CHAOS class -> REFUSED, a pointer loop -> FORMERR', async () => {
      const two = dnsPacket.encode({
        type: 'query',
        id: 3,
        questions: [
          { name: 'a.cluster.local', type: 'A', class: 'IN' },
          { name: 'b.cluster.local', type: 'A', class: 'IN' },
        ],
      });
      expect((await handle(two))![3]! & 0x0f).toBe(1);
      const ch = dnsPacket.encode({
        type: 'query',
        id: 3,
        questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }],
      });
      const refused = dnsPacket.decode((await handle(ch))!);
      expect(refused.rcode).toBe('REFUSED');
      expect(refused.questions![0]!.name).toBe('version.bind');
      // a question whose name points at itself
      const ptr = Buffer.from(q('web.default.svc.cluster.local'));
      const withPtr = Buffer.concat([
        ptr.subarray(0, 12),
        Buffer.from([0xc0, 0x0c]),
        ptr.subarray(ptr.length - 4),
      ]);
      const r = await handle(withPtr);
      expect(r![3]! & 0x0f).toBe(1);
    });

    it('exports CoreDNS-named metrics', async () => {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(
        /coredns_dns_requests_total\{server="dns:\/\/127.0.0.1:0",zone="cluster.local.",view="",proto="udp",family="1",type="A"\} \d+/,
      );
      expect(text).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="forward"\} \d+/);
      expect(text).toMatch(/coredns_dns_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
      expect(text).toMatch(/coredns_cache_hits_total\{server="[^"]+",type="success",zones=".",view=""\} \d+/);
      expect(text).toMatch(/coredns_cache_misses_total\{[^}]*\} \d+/);
    });
  });

  it('records one duration per UDP response (batch answers: the batch time)', async () => {
    const sample = async () => {
      const text = await metrics.registry.metrics();
      const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return {
        durations: num(
          /coredns_dns_request_duration_seconds_count\{[^}]*zone="cluster.local\.",[^}]*type="A"\} (\d+)/,
        ),
        responses: num(
          /coredns_dns_responses_total\{[^}]*zone="cluster.local\.",[^}]*rcode="NOERROR",plugin="kubernetes"\} (\d+)/,
        ),
      };
    };
    const before = await sample();
    const got = await Promise.all(
      Array.from({ length: 40 }, () => udpQuery(q('web.default.svc.cluster.local'))),
    );
    expect(got.every((r) => r !== undefined)).toBe(true);
    const after = await sample();
    expect(after.responses - before.responses).toBe(40);
    expect(after.durations - before.durations).toBe(40);
  });

  it('reads UDP the requested way', () => {
    expect(server.udpKind).toBe(mode);
  });
});
