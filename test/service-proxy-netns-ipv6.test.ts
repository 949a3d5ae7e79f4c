/**
 * The service proxy over IPv6 in a real kernel, as root, in private network namespaces, in both
 * kernel modes (ip6tables-restore and `nft` with an ip6 table):
 *
 *   node (br0 fd00:42::1/64) --bridge-- pod0, pod1 (fd00:42::11, ::12), client (fd00:42::20)
 *
 * A real `k8ts server` with an IPv6 service CIDR runs on the host loopback; the proxy runs in this
 * process and only its commands enter the node namespace. Nothing touches the host's network.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InformerFactory } from '../src/core/client/informer-factory.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { IptablesProxier } from '../src/service-proxy/iptables-proxier.js';
import { NftablesProxier } from '../src/service-proxy/nftables-proxier.js';
import { NetnsRunner } from '../src/service-proxy/runner.js';
import { ServiceProxy } from '../src/service-proxy/service-proxy.js';
import { canUseNetns, canUseNft, Netns } from './helpers/netns.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

const ok = canUseNetns();
if (!ok && process.env.CI) throw new Error('service proxy kernel tests need root, iproute2 and iptables');
const nftOk = ok && canUseNft();
if (ok && !nftOk && process.env.CI)
  throw new Error('nftables mode kernel tests need nft (apt install nftables)');
type Mode = 'iptables' | 'nftables';

const POD_IPS = ['fd00:42::11', 'fd00:42::12'];
const CLIENT_IP = 'fd00:42::20';
const NS = '/api/v1/namespaces/default';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const SERVER_JS =
  "const http=require('http');const [ip,name]=process.argv.slice(1);" +
  "http.createServer((q,s)=>{s.end(name+' '+q.socket.remoteAddress+'\\n')}).listen(8080,ip,()=>console.log('ready'))";

describe.skipIf(!ok).each<Mode>(['iptables', 'nftables'])('service proxy over IPv6 (%s mode)', (mode) => {
  if (mode === 'nftables' && !nftOk) return;
  const net = new Netns(mode === 'iptables' ? 'sp6' : 'sp6n');
  let server: RunningServer | undefined;
  let client: RestClient;
  let factory: InformerFactory | undefined;
  let proxy: ServiceProxy | undefined;
  let node = '';
  let clientNs = '';
  const pods: string[] = [];

  const curl = (ns: string, url: string, timeout = 2) =>
    net.run(ns, ['curl', '-g', '-sS', '--max-time', String(timeout), url]);
  const eventually = async (check: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('condition not reached in time');
  };
  const serviceWithSlice = async (name: string, ips: string[]) => {
    const svc = await client.request('POST', `${NS}/services`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await client.request('POST', SLICES, {
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv6',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a' })),
      },
    });
    return svc.spec.clusterIP as string;
  };

  beforeAll(async () => {
    try {
      node = net.add('node');
      clientNs = net.add('cli');
      net.exec(node, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      net.exec(node, ['ip', 'addr', 'add', 'fd00:42::1/64', 'dev', 'br0', 'nodad']);
      net.exec(node, ['ip', 'link', 'set', 'br0', 'up']);
      net.exec(node, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      // A route for the service CIDR, so a ClusterIP without endpoints reaches FORWARD and its REJECT.
      net.exec(node, ['ip', 'link', 'add', 'svc0', 'type', 'veth', 'peer', 'name', 'svc1']);
      net.exec(node, ['ip', 'link', 'set', 'svc0', 'up']);
      net.exec(node, ['ip', 'link', 'set', 'svc1', 'up']);
      net.exec(node, ['ip', '-6', 'route', 'add', 'fd00:43::/112', 'dev', 'svc0']);
      const attach = (ns: string, ip: string, i: number) => {
        net.veth(node, `vp${i}`, ns, 'eth0');
        net.exec(node, ['ip', 'link', 'set', `vp${i}`, 'master', 'br0']);
        net.exec(node, ['ip', 'link', 'set', `vp${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
        net.exec(ns, ['ip', 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
        net.exec(ns, ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:42::1']);
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
      await Promise.all(started);

      server = await startServer({ args: ['--disable-controllers', '--service-cidr', 'fd00:43::/112'] });
      client = new RestClient(loadKubeconfig(server.kubeconfig));
      factory = new InformerFactory(client);
      const common = {
        family: 'IPv6' as const,
        nodeName: 'node-a',
        clusterCidr: 'fd00:42::/64',
        runner: new NetnsRunner(node),
      };
      proxy = new ServiceProxy({
        factory,
        nodeName: 'node-a',
        backends: [mode === 'iptables' ? new IptablesProxier(common) : new NftablesProxier(common)],
        minSyncPeriodMs: 100,
      });
      void factory.start();
      await proxy.start();
    } catch (e) {
      net.cleanup();
      throw e;
    }
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    factory?.stop();
    client?.close();
    net.cleanup();
    if (server) {
      await server.kill();
      cleanup(server.dataDir);
    }
  });

  it('ClusterIP: both pods answer a client pod, which they see by its own address', async () => {
    const ip = await serviceWithSlice('web', POD_IPS);
    expect(ip).toMatch(/^fd00:43::/);
    const url = `http://[${ip}]/`;
    await eventually(async () => (await curl(clientNs, url)).code === 0);
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) {
      const r = await curl(clientNs, url);
      expect(r.code, r.stderr).toBe(0);
      const [pod, remote] = r.stdout.trim().split(' ');
      expect(remote).toBe(CLIENT_IP);
      seen.add(pod!);
    }
    expect([...seen].sort()).toEqual(['pod0', 'pod1']);
  });

  it('hairpin: a pod reaches itself through its service, masqueraded', async () => {
    const ip = await serviceWithSlice('self', [POD_IPS[0]!]);
    const url = `http://[${ip}]/`;
    await eventually(async () => (await curl(pods[0]!, url)).code === 0);
    const [pod, remote] = (await curl(pods[0]!, url)).stdout.trim().split(' ');
    expect(pod).toBe('pod0');
    expect(remote).not.toBe(POD_IPS[0]);
  });

  it('a service with no endpoints is refused (REJECT), not timed out', async () => {
    const ip = await serviceWithSlice('empty', []);
    const url = `http://[${ip}]/`;
    await eventually(async () => (await curl(clientNs, url)).code === 7);
    const r = await curl(clientNs, url, 5);
    expect(r.code, r.stderr).toBe(7); // could not connect: refused, where a DROP would time out (28)
  });
});
