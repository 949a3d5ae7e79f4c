/**
 * The service proxy's real rules in a real kernel, as root, inside private network namespaces, in
 * both kernel modes (iptables and nftables run the very same scenarios):
 *
 *   outside (192.168.77.2) --veth-- node (192.168.77.1, br0 10.42.0.1/24) --bridge-- pod0..2 (.11-.13), client (.20)
 *
 * A real `k8ts server` runs on the host loopback; the proxy runs in this process with the REST
 * client and informers, and only its command runner enters the node namespace
 * (`ip netns exec NODE iptables-restore ...` / `nft -f -`). Pods run small HTTP servers answering
 * "<pod> <remote address>"; curl runs inside the namespaces. Nothing touches the host's network.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InformerFactory } from '../src/core/client/informer-factory.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import type { ProxyBackend } from '../src/service-proxy/backend.js';
import { IptablesProxier } from '../src/service-proxy/iptables-proxier.js';
import { NftablesProxier } from '../src/service-proxy/nftables-proxier.js';
import { NetnsRunner } from '../src/service-proxy/runner.js';
import { ServiceHealthServer } from '../src/service-proxy/service-health.js';
import { ServiceProxy } from '../src/service-proxy/service-proxy.js';
import { canUseNetns, canUseNft, Netns } from './helpers/netns.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

const ok = canUseNetns();
if (!ok && process.env.CI) throw new Error('service proxy kernel tests need root, iproute2 and iptables');
const nftOk = ok && canUseNft();
if (ok && !nftOk && process.env.CI)
  throw new Error('nftables mode kernel tests need nft (apt install nftables)');
if (ok && !nftOk) console.warn('skipping nftables mode kernel tests: install nftables (nft)');
type Mode = 'iptables' | 'nftables';

const POD_IPS = ['10.42.0.11', '10.42.0.12', '10.42.0.13'];
const CLIENT_IP = '10.42.0.20';
const NODE_OUT_IP = '192.168.77.1';
const OUTSIDE_IP = '192.168.77.2';
/** A second outside client, outside the fw service's loadBalancerSourceRanges. */
const OUTSIDE_IP_BLOCKED = '192.168.77.3';
const LB_IP = '203.0.113.100';
const NS = '/api/v1/namespaces/default';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

const SERVER_JS =
  "const http=require('http');const [ip,name]=process.argv.slice(1);" +
  "http.createServer((q,s)=>{s.end(name+' '+q.socket.remoteAddress+'\\n')}).listen(8080,ip,()=>console.log('ready'))";

/** A kernel backend of `mode` for IPv4 on node `nodeName`, its commands run inside `netns`. */
function kernelBackend(
  mode: Mode,
  netns: string,
  opts: { nodeName: string; nodePortAddresses?: string[] | undefined },
): ProxyBackend {
  const common = {
    family: 'IPv4' as const,
    nodeName: opts.nodeName,
    clusterCidr: '10.42.0.0/16',
    runner: new NetnsRunner(netns),
    nodePortAddresses: opts.nodePortAddresses,
  };
  return mode === 'iptables' ? new IptablesProxier(common) : new NftablesProxier(common);
}

/**
 * The proxy's kernel state as comparable text: for nftables our table with its blocks (chains,
 * maps, sets) sorted, map elements sorted, the affinity sets' dynamic entries dropped, and each
 * `numgen random mod N offset O map @endpoints-..` lookup shown as the N targets it picks (slot
 * numbers depend on the sync history, not on what the table does; slots no lookup covers stay in
 * their map's elements); for iptables the KUBE-* lines of iptables-save, sorted, without counters.
 */
