/**
 * The kubelet in root mode with its real pod network: the whole node (API server + kubelet) runs
 * inside a private network namespace made for this test, so the bridge k8ts0, the veths, the pod
 * namespaces and the NAT rules exist only there (and in the pod namespaces the kubelet creates,
 * which `k8ts kubelet --cleanup` removes in afterAll, also after a failure).
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeletCluster, startKubeletCluster } from './helpers/kubelet-cluster.js';
import { kubeletScenarios } from './helpers/kubelet-scenarios.js';
import { KUBECTL, requireTool } from './helpers/server.js';

const isRoot = process.getuid?.() === 0;
const have =
  requireTool(KUBECTL, 'install kubectl') &&
  requireTool('/usr/bin/curl', 'apt-get install curl') &&
  requireTool('/usr/sbin/ip', 'apt-get install iproute2') &&
  requireTool('/usr/bin/nsenter', 'apt-get install util-linux') &&
  requireTool('/usr/sbin/iptables', 'apt-get install iptables');
if (!isRoot && process.env.CI) throw new Error('the netns kubelet test needs root');

const podNamespaces = (node: string) =>
  readdirSync('/run/netns').filter((n) => n.startsWith(`k8ts-${node}-`));

describe.runIf(have && isRoot)('kubelet, root mode in a network namespace', () => {
  let c: KubeletCluster;
  beforeAll(async () => {
    c = await startKubeletCluster({ mode: 'netns' });
  }, 60_000);
  afterAll(async () => {
    const node = c?.nodeName;
    await c?.close();
    if (node) expect(podNamespaces(node)).toEqual([]);
  }, 60_000);

  kubeletScenarios(() => c);

  it('pods sit on bridge k8ts0 with hairpin on, the gateway is the first podCIDR address, NAT leaves the cluster CIDR', async () => {
    const node = JSON.parse(await c.kubectlOk(['get', 'node', c.nodeName, '-o', 'json']));
    const cidr: string = node.spec.podCIDR;
    const gw = cidr.replace(/0\/24$/, '1');
    const addr = await c.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'k8ts0']);
    expect(addr.stdout).toContain(`${gw}/24`);
    const links = await c.exec(['bridge', '-d', 'link', 'show']);
    expect(links.stdout).toMatch(/master k8ts0/);
    expect(links.stdout).toMatch(/hairpin on/);
    const nat = await c.exec(['iptables', '-t', 'nat', '-S', 'K8TS-POSTROUTING']);
    expect(nat.stdout).toContain('-j MASQUERADE');
    const pods = JSON.parse(await c.kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
    const ns = podNamespaces(c.nodeName);
    expect(ns.length).toBeGreaterThanOrEqual(3);
    // Inside a pod namespace: eth0 with the pod IP and a default route via the gateway.
    const uid: string = pods[0].metadata.uid;
    const podNs = ns.find((n) => n.endsWith(uid.replace(/-/g, '').slice(0, 12)))!;
    const route = await c.exec(['ip', '-n', podNs, 'route', 'show', 'default']);
    expect(route.stdout + route.stderr).toContain(`via ${gw} dev eth0`);
    // Pod to pod across the bridge.
    const other = pods[1].status.podIP;
    const r = await c.exec(['ip', 'netns', 'exec', podNs, 'curl', '-s', '-m', '3', `http://${other}:8080/`]);
    expect(r.stdout).toBe(pods[1].metadata.name);
  }, 60_000);
});
