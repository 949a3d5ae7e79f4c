/**
 * Three nodes in network namespaces (test/helpers/multinode.ts): one `k8ts server`, two agents,
 * the real kubectl, curl and kernel. For each pod network backend: pods on different nodes reach
 * each other by pod IP, ClusterIP and DNS name with their own source IP; a NodePort on node 2
 * reaches pods on nodes 1 and 3; a server restart disturbs no pod; a killed agent's node turns
 * NotReady and its pods come back on the others.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type MultiNodeCluster, run, startCluster, waitFor } from './helpers/multinode.js';
import { canUseNetns } from './helpers/netns.js';
import { KUBECTL, requireTool } from './helpers/server.js';

type KObj = Record<string, any>;

const have =
  requireTool(KUBECTL, 'install kubectl') &&
  requireTool('/usr/bin/curl', 'apt-get install curl') &&
  requireTool('/usr/sbin/ip', 'apt-get install iproute2') &&
  requireTool('/usr/sbin/bridge', 'apt-get install iproute2') &&
  requireTool('/usr/bin/nsenter', 'apt-get install util-linux') &&
  requireTool('/usr/sbin/iptables', 'apt-get install iptables');
const root = canUseNetns();
if (!root && process.env.CI) throw new Error('the multi-node test needs root, ip and iptables-restore');
if (!root) console.warn('skipping multinode.test.ts: run as root with iproute2 and iptables');

/** Answers `<pod name> <client address>`: the target tells who it saw. */
const SERVER_JS =
  "require('http').createServer((q,s)=>s.end(process.env.POD_NAME+' '+q.socket.remoteAddress.replace(/^::ffff:/,''))).listen(8080)";
const IDLE_JS = 'setInterval(()=>{},1<<30)';

const tolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
];

const ready = (p: KObj) =>
  !p.metadata.deletionTimestamp &&
  p.status?.conditions?.some((c: KObj) => c.type === 'Ready' && c.status === 'True');

function manifests(clientNode: string): string {
  const items = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            tolerations,
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'web',
                image: 'node',
                command: [process.execPath, '-e', SERVER_JS],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [{ containerPort: 8080, name: 'http' }],
                readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-np' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: {
        nodeName: clientNode,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: 'node', command: [process.execPath, '-e', IDLE_JS] }],
      },
    },
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

const backends: Backend[] = ['host-gw', 'vxlan'];
/** TEST-NET-2 addresses: nothing else on this machine uses them, and they exist only in our LAN. */
const LB_POOL = '198.51.100.8/29';