function kernelRuleset(net: Netns, ns: string, mode: Mode): string {
  if (mode === 'iptables')
    return net
      .exec(ns, ['iptables-save'])
      .split('\n')
      .filter((l) => l.includes('KUBE-') && !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/, ''))
      .sort()
      .join('\n');
  const text = net.exec(ns, ['nft', 'list', 'table', 'ip', 'k8ts-proxy']);
  const blocks = text.split(/\n(?=\t(?:chain|map|set) )/).slice(1);
  const elementsOf = (body: string) =>
    (/elements = \{([\s\S]*?)\}\n/.exec(body)?.[1] ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
  const slots = new Map<string, Map<string, string>>();
  for (const b of blocks) {
    const name = /^\tmap (endpoints-\d+) /.exec(b)?.[1];
    if (name) slots.set(name, new Map(elementsOf(b).map((e) => e.split(' : ') as [string, string])));
  }
  const covered = new Set<string>();
  const resolve = (body: string) =>
    body.replace(/to numgen random mod (\d+)(?: offset (\d+))? map @(\S+)/g, (_m, n, off, map) => {
      const targets: string[] = [];
      for (let i = 0; i < Number(n); i++) {
        const slot = String(Number(off ?? 0) + i);
        covered.add(`${map} ${slot}`);
        targets.push(slots.get(map)?.get(slot) ?? '?');
      }
      return `to numgen random mod ${n} map @${map} { ${targets.join(', ')} }`;
    });
  const chains = blocks.filter((b) => b.startsWith('\tchain ')).map(resolve);
  return [...chains, ...blocks.filter((b) => !b.startsWith('\tchain '))]
    .map((b) => {
      const body = b.replace(/\n}\s*$/, '');
      const m = /elements = \{([\s\S]*?)\}\n/.exec(body);
      if (!m) return body;
      if (body.startsWith('\tset affinity-')) return body.replace(m[0], '');
      const map = /^\tmap (endpoints-\d+) /.exec(body)?.[1];
      const els = elementsOf(body)
        .filter((e) => !map || !covered.has(`${map} ${e.split(' : ')[0]}`))
        .sort();
      return body.replace(m[0], `elements = { ${els.join(', ')} }\n`);
    })
    .sort()
    .join('\n');
}

