/**
 * The pod-routes writer against a fake API (list + watch fed by hand) and a fake kernel that keeps
 * routes, neighbours, fdb entries and the vxlan device as state and answers the `-j` reads and
 * `-batch` inputs as iproute2 does.
 */
import { describe, expect, it } from 'vitest';
import type { KObj, ListWatchClient } from '../../client/informer.js';
import type { RequestOptions, WatchHandler } from '../../client/rest-client.js';
import type { CommandResult } from './exec-command.js';
import { startPodRoutes, vxlanMac } from './pod-routes.js';

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });

class FakeApi implements ListWatchClient {
  nodes = new Map<string, KObj>();
  patches: { path: string; body: unknown }[] = [];
  handler: WatchHandler | undefined;
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    await Promise.resolve();
    if (method === 'PATCH') {
      this.patches.push({ path, body: opts.body });
      return {} as T;
    }
    return { items: [...this.nodes.values()], metadata: { resourceVersion: '1' } } as T;
  }
  watch(_p: string, _q: RequestOptions['query'], onEvent: WatchHandler) {
    this.handler = onEvent;
    return { stop: () => {} };
  }
  emit(type: string, n: KObj): void {
    if (type === 'DELETED') this.nodes.delete(n.metadata.name);
    else this.nodes.set(n.metadata.name, n);
    this.handler?.(type, n);
  }
}