describe.runIf(have && root).each(backends)('3-node cluster in network namespaces, %s', (backend) => {
  let c: MultiNodeCluster;
  const pods = async (): Promise<KObj[]> =>
    JSON.parse(await c.kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
  const node = (i: number) => c.nodes[i - 1]!.name;
  const webReadyOn = async (names: string[]) => {
    const ps = (await pods()).filter(ready);
    return ps.length === 6 && names.every((n) => ps.some((p) => p.spec.nodeName === n)) ? ps : undefined;
  };
  /** curl from the client pod until `pred` holds for an answer (load-balanced targets vary). */
  const curlUntil = (url: string, pred: (body: string) => boolean) =>
    waitFor(
      `an answer from ${url} matching ${pred}`,
      async () => {
        const r = await c.curlFromPod('client', url);
        return r.code === 0 && pred(r.stdout) ? r.stdout : undefined;
      },
      30_000,
    );

  beforeAll(async () => {
    c = await startCluster({
      nodes: 3,
      backend,
      // The kubelet renews its Lease every 10 s: a grace period above that, still short.
      // The local cloud provider hands LoadBalancer addresses out of a pool the LAN routes to node 2.
      serverArgs: ['--node-monitor-grace-period', '15', '--cloud-provider', 'local', '--lb-pool', LB_POOL],
      disable: ['ingress'],
    });
    await c.kubectlOk(['apply', '-f', '-'], manifests(c.nodes[0]!.name));
  }, 180_000);
  afterAll(async () => {
    await c?.cleanup();
    // Nothing of ours is left: no node, LAN or pod namespace.
    const ids = (c?.nodes ?? []).map((n) => n.name);
    expect(readdirSync('/run/netns').filter((f) => ids.some((id) => f.includes(id.split('-')[0]!)))).toEqual(
      [],
    );
  }, 120_000);

  it('all nodes Ready, each with a podCIDR routed by the others', async () => {
    const nodes: KObj[] = JSON.parse(await c.kubectlOk(['get', 'nodes', '-o', 'json'])).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(c.nodes.map((n) => n.name).sort());
    for (const n of nodes) expect(n.spec.podCIDR).toMatch(/^10\.42\.\d+\.0\/24$/);
    const cidr = (i: number) => nodes.find((n) => n.metadata.name === node(i))!.spec.podCIDR;
    const routes = (await c.exec(1, ['ip', 'route', 'show', 'proto', '75'])).stdout;
    if (backend === 'host-gw') {
      expect(routes).toContain(`${cidr(2)} via ${c.nodes[1]!.ip} dev eth0`);
      expect(routes).toContain(`${cidr(3)} via ${c.nodes[2]!.ip} dev eth0`);
    } else {
      expect(routes).toContain(`${cidr(3)} via ${cidr(3).split('/')[0]} dev k8ts.1 onlink`);
      const n3 = nodes.find((n) => n.metadata.name === node(3))!;
      const mac = n3.metadata.annotations['k8ts.io/vxlan-mac'];
      expect(n3.metadata.annotations['k8ts.io/public-ip']).toBe(c.nodes[2]!.ip);
      const fdb = (await c.exec(1, ['bridge', 'fdb', 'show', 'dev', 'k8ts.1'])).stdout;
      expect(fdb).toContain(`${mac} dst ${c.nodes[2]!.ip}`);
      const link = (await c.exec(1, ['ip', '-d', 'link', 'show', 'k8ts.1'])).stdout;
      expect(link).toMatch(/mtu 1450/);
      expect(link).toMatch(/vxlan id 1 local 172\.31\.255\.1 .*dstport 8472/);
    }
    // The node's own podCIDR is not among them.
    expect(routes).not.toContain(cidr(1));
  });

  it('a Deployment of 6 replicas spreads over the 3 nodes', async () => {
    const ps = await waitFor(
      '6 ready web pods on 3 nodes',
      () => webReadyOn([node(1), node(2), node(3)]),
      90_000,
    );
    expect(new Set(ps.map((p) => p.spec.nodeName)).size).toBe(3);
  }, 100_000);

  it('a pod on node 1 reaches a pod on node 3 by pod IP, ClusterIP and DNS name, with its own source IP', async () => {
    const client = await waitFor('client Ready', async () => {
      const p = JSON.parse(await c.kubectlOk(['get', 'pod', 'client', '-o', 'json']));
      return ready(p) ? p : undefined;
    });
    const clientIp: string = client.status.podIP;
    const target = (await pods()).find((p) => p.spec.nodeName === node(3) && ready(p))!;
    const byIp = await c.curlFromPod('client', `http://${target.status.podIP}:8080/`);
    expect(byIp.stdout).toBe(`${target.metadata.name} ${clientIp}`);
    const onNode3 = new Set(
      (await pods()).filter((p) => p.spec.nodeName === node(3)).map((p) => p.metadata.name),
    );
    const svc = JSON.parse(await c.kubectlOk(['get', 'svc', 'web', '-o', 'json']));
    const viaClusterIp = await curlUntil(`http://${svc.spec.clusterIP}/`, (b) =>
      onNode3.has(b.split(' ')[0]!),
    );
    expect(viaClusterIp.split(' ')[1]).toBe(clientIp);
    const viaDns = await curlUntil('http://web.default.svc.cluster.local/', (b) =>
      onNode3.has(b.split(' ')[0]!),
    );
    expect(viaDns.split(' ')[1]).toBe(clientIp);
  }, 90_000);

  it('a NodePort on node 2 reaches pods on nodes 1 and 3 from outside the cluster', async () => {
    const np: number = JSON.parse(await c.kubectlOk(['get', 'svc', 'web-np', '-o', 'json'])).spec.ports[0]
      .nodePort;
    const byNode = new Map((await pods()).map((p) => [p.metadata.name as string, p.spec.nodeName as string]));
    const outside = c.addClient();
    const seen = new Set<string>();
    await waitFor(
      'answers from pods on nodes 1 and 3 through node 2',
      async () => {
        const r = await outside.exec(['curl', '-s', '-m', '3', `http://${c.nodes[1]!.ip}:${np}/`]);
        if (r.code === 0) seen.add(byNode.get(r.stdout.split(' ')[0]!) ?? '');
        return seen.has(node(1)) && seen.has(node(3)) ? true : undefined;
      },
      30_000,
    );
  }, 40_000);

  it('a LoadBalancer Service gets a pool address (local cloud provider), a LAN client reaches the pods through it, and deleting the Service removes it', async () => {
    await c.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web-lb' },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
      }),
    );
    const ip = await waitFor('web-lb address', async () => {
      const svc = JSON.parse(await c.kubectlOk(['get', 'svc', 'web-lb', '-o', 'json']));
      return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
    });
    expect(ip).toMatch(/^198\.51\.100\.(9|1[0-4])$/);
    // As a provider routes a floating IP to one machine: the LAN client's route for the pool.
    const outside = c.addClient();
    const r = await run(['ip', '-n', outside.ns, 'route', 'add', LB_POOL, 'via', c.nodes[1]!.ip]);
    expect(r.code).toBe(0);
    const byNode = new Map((await pods()).map((p) => [p.metadata.name as string, p.spec.nodeName as string]));
    const seen = new Set<string>();
    const failures: string[] = [];
    await waitFor(
      'answers through the LoadBalancer address from pods on two nodes',
      async () => {
        const res = await outside.exec(['curl', '-s', '-m', '3', `http://${ip}/`]);
        const on = byNode.get(res.stdout.split(' ')[0]!);
        if (res.code === 0 && on) seen.add(on);
        else failures.push(`curl ${res.code} ${JSON.stringify(res.stdout)}`);
        return seen.size >= 2 ? true : undefined;
      },
      30_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}; seen ${[...seen]}; last: ${failures.slice(-3).join('; ')}`);
    });
    // Deleting the Service removes the load balancer: kubectl waits for the cloud controller to
    // drop its cleanup finalizer, and the proxies stop answering on the address.
    await c.kubectlOk(['delete', 'svc', 'web-lb', '--wait=true', '--timeout=30s']);
    const gone = await c.kubectl(['get', 'svc', 'web-lb', '-o', 'name']);
    expect(gone.stderr).toMatch(/NotFound/);
    await waitFor(
      'the LoadBalancer address stops answering',
      async () => {
        const res = await outside.exec(['curl', '-s', '-m', '1', `http://${ip}/`]);
        return res.code !== 0 ? true : undefined;
      },
      20_000,
    );
  }, 90_000);

  it('restarting the server disturbs no running pod', async () => {
    const before = (await pods()).map((p) => p.metadata.uid).sort();
    await c.restartServer();
    await waitFor('3 nodes Ready after the restart', async () => {
      const ns: KObj[] = JSON.parse(await c.kubectlOk(['get', 'nodes', '-o', 'json'])).items;
      return ns.filter((n) =>
        n.status.conditions.some((x: KObj) => x.type === 'Ready' && x.status === 'True'),
      ).length === 3
        ? true
        : undefined;
    });
    const after = await pods();
    expect(after.map((p) => p.metadata.uid).sort()).toEqual(before);
    for (const p of after) {
      expect(ready(p)).toBe(true);
      expect(p.status.containerStatuses[0].restartCount).toBe(0);
    }
    const target = after.find((p) => p.spec.nodeName === node(3))!;
    const r = await c.curlFromPod('client', `http://${target.status.podIP}:8080/`);
    expect(r.stdout.split(' ')[0]).toBe(target.metadata.name);
  }, 120_000);

  it('killing an agent makes its node NotReady and its pods come back on the other nodes', async () => {
    const lost = new Set(
      (await pods()).filter((p) => p.spec.nodeName === node(3)).map((p) => p.metadata.uid),
    );
    expect(lost.size).toBeGreaterThan(0);
    await c.stopAgent(3, 'SIGKILL');
    await waitFor(
      'node 3 NotReady',
      async () => {
        const n = JSON.parse(await c.kubectlOk(['get', 'node', node(3), '-o', 'json']));
        return n.status.conditions.some((x: KObj) => x.type === 'Ready' && x.status !== 'True')
          ? true
          : undefined;
      },
      60_000,
    );
    const ps = await waitFor(
      '6 ready web pods on nodes 1 and 2',
      async () => {
        const all = (await pods()).filter(ready);
        return all.length === 6 && all.every((p) => p.spec.nodeName !== node(3)) ? all : undefined;
      },
      90_000,
    );
    expect(ps.some((p) => lost.has(p.metadata.uid))).toBe(false);
    // The service answers from the survivors.
    const svc = JSON.parse(await c.kubectlOk(['get', 'svc', 'web', '-o', 'json']));
    const r = await c.curlFromPod('client', `http://${svc.spec.clusterIP}/`);
    expect(ps.map((p) => p.metadata.name)).toContain(r.stdout.split(' ')[0]);
  }, 180_000);
});
