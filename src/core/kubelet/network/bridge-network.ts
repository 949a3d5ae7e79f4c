/**
 * Root-mode pod network, as the bridge + host-local CNI plugins do it:
 * - bridge `k8ts0` holding the gateway (first address of the podCIDR), IP forwarding on;
 * - per pod a network namespace `k8ts-<node>-<uid prefix>` (under /run/netns), a veth pair whose
 *   host end (`kv<hash>`) joins the bridge with hairpin mode on and whose pod end is `eth0` with
 *   the pod's IP from the persisted IPAM, `lo` up, a default route via the gateway;
 * - masquerade (own chain K8TS-POSTROUTING in nat) for pod traffic leaving the cluster CIDR.
 * Every step is idempotent, so a restarted kubelet re-runs setUp for running pods harmlessly.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { KObj } from '../../client/informer.js';
import { parseCidr } from '../../controllers/node-ipam-cidr-set.js';
import { KubeletError } from '../errors.js';
import type { CommandRunner } from './exec-command.js';
import { PersistentIpam } from './ipam.js';
import type { PodNetwork, PodNetworkResult } from './pod-network.js';

export const BRIDGE = 'k8ts0';
export const NAT_CHAIN = 'K8TS-POSTROUTING';
const NETNS_DIR = '/run/netns';

export interface BridgeNetworkOptions {
  nodeName: string;
  ipamPath: string;
  clusterCidr: string;
  run: CommandRunner;
  log?: ((line: string) => void) | undefined;
}

/** The pod's namespace name: `k8ts-<node>-<first 12 hex of the uid>`. */
export function netnsName(nodeName: string, uid: string): string {
  return `${netnsPrefix(nodeName)}${uid.replace(/-/g, '').slice(0, 12)}`;
}

/** The prefix of every pod namespace of this node (what --cleanup removes). */
export function netnsPrefix(nodeName: string): string {
  return `k8ts-${nodeName}-`;
}

/** Host-side veth name (15 characters at most): `kv` + 12 hex of a hash of the uid. */
export function hostVethName(uid: string): string {
  return `kv${createHash('sha256').update(uid).digest('hex').slice(0, 12)}`;
}

export class BridgeNetwork implements PodNetwork {
  readonly mode = 'bridge' as const;
  private readonly opts: BridgeNetworkOptions;
  private readonly ipam: PersistentIpam;
  private prefixLen = 24;
  private podCidr = '';

  constructor(opts: BridgeNetworkOptions) {
    this.opts = opts;
    this.ipam = new PersistentIpam(opts.ipamPath);
  }

  private async must(argv: string[], input?: string): Promise<string> {
    const r = await this.opts.run(argv, input === undefined ? {} : { input });
    if (r.code !== 0)
      throw new KubeletError('NETWORK', `${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  async init(podCidr: string): Promise<void> {
    const c = parseCidr(podCidr);
    if (!c) throw new KubeletError('OPTIONS', `not an IPv4 CIDR: "${podCidr}"`);
    this.prefixLen = c.prefix;
    this.podCidr = podCidr;
    this.ipam.init(podCidr);
    const gw = `${this.ipam.gateway()}/${c.prefix}`;
    const run = this.opts.run;
    if ((await run(['ip', 'link', 'show', BRIDGE])).code !== 0)
      await this.must(['ip', 'link', 'add', BRIDGE, 'type', 'bridge']);
    const addrs = await this.must(['ip', '-4', '-o', 'addr', 'show', 'dev', BRIDGE]);
    if (!addrs.includes(` ${gw} `)) await this.must(['ip', 'addr', 'replace', gw, 'dev', BRIDGE]);
    await this.must(['ip', 'link', 'set', BRIDGE, 'up']);
    await this.must(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // Masquerade what leaves the cluster network; one chain of ours, rewritten whole each time.
    const rules = [
      '*nat',
      `:${NAT_CHAIN} - [0:0]`,
      `-A ${NAT_CHAIN} -s ${podCidr} -d ${this.opts.clusterCidr} -j RETURN`,
      `-A ${NAT_CHAIN} -s ${podCidr} ! -d 224.0.0.0/4 -j MASQUERADE`,
      'COMMIT',
      '',
    ].join('\n');
    await this.must(['iptables-restore', '--noflush'], rules);
    if ((await run(['iptables', '-t', 'nat', '-C', 'POSTROUTING', '-j', NAT_CHAIN])).code !== 0)
      await this.must(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-j', NAT_CHAIN]);
  }

  ready(): boolean {
    return this.ipam.ready;
  }

  get(uid: string): PodNetworkResult | undefined {
    const ip = this.ipam.get(uid);
    if (!ip) return undefined;
    return { ip, netnsPath: `${NETNS_DIR}/${netnsName(this.opts.nodeName, uid)}` };
  }

  async setUp(pod: KObj): Promise<PodNetworkResult> {
    const uid: string = pod.metadata.uid;
    const ip = await this.ipam.allocate(uid);
    const ns = netnsName(this.opts.nodeName, uid);
    const veth = hostVethName(uid);
    const run = this.opts.run;
    if (!existsSync(`${NETNS_DIR}/${ns}`)) await this.must(['ip', 'netns', 'add', ns]);
    const hasEth0 = (await run(['ip', '-n', ns, 'link', 'show', 'eth0'])).code === 0;
    if (!hasEth0) {
      await run(['ip', 'link', 'del', veth]);
      await this.must(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    }
    await this.must(['ip', 'link', 'set', veth, 'master', BRIDGE, 'up']);
    await this.must(['ip', 'link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await this.must(['ip', '-n', ns, 'addr', 'replace', `${ip}/${this.prefixLen}`, 'dev', 'eth0']);
    await this.must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await this.must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await this.must([
      'ip',
      '-n',
      ns,
      'route',
      'replace',
      'default',
      'via',
      this.ipam.gateway(),
      'dev',
      'eth0',
    ]);
    return { ip, netnsPath: `${NETNS_DIR}/${ns}` };
  }

  async tearDown(uid: string): Promise<void> {
    const ns = netnsName(this.opts.nodeName, uid);
    if (existsSync(`${NETNS_DIR}/${ns}`)) await this.must(['ip', 'netns', 'del', ns]);
    await this.opts.run(['ip', 'link', 'del', hostVethName(uid)]);
    await this.ipam.release(uid);
  }

  uids(): string[] {
    return this.ipam.uids();
  }

  async cleanupAll(): Promise<void> {
    const prefix = netnsPrefix(this.opts.nodeName);
    let names: string[] = [];
    try {
      names = readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
    } catch {
      names = [];
    }
    for (const n of names) await this.opts.run(['ip', 'netns', 'del', n]);
    for (const uid of this.ipam.uids()) await this.ipam.release(uid);
    await this.opts.run(['ip', 'link', 'del', BRIDGE]);
    await this.opts.run(['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', NAT_CHAIN]);
    await this.opts.run(['iptables', '-t', 'nat', '-F', NAT_CHAIN]);
    await this.opts.run(['iptables', '-t', 'nat', '-X', NAT_CHAIN]);
    void this.podCidr;
  }
}
