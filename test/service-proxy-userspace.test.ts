/**
 * The service proxy scenarios of the kernel test (service-proxy-netns.test.ts) in userspace mode,
 * rootless: a real `k8ts server`, the proxy's informers, the userspace proxier listening on the
 * rootless loopback addresses, and three "pods" (HTTP servers on 127.0.0.31-33). Everything stays
 * on loopback. What userspace mode cannot do by design (as upstream's userspace mode): keep the
 * client's source address (the backend sees the proxy's connection).
 */
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InformerFactory } from '../src/core/client/informer-factory.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { ServiceProxy } from '../src/service-proxy/service-proxy.js';
import { UserspaceProxier } from '../src/service-proxy/userspace-proxier.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

const POD_IPS = ['127.0.0.31', '127.0.0.32', '127.0.0.33'];
const CLIENT_IP = '127.0.0.20';
const NODE = 'node-a';
const NS = '/api/v1/namespaces/default';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

interface Answer {
  pod?: string;
  remote?: string;
  error?: string;
}

/** One HTTP GET with a fresh connection from `from`; the pod's name and the address it saw. */
function get(host: string, port: number, from = CLIENT_IP, timeoutMs = 3000): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', agent: false, localAddress: from }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const [pod, remote] = body.trim().split(' ');
        resolve({ pod, remote });
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ error: 'TIMEOUT' });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

