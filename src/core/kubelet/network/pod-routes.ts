/**
 * The cross-node pod network of one node: Nodes (list + watch) -> RouteNodeTracker -> one writer
 * that reads what the kernel holds, plans the difference (pod-routes-plan.ts) and applies it in
 * one `bridge -batch` and one `ip -batch`. Runs on every node beside the kubelet (`k8ts server`,
 * `k8ts agent`, `k8ts kubelet --pod-network-backend`). Every kernel command goes through the
 * injected CommandRunner. The writer also re-reads the kernel every `resyncMs`, so a route
 * someone deleted comes back.
 *
 * vxlan: the device `k8ts.1` (VNI 1, UDP 8472, no learning, MTU 1450, a MAC derived from the node
 * name so it survives restarts and re-creation) carries the node's vxlan gateway (podCIDR network
 * address /32); the node publishes the MAC and its underlay IP as Node annotations, which is how
 * the others learn them.
 */
import { createHash } from 'node:crypto';
import { type Clock, realClock, type TimerHandle } from '../../client/clock.js';
import { Informer, type ListWatchClient } from '../../client/informer.js';
import type { RestClient } from '../../client/rest-client.js';
import { KubeletError } from '../errors.js';
import type { CommandRunner } from './exec-command.js';
import {
  ANNOTATION_BACKEND,
  ANNOTATION_PUBLIC_IP,
  ANNOTATION_VXLAN_MAC,
  desiredState,
  macFromBytes,
  type ObservedState,
  type PodNetworkBackend,
  parseFdb,
  parseNeighbours,
  parseRoutes,
  planSync,
  ROUTE_PROTO,
  VXLAN_DEVICE,
  VXLAN_MTU,
  VXLAN_PORT,
  VXLAN_VNI,
  vxlanGateway,
} from './pod-routes-plan.js';
import { RouteNodeTracker } from './pod-routes-tracker.js';

export interface PodRoutesOptions {
  client: ListWatchClient & Pick<RestClient, 'request'>;
  nodeName: string;
  backend: PodNetworkBackend;
  run: CommandRunner;
  /** Underlay address of this node for vxlan (default: its Node's InternalIP). */
  nodeIp?: string | undefined;
  /** Re-read and repair the kernel this often (ms, default 30 s). */
  resyncMs?: number | undefined;
  log?: ((line: string) => void) | undefined;
  clock?: Clock | undefined;
}

export interface PodRoutes {
  readonly backend: PodNetworkBackend;
  /** Number of syncs that ran to the end (tests and metrics). */
  syncs(): number;
  /** Resolves after a sync that started after this call has finished. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** The vxlan MAC of a node: stable for its name, locally administered. */
export function vxlanMac(nodeName: string): string {
  return macFromBytes(createHash('sha256').update(`k8ts-vxlan/${nodeName}`).digest());
}

/** Start programming pod routes for `nodeName`; resolves once the Node list is synced and applied. */
export async function startPodRoutes(opts: PodRoutesOptions): Promise<PodRoutes> {
  const w = new PodRouteWriter(opts);
  await w.start();
  return w;
}

/**
 * Remove everything the pod routes made on this machine: our routes (protocol ROUTE_PROTO) and
 * the vxlan device (its fdb and neighbour entries go with it). For `k8ts kubelet --cleanup`.
 */
export async function cleanupPodRoutes(run: CommandRunner): Promise<void> {
  await run(['ip', '-4', 'route', 'flush', 'proto', String(ROUTE_PROTO)]);
  await run(['ip', 'link', 'del', VXLAN_DEVICE]);
}

class PodRouteWriter implements PodRoutes {
  readonly backend: PodNetworkBackend;
  private readonly opts: PodRoutesOptions;
  private readonly clock: Clock;
  private readonly tracker = new RouteNodeTracker();
  private readonly informer: Informer;
  private readonly log: (line: string) => void;
  private running: Promise<void> | undefined;
  private pending = false;
  private stopped = false;
  private count = 0;
  private resyncTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private readonly reported = new Set<string>();
  private published = '';
  /** No sync before the first full Node list: a partial list would delete routes of unlisted nodes. */
  private synced = false;