const modes: Mode[] = ['iptables', 'nftables'];
describe.skipIf(!ok).each(modes)('service proxy in a real kernel (%s mode, network namespaces)', (mode) => {
  if (mode === 'nftables' && !nftOk) return;
  const net = new Netns(mode === 'iptables' ? 'sp' : 'spn');
  let server: RunningServer | undefined;
  let client: RestClient;
  let factory: InformerFactory;
  let proxy: ServiceProxy | undefined;
  let node = '';
  let outside = '';
  let clientNs = '';
  const pods: string[] = [];
  const serviceHealth = new ServiceHealthServer({ host: '127.0.0.1', portFor: () => 0 });
  let nodeName = 'node-a';

  const curl = (ns: string, url: string, timeout = 2) =>
    net.run(ns, ['curl', '-sS', '--max-time', String(timeout), url]);

  const sliceBody = (service: string, ips: { ip: string; node?: string }[], name = `${service}-1`) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true },
      nodeName: e.node ?? 'node-a',
    })),
  });

  const putSlice = async (service: string, ips: { ip: string; node?: string }[]) => {
    const body = sliceBody(service, ips);
    try {
      const cur = await client.request('GET', `${SLICES}/${body.metadata.name}`);
      await client.request('PUT', `${SLICES}/${body.metadata.name}`, {
        body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } },
      });
    } catch {
      await client.request('POST', SLICES, { body });
    }
  };

  const createService = (name: string, spec: Record<string, unknown>) =>
    client.request('POST', `${NS}/services`, {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec },
    });

  /** Wait until `check` passes (the proxy syncs within its min sync period). */
  const eventually = async (check: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('condition not reached in time');
  };

  const startProxy = async (nodePortAddresses?: string[]) => {
    factory = new InformerFactory(client);
    proxy = new ServiceProxy({
      factory,
      nodeName,
      backends: [kernelBackend(mode, node, { nodeName, nodePortAddresses })],
      minSyncPeriodMs: 100,
      serviceHealth,
    });
    void factory.start();
    await proxy.start();
  };

  beforeAll(async () => {
    try {
      node = net.add('node');
      outside = net.add('out');
      clientNs = net.add('cli');
      net.exec(node, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      net.exec(node, ['ip', 'addr', 'add', '10.42.0.1/24', 'dev', 'br0']);
      net.exec(node, ['ip', 'link', 'set', 'br0', 'up']);
      net.exec(node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // The service CIDR needs a route on the node (as a default route gives real nodes) so that
      // packets for a ClusterIP without endpoints reach the FORWARD chain and its REJECT.
      // (No dummy module in this kernel: a veth pair whose far end stays in the node does the same.)
      net.exec(node, ['ip', 'link', 'add', 'svc0', 'type', 'veth', 'peer', 'name', 'svc1']);
      net.exec(node, ['ip', 'link', 'set', 'svc0', 'up']);
      net.exec(node, ['ip', 'link', 'set', 'svc1', 'up']);
      net.exec(node, ['ip', 'route', 'add', '10.43.0.0/16', 'dev', 'svc0']);
      const attach = (ns: string, ip: string, i: number) => {
        net.veth(node, `vp${i}`, ns, 'eth0');
        net.exec(node, ['ip', 'link', 'set', `vp${i}`, 'master', 'br0']);
        // As the kubelet's bridge network does (hairpin-veth): a pod DNATed back to itself leaves
        // the bridge by the port it came in on.
        net.exec(node, ['ip', 'link', 'set', `vp${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
        net.exec(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        net.exec(ns, ['ip', 'route', 'add', 'default', 'via', '10.42.0.1']);
      };
      const started: Promise<void>[] = [];
      POD_IPS.forEach((ip, i) => {
        const ns = net.add(`pod${i}`);
        pods.push(ns);
        attach(ns, ip, i);
        const p: ChildProcess = net.spawn(ns, [process.execPath, '-e', SERVER_JS, ip, `pod${i}`]);
        started.push(
          new Promise((res, rej) => {
            p.stdout!.on('data', (d) => String(d).includes('ready') && res());
            p.once('exit', (c) => rej(new Error(`pod server ${i} exited with ${c}`)));
          }),
        );
      });
      attach(clientNs, CLIENT_IP, 9);
      net.veth(node, 'out0', outside, 'eth0');
      net.exec(node, ['ip', 'addr', 'add', `${NODE_OUT_IP}/24`, 'dev', 'out0']);
      net.exec(outside, ['ip', 'addr', 'add', `${OUTSIDE_IP}/24`, 'dev', 'eth0']);
      net.exec(outside, ['ip', 'addr', 'add', `${OUTSIDE_IP_BLOCKED}/24`, 'dev', 'eth0']);
      // The load balancer's address is routed to the node, as a cloud or MetalLB would do.
      net.exec(outside, ['ip', 'route', 'add', `${LB_IP}/32`, 'via', NODE_OUT_IP]);
      await Promise.all(started);

      server = await startServer({ args: ['--disable-controllers'] });
      client = new RestClient(loadKubeconfig(server.kubeconfig));
      await startProxy();
    } catch (e) {
      net.cleanup();
      throw e;
    }
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    factory?.stop();
    client?.close();
    await serviceHealth.close();
    net.cleanup();
    if (server) {
      await server.kill();
      cleanup(server.dataDir);
    }
  });

  it('ClusterIP: 3 pods answer a client pod in turn', async () => {
    await createService('web', {
      clusterIP: '10.43.0.10',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice(
      'web',
      POD_IPS.map((ip) => ({ ip })),
    );
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.10/')).code === 0);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await curl(clientNs, 'http://10.43.0.10/');
      expect(r.code).toBe(0);
      const [pod, remote] = r.stdout.trim().split(' ');
      expect(remote).toBe(CLIENT_IP); // pod-to-service traffic keeps its source
      seen.set(pod!, (seen.get(pod!) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['pod0', 'pod1', 'pod2']);
  });

  it('hairpin: a pod reaches itself through its own service (masqueraded to the node)', async () => {
    let self = 0;
    for (let i = 0; i < 20; i++) {
      const r = await curl(pods[0]!, 'http://10.43.0.10/');
      expect(r.code).toBe(0);
      const [pod, remote] = r.stdout.trim().split(' ');
      if (pod === 'pod0') {
        self++;
        expect(remote).toBe('10.42.0.1');
      }
    }
    expect(self).toBeGreaterThan(0);
  });

  it('NodePort answers a client outside the cluster', async () => {
    await createService('np', {
      type: 'NodePort',
      clusterIP: '10.43.0.11',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30111 }],
    });
    await putSlice(
      'np',
      POD_IPS.map((ip) => ({ ip })),
    );
    await eventually(async () => (await curl(outside, `http://${NODE_OUT_IP}:30111/`)).code === 0);
    const r = await curl(outside, `http://${NODE_OUT_IP}:30111/`);
    // externalTrafficPolicy Cluster: the pod sees the node, not the client.
    expect(r.stdout.trim().split(' ')[1]).not.toBe(OUTSIDE_IP);
  });

  it('a service with no endpoints is refused at once (REJECT), not timed out', async () => {
    await createService('empty', {
      clusterIP: '10.43.0.12',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice('empty', []);
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.12/')).code === 7);
    const r = await curl(clientNs, 'http://10.43.0.12/', 5);
    expect(r.code, r.stderr).toBe(7); // curl: could not connect
    expect(r.ms).toBeLessThan(1000); // at once: REJECT answers, a DROP would wait for the 5 s timeout
    console.log(`no-endpoints curl: ${r.stderr.trim()} (${Math.round(r.ms)} ms)`);
  });

  it('session affinity keeps a client on one pod', async () => {
    await createService('sticky', {
      clusterIP: '10.43.0.13',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice(
      'sticky',
      POD_IPS.map((ip) => ({ ip })),
    );
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.13/')).code === 0);
    const pods = new Set<string>();
    for (let i = 0; i < 15; i++) pods.add((await curl(clientNs, 'http://10.43.0.13/')).stdout.split(' ')[0]!);
    expect(pods.size).toBe(1);
  });

  it('scale to 0 and back: refused while empty, served again within one sync', async () => {
    await putSlice('web', []);
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.10/')).code === 7, 3000);
    const t0 = Date.now();
    await putSlice(
      'web',
      POD_IPS.map((ip) => ({ ip })),
    );
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.10/')).code === 0, 3000);
    // Informer delivery + at most one min sync period (100 ms) + restore; generous bound for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('externalTrafficPolicy Local: client IP preserved, local endpoints only; health check node port counts them', async () => {
    await createService('local', {
      type: 'LoadBalancer',
      clusterIP: '10.43.0.14',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30114 }],
    });
    await putSlice('local', [{ ip: POD_IPS[0]! }, { ip: POD_IPS[1]!, node: 'node-b' }]);
    await eventually(async () => (await curl(outside, `http://${NODE_OUT_IP}:30114/`)).code === 0);
    for (let i = 0; i < 10; i++) {
      const r = await curl(outside, `http://${NODE_OUT_IP}:30114/`);
      expect(r.stdout.trim()).toBe(`pod0 ${OUTSIDE_IP}`);
    }
    const port = serviceHealth.port('default/local');
    expect(port).toBeDefined();
    const h = await fetch(`http://127.0.0.1:${port}/`);
    expect(h.status).toBe(200);
    expect((await h.json()).localEndpoints).toBe(1);
  });

  it('externalTrafficPolicy Local on a node without local endpoints: outside traffic is not served, health 503', async () => {
    // The same namespace now plays node-b's neighbour node-c: restart the proxy under another name.
    await proxy!.stop();
    factory.stop();
    nodeName = 'node-c';
    await startProxy();
    const r = await curl(outside, `http://${NODE_OUT_IP}:30114/`, 1);
    expect(r.code).not.toBe(0); // DROPped as upstream: the load balancer's health check steers clients away
    const h = await fetch(`http://127.0.0.1:${serviceHealth.port('default/local')}/`);
    expect(h.status).toBe(503);
    // Pods still reach the service through its ClusterIP (all endpoints).
    expect((await curl(clientNs, 'http://10.43.0.14/')).code).toBe(0);
    // The restarted proxy's first (full) sync left one jump per hook.
    if (mode === 'iptables') {
      const nat = net.exec(node, ['iptables-save', '-t', 'nat']);
      expect(nat.split('\n').filter((l) => l.startsWith('-A PREROUTING')).length).toBe(1);
    } else {
      const chain = net.exec(node, ['nft', 'list', 'chain', 'ip', 'k8ts-proxy', 'nat-prerouting']);
      expect(chain.match(/jump services/g)?.length).toBe(1);
    }
  });

  it('loadBalancerSourceRanges: the LB IP answers an allowed client, not another one', async () => {
    await createService('fw', {
      type: 'LoadBalancer',
      clusterIP: '10.43.0.15',
      loadBalancerSourceRanges: [`${OUTSIDE_IP}/32`],
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30115 }],
    });
    const cur = await client.request('GET', `${NS}/services/fw`);
    await client.request('PUT', `${NS}/services/fw/status`, {
      body: { ...cur, status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } },
    });
    await putSlice(
      'fw',
      POD_IPS.map((ip) => ({ ip })),
    );
    await eventually(async () => (await curl(outside, `http://${LB_IP}/`)).code === 0);
    for (let i = 0; i < 5; i++) expect((await curl(outside, `http://${LB_IP}/`)).code).toBe(0);
    const blocked = await net.run(outside, [
      'curl',
      '-sS',
      '--max-time',
      '1',
      '--interface',
      OUTSIDE_IP_BLOCKED,
      `http://${LB_IP}/`,
    ]);
    // Not served. nftables drops it before routing (curl times out: 28); iptables lets it reach
    // routing, which has no route for the LB IP here and answers unreachable (7).
    expect(blocked.code, blocked.stderr).toBe(mode === 'nftables' ? 28 : 7);
    // The NodePort is not subject to the source ranges (upstream).
    const np = await net.run(outside, [
      'curl',
      '-sS',
      '--max-time',
      '2',
      '--interface',
      OUTSIDE_IP_BLOCKED,
      `http://${NODE_OUT_IP}:30115/`,
    ]);
    expect(np.code, np.stderr).toBe(0);
  });

  it('an incremental sync after a full one leaves the same ruleset as a fresh full sync', async () => {
    // Churn: endpoints change, a service goes, affinity changes: all partial syncs.
    await putSlice('web', [{ ip: POD_IPS[0]! }, { ip: POD_IPS[2]! }]);
    await client.request('DELETE', `${NS}/services/empty`);
    const sticky = await client.request('GET', `${NS}/services/sticky`);
    sticky.spec.sessionAffinityConfig.clientIP.timeoutSeconds = 120;
    await client.request('PUT', `${NS}/services/sticky`, { body: sticky });
    await eventually(async () => (await curl(clientNs, 'http://10.43.0.12/', 1)).code !== 7);
    await new Promise((r) => setTimeout(r, 300));
    await proxy!.idle();
    const fresh = net.add('fresh');
    const backend = kernelBackend(mode, fresh, { nodeName });
    await backend.sync({
      state: proxy!.state,
      changedServices: new Set(),
      full: true,
      staleEndpoints: [],
      newlyActiveUdp: [],
      removedServicePorts: [],
    });
    const incremental = kernelRuleset(net, node, mode);
    expect(incremental).toContain('10.43.0.13');
    expect(incremental).not.toContain('10.43.0.12');
    expect(incremental).toBe(kernelRuleset(net, fresh, mode));
  });

  it('nodePortAddresses: NodePorts only on local addresses inside the given CIDRs', async () => {
    await proxy!.stop();
    factory.stop();
    nodeName = 'node-a';
    await startProxy(['192.168.77.0/24']);
    await eventually(async () => (await curl(outside, `http://${NODE_OUT_IP}:30111/`)).code === 0);
    // The node's bridge address is local too, but outside the CIDRs: no NodePort there.
    const r = await curl(clientNs, 'http://10.42.0.1:30111/', 1);
    expect(r.code).not.toBe(0);
  });
});