describe('service proxy in userspace mode (rootless, loopback)', () => {
  let server: RunningServer | undefined;
  let client: RestClient;
  let factory: InformerFactory;
  let proxy: ServiceProxy | undefined;
  const proxier = new UserspaceProxier({
    nodeName: NODE,
    nodePortHost: '127.0.0.1',
    nodePortFor: () => 0, // a free port each: tests read where it listens from the proxier
    log: () => {},
  });
  const pods: http.Server[] = [];
  let podPort = 0;

  const putSlice = async (service: string, eps: { ip: string; node?: string }[]) => {
    const name = `${service}-1`;
    const body = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: podPort, protocol: 'TCP' }],
      endpoints: eps.map((e) => ({
        addresses: [e.ip],
        conditions: { ready: true },
        nodeName: e.node ?? NODE,
      })),
    };
    try {
      const cur = await client.request('GET', `${SLICES}/${name}`);
      await client.request('PUT', `${SLICES}/${name}`, {
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

  /** Where the proxier listens for service `name`'s port `http`, once it does. */
  const where = async (name: string, kind: 'cluster' | 'nodeport' = 'cluster') => {
    let a: { host: string; port: number } | undefined;
    await eventually(async () => (a = proxier.address(`default/${name}:http/TCP`, kind)) !== undefined);
    return a!;
  };

  const eventually = async (check: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('condition not reached in time');
  };

  beforeAll(async () => {
    // Three pods on one free port.
    for (let attempt = 0; pods.length < POD_IPS.length; attempt++) {
      const ip = POD_IPS[pods.length]!;
      const name = `pod${pods.length}`;
      const s = http.createServer((q, res) => res.end(`${name} ${q.socket.remoteAddress}\n`));
      try {
        await new Promise<void>((res, rej) => {
          s.once('error', rej);
          s.listen(podPort, ip, () => res());
        });
        podPort = (s.address() as net.AddressInfo).port;
        pods.push(s);
      } catch (e) {
        s.close();
        for (const p of pods.splice(0)) p.close();
        podPort = 0;
        if (attempt > 5) throw e;
      }
    }
    server = await startServer({ args: ['--disable-controllers'] });
    client = new RestClient(loadKubeconfig(server.kubeconfig));
    factory = new InformerFactory(client);
    proxy = new ServiceProxy({ factory, nodeName: NODE, backends: [proxier], minSyncPeriodMs: 100 });
    void factory.start();
    await proxy.start();
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    factory?.stop();
    client?.close();
    for (const p of pods) p.close();
    if (server) {
      await server.kill();
      cleanup(server.dataDir);
    }
  });

  it('ClusterIP: 3 pods answer a client in turn', async () => {
    await createService('web', {
      clusterIP: '10.43.77.10',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice(
      'web',
      POD_IPS.map((ip) => ({ ip })),
    );
    const a = await where('web');
    expect(a.host).toBe('127.43.77.10'); // the rootless stand-in for 10.43.77.10
    await eventually(async () => (await get(a.host, a.port)).pod !== undefined);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await get(a.host, a.port);
      expect(r.error).toBeUndefined();
      seen.set(r.pod!, (seen.get(r.pod!) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['pod0', 'pod1', 'pod2']);
    // Round robin: each pod gets its turn (10 of 30 each).
    expect([...seen.values()]).toEqual([10, 10, 10]);
  });

  it('hairpin: a pod reaches itself through its own service', async () => {
    const a = await where('web');
    let self = 0;
    for (let i = 0; i < 12; i++) {
      const r = await get(a.host, a.port, POD_IPS[0]);
      expect(r.error).toBeUndefined();
      if (r.pod === 'pod0') self++;
    }
    expect(self).toBeGreaterThan(0);
  });

  it('NodePort answers on the node address', async () => {
    await createService('np', {
      type: 'NodePort',
      clusterIP: '10.43.77.11',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30111 }],
    });
    await putSlice(
      'np',
      POD_IPS.map((ip) => ({ ip })),
    );
    const a = await where('np', 'nodeport');
    expect(a.host).toBe('127.0.0.1');
    await eventually(async () => (await get(a.host, a.port)).pod !== undefined);
    const pods = new Set<string>();
    for (let i = 0; i < 6; i++) pods.add((await get(a.host, a.port)).pod!);
    expect([...pods].sort()).toEqual(['pod0', 'pod1', 'pod2']);
  });

  it('a service with no endpoints is refused at once, not timed out', async () => {
    await createService('empty', {
      clusterIP: '10.43.77.12',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice('empty', []);
    const a = await where('empty');
    const r = await get(a.host, a.port, CLIENT_IP, 5000);
    // The listener takes the connection and resets it at once (no endpoint to dial).
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain(r.error);
  });

  it('session affinity keeps a client on one pod', async () => {
    await createService('sticky', {
      clusterIP: '10.43.77.13',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    await putSlice(
      'sticky',
      POD_IPS.map((ip) => ({ ip })),
    );
    const a = await where('sticky');
    await eventually(async () => (await get(a.host, a.port)).pod !== undefined);
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) seen.add((await get(a.host, a.port)).pod!);
    expect(seen.size).toBe(1);
    // Another client is placed independently (and stays too).
    const other = new Set<string>();
    for (let i = 0; i < 5; i++) other.add((await get(a.host, a.port, '127.0.0.21')).pod!);
    expect(other.size).toBe(1);
  });

  it('scale to 0 and back: refused while empty, served again within one sync', async () => {
    const a = await where('web');
    await putSlice('web', []);
    await eventually(async () => (await get(a.host, a.port)).error !== undefined, 3000);
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain((await get(a.host, a.port)).error);
    await putSlice(
      'web',
      POD_IPS.map((ip) => ({ ip })),
    );
    // Informer delivery + at most one min sync period (100 ms); the bound is for a loaded machine.
    await eventually(async () => (await get(a.host, a.port)).pod !== undefined, 3000);
  });

  it('externalTrafficPolicy Local: the NodePort sends only to this node’s endpoints', async () => {
    await createService('local', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      clusterIP: '10.43.77.14',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30114 }],
    });
    await putSlice('local', [
      { ip: POD_IPS[0]! },
      { ip: POD_IPS[1]!, node: 'node-b' },
      { ip: POD_IPS[2]!, node: 'node-b' },
    ]);
    const np = await where('local', 'nodeport');
    await eventually(async () => (await get(np.host, np.port)).pod !== undefined);
    const viaNodePort = new Set<string>();
    for (let i = 0; i < 9; i++) viaNodePort.add((await get(np.host, np.port)).pod!);
    expect([...viaNodePort]).toEqual(['pod0']);
    // The ClusterIP (internal traffic policy Cluster) still reaches every pod.
    const c = await where('local');
    const viaCluster = new Set<string>();
    for (let i = 0; i < 9; i++) viaCluster.add((await get(c.host, c.port)).pod!);
    expect([...viaCluster].sort()).toEqual(['pod0', 'pod1', 'pod2']);
  });

  it('externalTrafficPolicy Local on a node without local endpoints: the NodePort serves nothing', async () => {
    await createService('remote', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      clusterIP: '10.43.77.15',
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30115 }],
    });
    await putSlice('remote', [{ ip: POD_IPS[1]!, node: 'node-b' }]);
    const c = await where('remote');
    await eventually(async () => (await get(c.host, c.port)).pod === 'pod1');
    const np = await where('remote', 'nodeport');
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain((await get(np.host, np.port)).error);
  });
});