  constructor(opts: PodRoutesOptions) {
    this.opts = opts;
    this.backend = opts.backend;
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? ((l) => console.log(l));
    this.informer = new Informer(opts.client, {
      path: '/api/v1/nodes',
      name: 'pod-routes nodes',
      handlers: {
        add: (n) => this.tracker.update(n) && this.request(),
        update: (n) => this.tracker.update(n) && this.request(),
        delete: (n) => this.tracker.delete(n.metadata?.name) && this.request(),
      },
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
    this.synced = true;
    await this.flush();
    this.scheduleResync();
  }

  syncs(): number {
    return this.count;
  }

  /** Ask for a sync: runs at once, or right after the one running (bursts coalesce into one). */
  request(): void {
    if (this.stopped || !this.synced) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.loop();
  }

  async flush(): Promise<void> {
    this.request();
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.pending = false;
        try {
          await this.sync();
          this.count++;
          this.failures = 0;
        } catch (e) {
          this.failures++;
          this.log(`k8ts pod-routes: sync failed: ${(e as Error).message}`);
          const delay = Math.min(500 * 2 ** (this.failures - 1), 30_000);
          if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
          this.retryTimer = this.clock.setTimeout(() => this.request(), delay);
        }
      } while (this.pending && !this.stopped);
    } finally {
      this.running = undefined;
    }
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.request();
      this.scheduleResync();
    }, this.opts.resyncMs ?? 30_000);
  }

  private async must(argv: string[], input?: string): Promise<string> {
    const r = await this.opts.run(argv, input === undefined ? {} : { input });
    if (r.code !== 0)
      throw new KubeletError('NETWORK', `${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Called from loop() only: one sync at a time. */
  private async sync(): Promise<void> {
    const self = this.tracker.get(this.opts.nodeName);
    const vxlan = this.backend === 'vxlan';
    if (vxlan) {
      const underlay = this.opts.nodeIp ?? self?.internalIp ?? '';
      // Without its own address the node cannot be a VTEP yet; its Node update wakes us again.
      if (!underlay) return;
      await this.ensureVxlanDevice(underlay, self?.podCidr ?? '');
      await this.publish(underlay);
    } else if ((await this.opts.run(['ip', 'link', 'show', VXLAN_DEVICE])).code === 0) {
      // Switched away from vxlan: the device (and its fdb/neighbours) is ours to remove.
      await this.must(['ip', 'link', 'del', VXLAN_DEVICE]);
    }
    const observed = await this.observe(vxlan);
    const plan = planSync(observed, desiredState(this.opts.nodeName, this.tracker.list(), this.backend));
    for (const dst of plan.conflicts) {
      if (this.reported.has(dst)) continue;
      this.reported.add(dst);
      this.log(
        `k8ts pod-routes: a route to ${dst} exists and is not ours (proto ${ROUTE_PROTO}); left alone`,
      );
    }
    const failures: string[] = [];
    const batch = async (cmd: 'ip' | 'bridge', lines: string[]) => {
      if (lines.length === 0) return;
      const r = await this.opts.run([cmd, '-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
      if (r.code !== 0) failures.push(`${cmd}: ${r.stderr.trim()}`);
    };
    await batch('bridge', plan.bridgeAdd);
    await batch('ip', plan.ip);
    await batch('bridge', plan.bridgeDel);
    const changed = plan.bridgeAdd.length + plan.ip.length + plan.bridgeDel.length;
    if (changed > 0) this.log(`k8ts pod-routes: ${this.backend}: applied ${changed} change(s)`);
    if (failures.length > 0) throw new KubeletError('NETWORK', failures.join('; '));
  }

  private async observe(vxlan: boolean): Promise<ObservedState> {
    const routes = parseRoutes(await this.must(['ip', '-j', '-4', 'route', 'show', 'table', 'main']));
    if (!vxlan) return { routes: routes.ours, foreignDsts: routes.foreignDsts, neighbours: [], fdb: [] };
    const neighbours = parseNeighbours(
      await this.must(['ip', '-j', 'neigh', 'show', 'dev', VXLAN_DEVICE, 'nud', 'permanent']),
    );
    const fdb = parseFdb(await this.must(['bridge', '-j', 'fdb', 'show', 'dev', VXLAN_DEVICE]));
    return { routes: routes.ours, foreignDsts: routes.foreignDsts, neighbours, fdb };
  }

  /** The vxlan device as it must be: re-created if its VNI, port or local address differ. */
  private async ensureVxlanDevice(underlay: string, podCidr: string): Promise<void> {
    const run = this.opts.run;
    const mac = vxlanMac(this.opts.nodeName);
    const show = await run(['ip', '-j', '-d', 'addr', 'show', 'dev', VXLAN_DEVICE]);
    let link: Record<string, any> | undefined;
    if (show.code === 0) link = (JSON.parse(show.stdout || '[]') as Record<string, any>[])[0];
    const data = link?.linkinfo?.info_data ?? {};
    if (link && (data.id !== VXLAN_VNI || data.port !== VXLAN_PORT || data.local !== underlay)) {
      this.log(`k8ts pod-routes: re-creating ${VXLAN_DEVICE} (was VNI ${data.id}, local ${data.local})`);
      await this.must(['ip', 'link', 'del', VXLAN_DEVICE]);
      link = undefined;
    }
    if (!link) {
      await this.must([
        'ip',
        'link',
        'add',
        VXLAN_DEVICE,
        'type',
        'vxlan',
        'id',
        String(VXLAN_VNI),
        'local',
        underlay,
        'dstport',
        String(VXLAN_PORT),
        'nolearning',
      ]);
    }
    if (!link || link.address !== mac || link.mtu !== VXLAN_MTU || !link.flags?.includes('UP'))
      await this.must(['ip', 'link', 'set', VXLAN_DEVICE, 'address', mac, 'mtu', String(VXLAN_MTU), 'up']);
    if (!podCidr) return;
    const gw = vxlanGateway(podCidr);
    const addrs: { local?: string; prefixlen?: number; family?: string }[] = link?.addr_info ?? [];
    for (const a of addrs)
      if (a.family === 'inet' && a.local !== gw)
        await this.must(['ip', 'addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', VXLAN_DEVICE]);
    if (!addrs.some((a) => a.family === 'inet' && a.local === gw))
      await this.must(['ip', 'addr', 'replace', `${gw}/32`, 'dev', VXLAN_DEVICE]);
  }

  /** Publish this node's VTEP (MAC + underlay IP) on its Node, once per change. */
  private async publish(underlay: string): Promise<void> {
    const mac = vxlanMac(this.opts.nodeName);
    const self = this.tracker.get(this.opts.nodeName);
    const key = `${mac}/${underlay}`;
    if (self && self.vxlanMac === mac && self.underlayIp === underlay) {
      // Seen on the Node: a later divergence (someone edited it) is patched again.
      this.published = '';
      return;
    }
    if (!self || this.published === key) return;
    await this.opts.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`, {
      body: {
        metadata: {
          annotations: {
            [ANNOTATION_VXLAN_MAC]: mac,
            [ANNOTATION_PUBLIC_IP]: underlay,
            [ANNOTATION_BACKEND]: 'vxlan',
          },
        },
      },
      contentType: 'application/merge-patch+json',
    });
    this.published = key;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    this.informer.stop();
    while (this.running) await this.running;
  }
}
