/**
 * Cluster DNS end to end: a real `k8ts server`, objects created through the API, the standalone
 * `k8ts dns` fed from it (forwarding to a loopback upstream started here), and the real dig.
 * Also the `dns` component of `k8ts server` in rootless mode.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIG, data, dig, digUntil } from './helpers/dig.js';
import { startTestUpstream, type TestUpstream } from './helpers/dns-upstream.js';
import { adminClient, type TestClient } from './helpers/rest.js';
import { CLI, cleanup, kubectlOk, type RunningServer, requireTool, startServer } from './helpers/server.js';

const hasDig = requireTool(DIG, 'apt-get install bind9-dnsutils');
const SOA =
  /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/;

interface DnsProcess {
  proc: ChildProcess;
  port: number;
  httpPort: number;
  output(): string;
  stop(): Promise<void>;
}

/** Start `k8ts dns` and wait for its listening lines. */
async function startDnsProcess(args: string[]): Promise<DnsProcess> {
  const proc = spawn(process.execPath, [CLI, 'dns', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ports = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`k8ts dns did not start:\n${out}`)), 20_000);
    const check = () => {
      const dnsPort = /cluster DNS listening on [^ ]+:(\d+)/.exec(out)?.[1];
      const httpPort = /health and metrics on http:\/\/[^:]+:(\d+)/.exec(out)?.[1];
      if (dnsPort && httpPort) {
        clearTimeout(timer);
        resolve([Number(dnsPort), Number(httpPort)]);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`k8ts dns exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    port: ports[0],
    httpPort: ports[1],
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

function slice(
  name: string,
  service: string,
  endpoints: { ip: string; hostname?: string; ready?: boolean }[],
) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
  };
}

describe.skipIf(!hasDig)('cluster DNS with dig', () => {
  let server: RunningServer;
  let api: TestClient;
  let upstream: TestUpstream;
  let dns: DnsProcess;
  let at: { port: number };
  let webIp = '';

  beforeAll(async () => {
    server = await startServer();
    api = adminClient(server);
    upstream = await startTestUpstream([
      { name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.10' },
      { name: 'www.example.test', type: 'AAAA', ttl: 300, data: '2001:db8::10' },
      ...Array.from({ length: 30 }, (_, i) => ({
        name: 'big.example.test',
        type: 'A' as const,
        ttl: 300,
        data: `192.0.2.${100 + i}`,
      })),
    ]);
    const svc = async (body: any) => {
      const r = await api.json('POST', '/api/v1/namespaces/default/services', {
        apiVersion: 'v1',
        kind: 'Service',
        ...body,
      });
      if (r.kind === 'Status') throw new Error(JSON.stringify(r));
      return r;
    };
    const web = await svc({
      metadata: { name: 'web' },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    webIp = web.spec.clusterIP;
    await svc({ metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
    await svc({
      metadata: { name: 'ext' },
      spec: { type: 'ExternalName', externalName: 'www.example.test' },
    });
    await svc({
      metadata: { name: 'ext-big' },
      spec: { type: 'ExternalName', externalName: 'big.example.test' },
    });
    await svc({
      metadata: { name: 'many' },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
    });
    const post = (b: any) =>
      api.json('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', b);
    await post(
      slice('db-1', 'db', [
        { ip: '10.42.0.5', hostname: 'db-0' },
        { ip: '10.42.0.6' },
        { ip: '10.42.0.7', hostname: 'db-2', ready: false },
      ]),
    );
    await post(
      slice(
        'many-1',
        'many',
        Array.from({ length: 100 }, (_, i) => ({ ip: `10.42.1.${i + 1}` })),
      ),
    );
    dns = await startDnsProcess([
      '--kubeconfig',
      server.kubeconfig,
      '--listen',
      '127.0.0.1:0',
      '--http-listen',
      '127.0.0.1:0',
      '--upstream',
      `127.0.0.1:${upstream.port}`,
    ]);
    at = { port: dns.port };
  });

  afterAll(async () => {
    await dns?.stop();
    await upstream?.close();
    api?.close();
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('A, SRV and PTR of a ClusterIP service, names case-insensitive', async () => {
    expect(data(await dig(at, 'web.default.svc.cluster.local'))).toEqual([webIp]);
    const upper = await dig(at, 'WEB.Default.SVC.cluster.local');
    expect(upper.raw).toContain('WEB.Default.SVC.cluster.local.');
    expect(data(upper)).toEqual([webIp]);
    const srv = await dig(at, '_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(data(srv)).toEqual(['0 100 80 web.default.svc.cluster.local.']);
    const rev = webIp.split('.').reverse().join('.');
    expect(data(await dig(at, `${rev}.in-addr.arpa`, 'PTR'))).toEqual(['web.default.svc.cluster.local.']);
    expect(data(await dig(at, `${rev}.in-addr.arpa`, 'PTR', ['+tcp']))).toEqual([
      'web.default.svc.cluster.local.',
    ]);
  });

  it('headless service: ready endpoints, hostnames, SRV per endpoint, PTR', async () => {
    expect(data(await dig(at, 'db.default.svc.cluster.local'))).toEqual(['10.42.0.5', '10.42.0.6']);
    expect(data(await dig(at, 'db-0.db.default.svc.cluster.local'))).toEqual(['10.42.0.5']);
    expect(data(await dig(at, '10-42-0-6.db.default.svc.cluster.local'))).toEqual(['10.42.0.6']);
    expect((await dig(at, 'db-2.db.default.svc.cluster.local')).status).toBe('NXDOMAIN');
    expect(data(await dig(at, '_pg._tcp.db.default.svc.cluster.local', 'SRV'))).toEqual([
      '0 50 5432 10-42-0-6.db.default.svc.cluster.local.',
      '0 50 5432 db-0.db.default.svc.cluster.local.',
    ]);
    expect(data(await dig(at, '5.0.42.10.in-addr.arpa', 'PTR'))).toEqual([
      'db-0.db.default.svc.cluster.local.',
    ]);
  });

  it('ExternalName is a CNAME, chased upstream for A/AAAA', async () => {
    expect(data(await dig(at, 'ext.default.svc.cluster.local', 'CNAME'))).toEqual(['www.example.test.']);
    const a = await dig(at, 'ext.default.svc.cluster.local', 'A');
    expect(a.answers[0]).toBe('ext.default.svc.cluster.local. 5 IN CNAME www.example.test.');
    expect(a.answers[1]).toMatch(/^www\.example\.test\. \d+ IN A 192\.0\.2\.10$/);
  });

  it('an ExternalName whose target answer is too big for the client: the CNAME and the records that fit, TC', async () => {
    const udpOnly = await dig(at, 'ext-big.default.svc.cluster.local', 'A', ['+ignore', '+noedns']);
    expect(udpOnly.flags).toContain('tc');
    expect(udpOnly.answers[0]).toBe('ext-big.default.svc.cluster.local. 5 IN CNAME big.example.test.');
    expect(udpOnly.answers.length).toBeGreaterThan(1);
    expect(udpOnly.answers.length).toBeLessThan(31);
    const full = await dig(at, 'ext-big.default.svc.cluster.local', 'A', ['+noedns']);
    expect(full.flags).not.toContain('tc');
    expect(full.answers).toHaveLength(31);
    expect(udpOnly.answers.slice(1).map((l) => l.split(' ').pop())).toEqual(
      full.answers.slice(1, udpOnly.answers.length).map((l) => l.split(' ').pop()),
    );
  });

  it('pod records, dns-version, NXDOMAIN and NODATA with the SOA', async () => {
    expect(data(await dig(at, '10-42-0-9.default.pod.cluster.local'))).toEqual(['10.42.0.9']);
    expect(data(await dig(at, 'dns-version.cluster.local', 'TXT'))).toEqual(['"1.1.0"']);
    const nx = await dig(at, 'nosuch.default.svc.cluster.local');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority).toHaveLength(1);
    expect(nx.authority[0]).toMatch(SOA);
    for (const [name, type] of [
      ['web.default.svc.cluster.local', 'AAAA'],
      ['default.svc.cluster.local', 'A'],
      ['svc.cluster.local', 'A'],
      ['_tcp.web.default.svc.cluster.local', 'SRV'],
    ] as const) {
      const r = await dig(at, name, type);
      expect(r.status, `${name} ${type}`).toBe('NOERROR');
      expect(r.answers).toEqual([]);
      expect(r.authority[0]).toMatch(SOA);
    }
    expect((await dig(at, 'nosuchns.svc.cluster.local')).status).toBe('NXDOMAIN');
  });

  it('a service added and removed while running appears and disappears', async () => {
    const created = await api.json('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'late' },
      spec: { ports: [{ port: 80 }] },
    });
    const ip = created.spec.clusterIP;
    await digUntil(at, 'late.default.svc.cluster.local', 'A', (r) => data(r).join() === ip);
    await api.request('DELETE', '/api/v1/namespaces/default/services/late');
    await digUntil(at, 'late.default.svc.cluster.local', 'A', (r) => r.status === 'NXDOMAIN');
  });

  it('--pods verified answers only IPs of existing pods (and --udp-io dgram serves dig too)', async () => {
    const verified = await startDnsProcess([
      '--kubeconfig',
      server.kubeconfig,
      '--listen',
      '127.0.0.1:0',
      '--http-listen',
      '127.0.0.1:0',
      '--upstream',
      `127.0.0.1:${upstream.port}`,
      '--pods',
      'verified',
      '--udp-io',
      'dgram',
    ]);
    try {
      const v = { port: verified.port };
      const name = '10-42-3-7.default.pod.cluster.local';
      // insecure (the first server) answers any IP; verified answers none before the pod exists.
      expect(data(await dig(at, name))).toEqual(['10.42.3.7']);
      expect((await dig(v, name)).status).toBe('NXDOMAIN');
      const created = await api.json('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'dns-verified' },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      });
      expect(created.kind).toBe('Pod');
      await api.request(
        'PATCH',
        '/api/v1/namespaces/default/pods/dns-verified/status',
        { status: { podIP: '10.42.3.7', podIPs: [{ ip: '10.42.3.7' }] } },
        { 'content-type': 'application/merge-patch+json' },
      );
      await digUntil(v, name, 'A', (r) => data(r).join() === '10.42.3.7');
      expect((await dig(v, '10-42-3-8.default.pod.cluster.local')).status).toBe('NXDOMAIN');
      expect(data(await dig(v, 'web.default.svc.cluster.local'))).toEqual([webIp]);
      await api.request('DELETE', '/api/v1/namespaces/default/pods/dns-verified?gracePeriodSeconds=0');
      await digUntil(v, name, 'A', (r) => r.status === 'NXDOMAIN');
    } finally {
      await verified.stop();
    }
  });

  it('truncates over UDP (TC) and dig gets the whole answer over TCP', async () => {
    const udpOnly = await dig(at, 'many.default.svc.cluster.local', 'A', ['+ignore', '+bufsize=1232']);
    expect(udpOnly.flags).toContain('tc');
    // The answers that fit come along (1232 bytes hold 73 of the 100 A records).
    expect(udpOnly.answers.length).toBeGreaterThan(50);
    expect(udpOnly.answers.length).toBeLessThan(100);
    const full = await dig(at, 'many.default.svc.cluster.local', 'A');
    expect(full.flags).not.toContain('tc');
    expect(full.answers).toHaveLength(100);
    const srv = await dig(at, '_pg._tcp.many.default.svc.cluster.local', 'SRV', ['+noedns']);
    expect(srv.answers).toHaveLength(100);
  });

  it('forwards other names to the upstream and caches them', async () => {
    const first = await dig(at, 'www.example.test', 'A');
    expect(data(first)).toEqual(['192.0.2.10']);
    const asked = upstream.log.filter((l) => l.includes('www.example.test A')).length;
    expect(data(await dig(at, 'WWW.example.test', 'A'))).toEqual(['192.0.2.10']);
    expect(upstream.log.filter((l) => l.includes('www.example.test A')).length).toBe(asked);
    const nx = await dig(at, 'nothing.example.test', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority).toHaveLength(1);
  });

  it('a forwarded answer too big for the client keeps the records that fit, with TC; TCP gets all', async () => {
    const udpOnly = await dig(at, 'big.example.test', 'A', ['+ignore', '+noedns']);
    expect(udpOnly.flags).toContain('tc');
    expect(udpOnly.answers.length).toBeGreaterThan(0);
    expect(udpOnly.answers.length).toBeLessThan(30);
    const full = await dig(at, 'big.example.test', 'A', ['+noedns']);
    expect(full.flags).not.toContain('tc');
    expect(data(full)).toHaveLength(30);
    expect(data(udpOnly)).toEqual(data(full).slice(0, udpOnly.answers.length));
  });

  it('serves /health, /ready and CoreDNS-named /metrics', async () => {
    const base = `http://127.0.0.1:${dns.httpPort}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/coredns_dns_requests_total\{[^}]*zone="cluster.local."[^}]*type="A"\} \d+/);
    expect(text).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="kubernetes"\} \d+/);
    expect(text).toMatch(/coredns_dns_request_duration_seconds_count\{[^}]*\} \d+/);
    expect(text).toMatch(/coredns_cache_hits_total\{[^}]*type="success"[^}]*\} [1-9]/);
    expect(text).toMatch(/coredns_cache_misses_total\{[^}]*\} [1-9]/);
  });

  it('survives thousands of random and mutated packets and still answers correctly', async () => {
    const seedQueries = [
      dnsPacket.encode({
        type: 'query',
        id: 1,
        questions: [{ name: 'web.default.svc.cluster.local', type: 'A' }],
      }),
      dnsPacket.encode({
        type: 'query',
        id: 2,
        questions: [{ name: '_pg._tcp.db.default.svc.cluster.local', type: 'SRV' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as any],
      }),
      dnsPacket.encode({ type: 'query', id: 3, questions: [{ name: 'nosuch.cluster.local', type: 'AAAA' }] }),
    ];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const packets: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      if (i % 2 === 0) {
        const b = Buffer.alloc(rand(80));
        for (let j = 0; j < b.length; j++) b[j] = rand(256);
        packets.push(b);
      } else {
        const b = Buffer.from(seedQueries[rand(seedQueries.length)]!);
        for (let k = 0, n = 1 + rand(4); k < n; k++) b[rand(b.length)] = rand(256);
        packets.push(rand(5) === 0 ? b.subarray(0, rand(b.length)) : b);
      }
    }
    const sock = dgram.createSocket('udp4');
    let replies = 0;
    sock.on('message', () => replies++);
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < packets.length; i += 100) {
      await Promise.all(
        packets
          .slice(i, i + 100)
          .map((p) => new Promise<void>((r) => sock.send(p, at.port, '127.0.0.1', () => r()))),
      );
      await new Promise((r) => setImmediate(r));
    }
    // Garbage over TCP too: random frames, a frame cut short, then close.
    for (let c = 0; c < 20; c++) {
      const s = net.connect(at.port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.end(
        packets[c * 7]!.length
          ? Buffer.concat([Buffer.from([0, packets[c * 7]!.length]), packets[c * 7]!])
          : Buffer.from([0xff]),
      );
      await new Promise<void>((r) => s.once('close', () => r()).resume());
    }
    sock.close();
    expect(replies).toBeGreaterThan(0);
    expect(dns.proc.exitCode).toBeNull();
    expect(data(await dig(at, 'web.default.svc.cluster.local'))).toEqual([webIp]);
    expect(data(await dig(at, 'db-0.db.default.svc.cluster.local', 'A', ['+tcp']))).toEqual(['10.42.0.5']);
    expect(dns.output()).not.toMatch(/query failed/);
  });
});

