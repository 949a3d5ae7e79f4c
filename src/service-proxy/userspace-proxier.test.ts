/**
 * userspace mode on loopback: real TCP/UDP listeners on the rootless addresses, real backends.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointsChangeTracker, ServiceChangeTracker } from './change-tracker.js';
import { ProxyState } from './proxy-state.js';
import { rootlessAddress } from './rootless-address.js';
import { NODE, type SvcSpec, slice, svc } from './testing/fixtures.js';
import { UserspaceProxier } from './userspace-proxier.js';

const BACKENDS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** TCP servers on each address and one shared port, answering their address on connect. */
async function tcpBackends(ips: string[]): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const servers: net.Server[] = [];
    let port = 0;
    try {
      for (const ip of ips) {
        const s = net.createServer((c) => {
          c.on('error', () => {});
          c.on('data', (d) => c.write(`${ip} ${d}`));
          c.write(`${ip}\n`);
        });
        await new Promise<void>((res, rej) => {
          s.once('error', rej);
          s.listen(port, ip, () => res());
        });
        port = (s.address() as net.AddressInfo).port;
        servers.push(s);
      }
      closers.push(() => {
        for (const s of servers) s.close();
      });
      return port;
    } catch (e) {
      for (const s of servers) s.close();
      if (attempt > 5) throw e;
    }
  }
}

/** Connect and read the first line (the backend's address), or the error code. */
function hello(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    c.setEncoding('utf8');
    c.once('data', (d: string) => {
      resolve(d.trim());
      c.destroy();
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    c.once('close', () => resolve('CLOSED'));
  });
}

function setup(
  spec: SvcSpec,
  eps: Parameters<typeof slice>[0],
  targetPort: number,
  protocol: 'TCP' | 'UDP' = 'TCP',
) {
  const servicePort = 20000 + Math.floor(Math.random() * 20000);
  const p = new UserspaceProxier({
    nodeName: NODE,
    nodePortHost: '127.0.0.1',
    nodePortFor: () => 0,
    log: () => {},
  });
  closers.push(() => p.stop());
  const state = new ProxyState();
  const st = new ServiceChangeTracker();
  const et = new EndpointsChangeTracker();
  const ports = [{ name: 'p', port: targetPort, protocol }];
  const full = {
    ...spec,
    clusterIP: '10.43.7.9',
    ports: [
      {
        name: 'p',
        port: servicePort,
        protocol,
        ...(spec.ports?.[0]?.nodePort ? { nodePort: spec.ports[0].nodePort } : {}),
      },
    ],
  };
  const apply = async (opts: { svc?: SvcSpec | null; eps?: Parameters<typeof slice>[0] }) => {
    if (opts.svc !== undefined)
      st.update(svc(full), opts.svc === null ? undefined : svc({ ...full, ...opts.svc }));
    if (opts.eps) et.update(slice(opts.eps, { ports }));
    const s = st.checkout(state);
    const e = et.checkout(state);
    await p.sync({
      state,
      changedServices: new Set([...s.changed, ...e.changed]),
      full: false,
      staleEndpoints: [],
      newlyActiveUdp: [],
      removedServicePorts: s.removed,
    });
  };
  st.update(undefined, svc(full));
  et.update(slice(eps, { ports }));
  return {
    p,
    apply,
    key: `default/web:p/${protocol}`,
    addr: rootlessAddress('10.43.7.9', servicePort),
    sync: () => apply({}),
  };
}

