/**
 * The node half of the kubelet: register the Node (or bring an existing one up to date), renew its
 * Lease in kube-node-lease every 10 s, and post the node status (conditions with heartbeats,
 * capacity, addresses) when it changes or every `statusIntervalMs`. It watches its own Node
 * (field selector metadata.name) so the pod side learns spec.podCIDR from node IPAM, and so a
 * Ready condition someone else flipped (node lifecycle) is corrected at once.
 */
import { type Clock, realClock, type TimerHandle } from '../client/clock.js';
import { Informer, type KObj } from '../client/informer.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { readMachineInfo } from './machine-info.js';
import {
  LEASE_NAMESPACE,
  type MachineInfo,
  type NodeIdentity,
  nodeConditions,
  nodeLabels,
  nodeLease,
  nodeObject,
  nodeStatus,
} from './node-status.js';
import { microTime } from './time-format.js';

export interface NodeAgentOptions {
  identity: NodeIdentity;
  dataDir: string;
  /** Lease renewal interval (default 10 s) and duration (default 40 s). */
  leaseRenewIntervalMs?: number | undefined;
  leaseDurationSeconds?: number | undefined;
  /** How often an unchanged status is re-posted (default 60 s; the Lease is the heartbeat). */
  statusIntervalMs?: number | undefined;
  clock?: Clock | undefined;
  /** Machine facts (default: measured). */
  machine?: (() => MachineInfo) | undefined;
  log?: ((line: string) => void) | undefined;
  /** Called with the Node on every change seen on the watch. */
  onNode?: ((node: KObj) => void) | undefined;
}

const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`;

export class NodeAgent {
  private readonly client: RestClient;
  private readonly opts: NodeAgentOptions;
  private readonly clock: Clock;
  private readonly name: string;
  private informer: Informer | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private lastPostMs = 0;
  private lastConditionKey = '';
  private node: KObj | undefined;
  private posting: Promise<void> | undefined;

  constructor(client: RestClient, opts: NodeAgentOptions) {
    this.client = client;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.name = opts.identity.name;
  }

  /** The Node as last seen. */
  current(): KObj | undefined {
    return this.node;
  }

  private machine(): MachineInfo {
    return (this.opts.machine ?? (() => readMachineInfo(this.opts.dataDir)))();
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.error(l)))(line);
  }

  /** Register, take the Lease, start the watch and heartbeats; resolves once registered. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.register();
        break;
      } catch (e) {
        if (this.stopped) return;
        this.log(`k8ts kubelet: registering node ${this.name} failed: ${(e as Error).message} (retrying)`);
        await new Promise<void>((r) => this.clock.setTimeout(r, Math.min(500 * 2 ** attempt, 7000)));
      }
    }
    this.informer = new Informer(this.client, {
      path: '/api/v1/nodes',
      fieldSelector: `metadata.name=${this.name}`,
      handlers: {
        add: (n) => this.seen(n),
        update: (n) => this.seen(n),
        delete: () => {
          // Deleted under us: register again, as a kubelet does.
          void this.register().catch((e) =>
            this.log(`k8ts kubelet: re-register failed: ${(e as Error).message}`),
          );
        },
      },
    });
    await this.informer.start();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.informer?.stop();
  }

  /** Wait for the in-flight status post, if any. */
  async idle(): Promise<void> {
    await this.posting;
  }

  private seen(n: KObj): void {
    this.node = n;
    this.opts.onNode?.(n);
    const ready = (n.status?.conditions as KObj[] | undefined)?.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True' && !this.stopped) void this.postStatus(true);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.opts.leaseRenewIntervalMs ?? 10_000);
  }

  private async tick(): Promise<void> {
    try {
      await this.renewLease();
    } catch (e) {
      this.log(`k8ts kubelet: lease renewal failed: ${(e as Error).message}`);
    }
    try {
      await this.postStatus(false);
    } catch (e) {
      this.log(`k8ts kubelet: node status failed: ${(e as Error).message}`);
    }
  }

  private async register(): Promise<void> {
    const m = this.machine();
    const now = this.clock.now();
    const obj = nodeObject(this.opts.identity, m, now);
    let registered: KObj;
    try {
      registered = await this.client.request('POST', '/api/v1/nodes', { body: obj });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      // Already registered (a restart): labels and status brought up to date.
      registered = await this.client.request('PATCH', `/api/v1/nodes/${this.name}`, {
        body: { metadata: { labels: nodeLabels(this.opts.identity, m) } },
        contentType: 'application/merge-patch+json',
      });
    }
    this.node = registered;
    await this.postStatus(true);
    try {
      await this.client.request('POST', LEASES, {
        body: nodeLease(registered, this.opts.leaseDurationSeconds ?? 40, now),
      });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      await this.renewLease();
    }
  }

  private async renewLease(): Promise<void> {
    const duration = this.opts.leaseDurationSeconds ?? 40;
    try {
      await this.client.request('PATCH', `${LEASES}/${this.name}`, {
        body: {
          spec: {
            holderIdentity: this.name,
            leaseDurationSeconds: duration,
            renewTime: microTime(this.clock.now()),
          },
        },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      await this.client.request('POST', LEASES, {
        body: nodeLease(this.node ?? { metadata: { name: this.name } }, duration, this.clock.now()),
      });
    }
  }

  /** Post the status if forced, changed, or due. */
  private async postStatus(force: boolean): Promise<void> {
    const now = this.clock.now();
    const m = this.machine();
    const prev = this.node?.status?.conditions as KObj[] | undefined;
    const key = nodeConditions(m, prev, now)
      .map((c) => `${c.type}=${c.status}`)
      .join(',');
    const due = now - this.lastPostMs >= (this.opts.statusIntervalMs ?? 60_000);
    if (!force && !due && key === this.lastConditionKey) return;
    const run = async () => {
      const status = nodeStatus(this.opts.identity, m, prev, now);
      const updated = await this.client.request('PATCH', `/api/v1/nodes/${this.name}/status`, {
        body: { status },
        contentType: 'application/strategic-merge-patch+json',
      });
      this.node = updated;
      this.lastPostMs = now;
      this.lastConditionKey = key;
    };
    this.posting = run();
    await this.posting;
  }
}