describe.skipIf(!hasDig)('dns component of k8ts server (rootless)', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ components: ['dns'], args: ['--rootless', '--cluster-dns-port', '0'] });
  });

  afterAll(async () => {
    await server?.kill();
    if (server) cleanup(server.dataDir);
  });

  it('prints its port, answers cluster names and creates the kube-dns Service', async () => {
    const deadline = Date.now() + 20_000;
    let m: RegExpExecArray | null = null;
    while (
      !(m = /cluster DNS listening on 127\.0\.0\.1:(\d+)/.exec(server.output())) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    const port = Number(m?.[1]);
    expect(port, server.output()).toBeGreaterThan(0);
    expect(data(await dig({ port }, 'kubernetes.default.svc.cluster.local'))).toEqual(['10.43.0.1']);
    await digUntil(
      { port },
      'kube-dns.kube-system.svc.cluster.local',
      'A',
      (r) => data(r).join() === '10.43.0.10',
    );
    const ports = await kubectlOk(server, [
      'get',
      'service',
      '-n',
      'kube-system',
      'kube-dns',
      '-o',
      'jsonpath={.spec.clusterIP} {range .spec.ports[*]}{.name}/{.port}/{.protocol} {end}',
    ]);
    expect(ports.trim()).toBe('10.43.0.10 dns/53/UDP dns-tcp/53/TCP metrics/9153/TCP');
  });
});