let rv = 2;
const node = (name: string, cidr: string, ip: string, ann: Record<string, string> = {}): KObj => ({
  metadata: { name, resourceVersion: String(rv++), annotations: ann },
  spec: { podCIDR: cidr },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

/** Routes keyed by destination; `ip -batch` lines applied one by one. */
class FakeKernel {
  routes = new Map<string, { gateway: string; dev: string; protocol: string }>();
  neigh = new Map<string, string>();
  fdb = new Map<string, string>();
  link: { address: string; mtu: number; up: boolean; local: string; addrs: string[] } | undefined;
  log: string[] = [];

  run = async (argv: string[], opts: { input?: string } = {}): Promise<CommandResult> => {
    this.log.push(argv.join(' ') + (opts.input ? `\n${opts.input}` : ''));
    const cmd = argv.join(' ');
    if (cmd === 'ip -j -4 route show table main')
      return ok(JSON.stringify([...this.routes].map(([dst, r]) => ({ dst, ...r }))));
    if (cmd.startsWith('ip -j neigh show'))
      return ok(JSON.stringify([...this.neigh].map(([dst, lladdr]) => ({ dst, lladdr }))));
    if (cmd.startsWith('bridge -j fdb show'))
      return ok(JSON.stringify([...this.fdb].map(([mac, dst]) => ({ mac, dst }))));
    if (cmd === 'ip link show k8ts.1') return this.link ? ok() : { code: 1, stdout: '', stderr: 'no device' };
    if (cmd === 'ip -j -d addr show dev k8ts.1') {
      if (!this.link) return { code: 1, stdout: '', stderr: 'Device "k8ts.1" does not exist.' };
      const l = this.link;
      return ok(
        JSON.stringify([
          {
            address: l.address,
            mtu: l.mtu,
            flags: l.up ? ['UP'] : [],
            linkinfo: { info_data: { id: 1, port: 8472, local: l.local } },
            addr_info: l.addrs.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: 32 })),
          },
        ]),
      );
    }
    if (argv[0] === 'ip' && argv[1] === 'link' && argv[2] === 'add') {
      this.link = { address: '', mtu: 1500, up: false, local: argv[argv.indexOf('local') + 1]!, addrs: [] };
      return ok();
    }
    if (cmd.startsWith('ip link set k8ts.1 address')) {
      this.link!.address = argv[5]!;
      this.link!.mtu = Number(argv[7]);
      this.link!.up = true;
      return ok();
    }
    if (cmd.startsWith('ip addr replace')) {
      this.link!.addrs.push(argv[3]!);
      return ok();
    }
    if (cmd === 'ip link del k8ts.1') {
      this.link = undefined;
      this.neigh.clear();
      this.fdb.clear();
      return ok();
    }
    if (argv.includes('-batch')) {
      for (const line of (opts.input ?? '').trim().split('\n')) this.apply(argv[0]!, line.split(' '));
      return ok();
    }
    throw new Error(`unexpected command: ${cmd}`);
  };

  private apply(tool: string, w: string[]): void {
    const [obj, verb] = w;
    if (tool === 'bridge' && verb === 'replace') this.fdb.set(w[2]!, w[w.indexOf('dst') + 1]!);
    else if (tool === 'bridge' && verb === 'del') this.fdb.delete(w[2]!);
    else if (obj === 'neigh' && verb === 'replace') this.neigh.set(w[2]!, w[4]!);
    else if (obj === 'neigh' && verb === 'del') this.neigh.delete(w[2]!);
    else if (obj === 'route' && verb === 'replace') {
      const dev = w.includes('dev') ? w[w.indexOf('dev') + 1]! : 'eth0';
      this.routes.set(w[2]!, { gateway: w[4]!, dev, protocol: w[w.indexOf('proto') + 1]! });
    } else if (obj === 'route' && verb === 'del') {
      if (this.routes.get(w[2]!)?.protocol === w[w.indexOf('proto') + 1]) this.routes.delete(w[2]!);
    } else throw new Error(`unexpected batch line: ${w.join(' ')}`);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('startPodRoutes', () => {
  it('host-gw: routes the other nodes, follows adds and deletes, never touches a foreign route', async () => {
    const api = new FakeApi();
    const kernel = new FakeKernel();
    kernel.routes.set('10.42.9.0/24', { gateway: '172.31.255.9', dev: 'eth0', protocol: 'static' });
    api.nodes.set('a', node('a', '10.42.0.0/24', '172.31.255.1'));
    api.nodes.set('b', node('b', '10.42.1.0/24', '172.31.255.2'));
    const r = await startPodRoutes({
      client: api,
      nodeName: 'a',
      backend: 'host-gw',
      run: kernel.run,
      log: () => {},
    });
    expect([...kernel.routes.keys()].sort()).toEqual(['10.42.1.0/24', '10.42.9.0/24']);
    expect(kernel.routes.get('10.42.1.0/24')).toEqual({
      gateway: '172.31.255.2',
      dev: 'eth0',
      protocol: '75',
    });
    const before = kernel.log.length;
    api.emit('ADDED', node('c', '10.42.2.0/24', '172.31.255.3'));
    api.emit('ADDED', node('z', '10.42.9.0/24', '172.31.255.26'));
    await r.flush();
    expect(kernel.routes.get('10.42.2.0/24')?.gateway).toBe('172.31.255.3');
    // Someone else's route to z's podCIDR stays as it was.
    expect(kernel.routes.get('10.42.9.0/24')).toEqual({
      gateway: '172.31.255.9',
      dev: 'eth0',
      protocol: 'static',
    });
    api.emit('DELETED', node('b', '10.42.1.0/24', '172.31.255.2'));
    await r.flush();
    expect(kernel.routes.has('10.42.1.0/24')).toBe(false);
    // A status-only update of a node (lease, conditions) does not reach the kernel.
    const n = kernel.log.length;
    api.emit('MODIFIED', {
      ...node('c', '10.42.2.0/24', '172.31.255.3'),
      metadata: { name: 'c', resourceVersion: '9' },
    });
    await settle();
    expect(kernel.log.length).toBe(n);
    expect(n).toBeGreaterThan(before);
    await r.stop();
  });

  it('vxlan: makes the device, publishes its VTEP, programs fdb + neighbour + onlink route per peer', async () => {
    const api = new FakeApi();
    const kernel = new FakeKernel();
    api.nodes.set('a', node('a', '10.42.0.0/24', '172.31.255.1'));
    api.nodes.set(
      'b',
      node('b', '10.42.1.0/24', '172.31.255.2', { 'k8ts.io/vxlan-mac': '02:00:00:00:00:0b' }),
    );
    api.nodes.set('c', node('c', '10.42.2.0/24', '172.31.255.3'));
    const r = await startPodRoutes({
      client: api,
      nodeName: 'a',
      backend: 'vxlan',
      run: kernel.run,
      log: () => {},
    });
    expect(kernel.link).toEqual({
      address: vxlanMac('a'),
      mtu: 1450,
      up: true,
      local: '172.31.255.1',
      addrs: ['10.42.0.0/32'],
    });
    expect(api.patches).toEqual([
      {
        path: '/api/v1/nodes/a',
        body: {
          metadata: {
            annotations: {
              'k8ts.io/vxlan-mac': vxlanMac('a'),
              'k8ts.io/public-ip': '172.31.255.1',
              'k8ts.io/pod-network-backend': 'vxlan',
            },
          },
        },
      },
    ]);
    // c has not published a MAC yet: nothing for it.
    expect(kernel.fdb).toEqual(new Map([['02:00:00:00:00:0b', '172.31.255.2']]));
    expect(kernel.neigh).toEqual(new Map([['10.42.1.0', '02:00:00:00:00:0b']]));
    expect(kernel.routes.get('10.42.1.0/24')).toEqual({
      gateway: '10.42.1.0',
      dev: 'k8ts.1',
      protocol: '75',
    });
    api.emit(
      'MODIFIED',
      node('c', '10.42.2.0/24', '172.31.255.3', {
        'k8ts.io/vxlan-mac': '02:00:00:00:00:0c',
        'k8ts.io/public-ip': '198.51.100.3',
      }),
    );
    await r.flush();
    expect(kernel.fdb.get('02:00:00:00:00:0c')).toBe('198.51.100.3');
    expect(kernel.routes.get('10.42.2.0/24')?.dev).toBe('k8ts.1');
    await r.stop();
  });

  it('waits for the full Node list before the first sync (a partial list must not delete routes)', async () => {
    const api = new FakeApi();
    const kernel = new FakeKernel();
    kernel.routes.set('10.42.1.0/24', { gateway: '172.31.255.2', dev: 'eth0', protocol: '75' });
    api.nodes.set('a', node('a', '10.42.0.0/24', '172.31.255.1'));
    api.nodes.set('b', node('b', '10.42.1.0/24', '172.31.255.2'));
    const r = await startPodRoutes({
      client: api,
      nodeName: 'a',
      backend: 'host-gw',
      run: kernel.run,
      log: () => {},
    });
    // Converged: the one sync read the kernel and wrote nothing.
    expect(kernel.log.filter((l) => l.includes('-batch'))).toEqual([]);
    expect(r.syncs()).toBe(1);
    await r.stop();
  });
});