describe('UserspaceProxier', () => {
  it('listens on the rootless address of the ClusterIP and spreads connections round robin', async () => {
    const port = await tcpBackends(BACKENDS);
    const t = setup({}, BACKENDS, port);
    await t.sync();
    expect(t.p.address(t.key)).toEqual(t.addr);
    expect(t.addr.host).toBe('127.43.7.9');
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(await hello(t.addr.host, t.addr.port));
    expect(got.sort()).toEqual([...BACKENDS, ...BACKENDS].sort());
  });

  it('session affinity keeps a client on one endpoint', async () => {
    const port = await tcpBackends(BACKENDS);
    const t = setup({ affinity: 60 }, BACKENDS, port);
    await t.sync();
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add(await hello(t.addr.host, t.addr.port));
    expect(got.size).toBe(1);
  });

  it('retries another endpoint when one refuses', async () => {
    const port = await tcpBackends(BACKENDS.slice(0, 1));
    const t = setup({}, ['127.0.0.14', '127.0.0.15', BACKENDS[0]!], port);
    await t.sync();
    for (let i = 0; i < 4; i++) expect(await hello(t.addr.host, t.addr.port)).toBe(BACKENDS[0]);
  });

  it('no endpoints: new connections are reset at once', async () => {
    const t = setup({}, [], 1);
    await t.sync();
    expect(await hello(t.addr.host, t.addr.port)).toMatch(/ECONNRESET|CLOSED/);
  });

  it('NodePort listener; externalTrafficPolicy Local uses only local endpoints there', async () => {
    const port = await tcpBackends(BACKENDS);
    const t = setup(
      { type: 'NodePort', etpLocal: true, ports: [{ port: 1, nodePort: 30999 }] },
      [{ ip: BACKENDS[0]! }, { ip: BACKENDS[1]!, node: 'node-b' }],
      port,
    );
    await t.sync();
    const np = t.p.address(t.key, 'nodeport')!;
    for (let i = 0; i < 4; i++) expect(await hello(np.host, np.port)).toBe(BACKENDS[0]);
    const viaCluster = new Set<string>();
    for (let i = 0; i < 4; i++) viaCluster.add(await hello(t.addr.host, t.addr.port));
    expect(viaCluster.size).toBe(2);
  });

  it('graceful draining: a removed service stops accepting, open connections keep working', async () => {
    const port = await tcpBackends(BACKENDS.slice(0, 1));
    const t = setup({}, BACKENDS.slice(0, 1), port);
    await t.sync();
    const c = net.connect({ host: t.addr.host, port: t.addr.port });
    c.setEncoding('utf8');
    const lines: string[] = [];
    c.on('data', (d: string) => lines.push(d));
    await new Promise((r) => c.once('data', r));
    await t.apply({ svc: null });
    expect(await hello(t.addr.host, t.addr.port)).toBe('ECONNREFUSED');
    c.write('still-there');
    await new Promise((r) => c.once('data', r));
    expect(lines.join('')).toContain(`${BACKENDS[0]} still-there`);
    c.destroy();
  });

  it('UDP: datagrams reach an endpoint and replies come back', async () => {
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, BACKENDS[0], () => r()));
    closers.push(() => server.close());
    server.on('message', (m, r) => server.send(Buffer.from(`echo ${m}`), r.port, r.address));
    const t = setup({}, BACKENDS.slice(0, 1), server.address().port, 'UDP');
    await t.sync();
    const client = dgram.createSocket('udp4');
    closers.push(() => client.close());
    const reply = new Promise<string>((r) => client.once('message', (m) => r(String(m))));
    client.send('ping', t.addr.port, t.addr.host);
    expect(await reply).toBe('echo ping');
  });

  it.each([
    ['10.43.0.10', 8080, 1024, { host: '127.43.0.10', port: 8080 }],
    ['10.43.0.10', 80, 1024, { host: '127.43.0.10', port: 10080 }],
    ['10.43.0.10', 80, 0, { host: '127.43.0.10', port: 80 }],
    ['10.43.1.2', 53, 1024, { host: '127.43.1.2', port: 10053 }],
    ['fd43::1:2', 443, 1024, { host: '127.1.0.2', port: 10443 }],
  ])('rootless address of %s:%i (unprivileged from %i)', (ip, port, start, want) => {
    expect(rootlessAddress(ip, port, { unprivilegedPortStart: start })).toEqual(want);
  });
});
