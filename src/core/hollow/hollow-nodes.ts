/**
 * Hollow nodes (like kwok): N fake Nodes that register, keep their Leases, post a healthy status,
 * and play kubelet for the pods bound to them (Running + Ready, Job pods that exit, graceful
 * deletes finished at once). For scale tests and benchmarks, in-process or as
 * `k8ts hollow-nodes`.
 *
 * Scale: one pod watch and one node watch for all nodes (filtered by a name set, not a watch per
 * node); lease renewals and status posts spread evenly over their interval by node index; every
 * write through one KeyedRunner with bounded concurrency.
 */
import { Informer, type KObj, objectKey } from '../client/informer.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { HollowOptionsError } from './errors.js';
import { KeyedRunner } from './keyed-runner.js';
import type { NodeTaint } from './node-template.js';
import {
  HOLLOW_LABEL,
  healthyConditions,
  hollowLease,
  hollowNode,
  LEASE_NAMESPACE,
  microTime,
  type NodeShape,
  nodeIp,
} from './node-template.js';
import { PodIpAllocator } from './pod-ips.js';
import { podAction } from './pod-status.js';

export interface HollowNodesOptions {
  count: number;
  /** Node names are `<prefix><index>` (default `hollow-`). */
  namePrefix?: string | undefined;
  /** First index (default 0), so several processes can share a prefix. */
  firstIndex?: number | undefined;
  cpu?: string | undefined;
  memory?: string | undefined;
  pods?: number | undefined;
  arch?: string | undefined;
  /** topology.kubernetes.io/zone values, given round robin. */
  zones?: string[] | undefined;
  instanceType?: string | undefined;
  /** spec.taints the nodes register with (as a kubelet's --register-with-taints). */
  taints?: NodeTaint[] | undefined;
  /** Lease renewal interval (default 10 s) and duration (default 40 s). */
  leaseRenewIntervalMs?: number | undefined;
  leaseDurationSeconds?: number | undefined;
  /** How often a healthy node re-posts its conditions (default 60 s; the Lease is the heartbeat). */
  statusIntervalMs?: number | undefined;
  /** Requests in flight at most (default 16). */
  concurrency?: number | undefined;
  /** Time source (default Date.now). */
  now?: (() => number) | undefined;
  /** Where failures are reported (default console.error). */
  log?: ((line: string) => void) | undefined;
}

export interface HollowNodes {
  /** Names of the nodes, by index. */
  readonly nodeNames: readonly string[];
  /** Stop heartbeats and pod handling (nodes and leases stay registered). */
  stop(): Promise<void>;
  /** Stop one node's heartbeats and pod handling, as a dead kubelet (failure tests). */
  pause(nodeName: string): void;
  /** Resume a paused node: Lease, status and its pods are brought up to date at once. */
  resume(nodeName: string): void;
}

interface NodeState {
  name: string;
  index: number;
  paused: boolean;
  nextLeaseMs: number;
  nextStatusMs: number;
  /** Keys of the pods bound to this node. */
  pods: Set<string>;
}

const KEY = { lease: 'lease/', status: 'status/', pod: 'pod/' } as const;

function validate(opts: HollowNodesOptions): void {
  if (!Number.isInteger(opts.count) || opts.count < 0)
    throw new HollowOptionsError(`count must be a non-negative integer, got ${opts.count}`);
  if (opts.pods !== undefined && (!Number.isInteger(opts.pods) || opts.pods < 1))
    throw new HollowOptionsError(`pods must be a positive integer, got ${opts.pods}`);
  const q = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
  for (const [name, v] of [
    ['cpu', opts.cpu],
    ['memory', opts.memory],
  ] as const) {
    if (v !== undefined && !q.test(v)) throw new HollowOptionsError(`${name} is not a quantity: "${v}"`);
  }
  const prefix = opts.namePrefix ?? 'hollow-';
  if (!/^[a-z0-9]([-a-z0-9.]*)?$/.test(prefix))
    throw new HollowOptionsError(`name prefix must be lowercase DNS characters, got "${prefix}"`);
}

/** Register `opts.count` hollow nodes and run them until `stop()`. */
export async function startHollowNodes(client: RestClient, opts: HollowNodesOptions): Promise<HollowNodes> {
  validate(opts);
  const now = opts.now ?? (() => Date.now());
  const log = opts.log ?? ((l: string) => console.error(l));
  const prefix = opts.namePrefix ?? 'hollow-';
  const first = opts.firstIndex ?? 0;
  const leaseEvery = opts.leaseRenewIntervalMs ?? 10_000;
  const statusEvery = opts.statusIntervalMs ?? 60_000;
  const leaseDuration = opts.leaseDurationSeconds ?? 40;
  const shape: NodeShape = {
    cpu: opts.cpu ?? '4',
    memory: opts.memory ?? '16Gi',
    pods: opts.pods ?? 110,
    arch: opts.arch ?? 'amd64',
    zones: opts.zones ?? [],
    instanceType: opts.instanceType,
    taints: opts.taints ?? [],
  };

  const nodes = new Map<string, NodeState>();
  const start = now();
  for (let i = 0; i < opts.count; i++) {
    const index = first + i;
    const name = `${prefix}${index}`;
    // Spread: node i renews at start + i/count of the interval, then every interval.
    const lag = opts.count > 0 ? i / opts.count : 0;
    nodes.set(name, {
      name,
      index,
      paused: false,
      nextLeaseMs: start + lag * leaseEvery,
      nextStatusMs: start + lag * statusEvery,
      pods: new Set(),
    });
  }
  const ips = new PodIpAllocator();
  let stopped = false;

  // Caches of our own objects, from the watches below.
  let nodeInformer: Informer | undefined;
  let podInformer: Informer | undefined;

  const runner = new KeyedRunner((key) => work(key), {
    concurrency: opts.concurrency ?? 16,
    baseDelayMs: 200,
    maxDelayMs: 10_000,
    onError: (key, e) => log(`k8ts hollow-nodes: ${key}: ${(e as Error)?.message ?? String(e)} (will retry)`),
  });

  async function work(key: string): Promise<void> {
    if (stopped) return;
    if (key.startsWith(KEY.lease)) return renewLease(key.slice(KEY.lease.length));
    if (key.startsWith(KEY.status)) return postStatus(key.slice(KEY.status.length));
    if (key.startsWith(KEY.pod)) return syncPod(key.slice(KEY.pod.length));
  }

  async function register(st: NodeState): Promise<void> {
    const node = hollowNode(st.name, st.index, shape, now());
    let registered: KObj;
    try {
      registered = await client.request('POST', '/api/v1/nodes', { body: node });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      // Already registered (a restart): bring labels and status up to date, as a kubelet does.
      registered = await client.request('PATCH', `/api/v1/nodes/${st.name}`, {
        body: { metadata: { labels: node.metadata.labels } },
        contentType: 'application/merge-patch+json',
      });
      await postStatus(st.name, registered);
    }
    const lease = hollowLease(registered, leaseDuration, now());
    try {
      await client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`, {
        body: lease,
      });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      await renewLease(st.name);
    }
  }

  async function renewLease(name: string): Promise<void> {
    const st = nodes.get(name);
    if (!st || st.paused) return;
    try {
      await client.request(
        'PATCH',
        `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${name}`,
        {
          body: {
            spec: { holderIdentity: name, leaseDurationSeconds: leaseDuration, renewTime: microTime(now()) },
          },
          contentType: 'application/merge-patch+json',
        },
      );
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      const node = nodeInformer?.get(name);
      await client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`, {
        body: hollowLease(node ?? { metadata: { name } }, leaseDuration, now()),
      });
    }
  }

  async function postStatus(name: string, current?: KObj): Promise<void> {
    const st = nodes.get(name);
    if (!st || st.paused) return;
    const cached = current ?? nodeInformer?.get(name);
    try {
      await client.request('PATCH', `/api/v1/nodes/${name}/status`, {
        body: { status: { conditions: healthyConditions(cached?.status?.conditions, now()) } },
        contentType: 'application/strategic-merge-patch+json',
      });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      // Deleted under us: register again, as a kubelet does.
      await register(st);
    }
  }

  async function syncPod(key: string): Promise<void> {
    const pod = podInformer?.get(key);
    if (!pod) return;
    const st = nodes.get(pod.spec?.nodeName);
    if (!st || st.paused) return;
    const node = nodeInformer?.get(st.name);
    const podCidr: string | undefined = node?.spec?.podCIDRs?.[0] ?? node?.spec?.podCIDR;
    const nowMs = now();
    const action = podAction(pod, {
      nodeIp: nodeIp(st.index),
      podIp: () => ips.ipFor(pod.metadata.uid, podCidr),
      nowMs,
    });
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    try {
      if (action.kind === 'delete') {
        await client.request('DELETE', path, {
          body: {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            gracePeriodSeconds: 0,
            preconditions: { uid: pod.metadata.uid },
          },
        });
        return;
      }
      if (action.kind === 'patch') {
        await client.request('PATCH', `${path}/status`, {
          body: { status: action.status },
          contentType: 'application/strategic-merge-patch+json',
        });
      }
    } catch (e) {
      // Gone, or replaced by another pod of the same name: its own events bring it back.
      if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) return;
      throw e;
    }
    if (action.recheckAtMs !== undefined) runner.addAfter(KEY.pod + key, action.recheckAtMs - nowMs);
  }

  // 1. Register every node and its Lease, bounded.
  const queue = [...nodes.values()];
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 16, queue.length) }, async () => {
    for (let st = queue.shift(); st; st = queue.shift()) await register(st);
  });
  await Promise.all(workers);

  // 2. One node watch (podCIDR, conditions others changed) and one pod watch for all of them.
  const onNode = (n: KObj) => {
    const st = nodes.get(n.metadata.name);
    if (!st || st.paused) return;
    const ready = (n.status?.conditions as KObj[] | undefined)?.find((c) => c.type === 'Ready');
    // Someone (the node lifecycle controller) says we are not Ready: a live kubelet corrects it.
    if (ready?.status !== 'True') runner.add(KEY.status + st.name);
  };
  nodeInformer = new Informer(client, { path: '/api/v1/nodes', handlers: { add: onNode, update: onNode } });
  const onPod = (p: KObj) => {
    const st = nodes.get(p.spec?.nodeName);
    if (!st) return;
    const key = objectKey(p);
    st.pods.add(key);
    if (p.status?.podIP && p.metadata.uid) ips.observe(p.metadata.uid, p.status.podIP);
    if (!st.paused) runner.add(KEY.pod + key);
  };
  podInformer = new Informer(client, {
    path: '/api/v1/pods',
    handlers: {
      add: onPod,
      update: onPod,
      delete: (p) => {
        const key = objectKey(p);
        nodes.get(p.spec?.nodeName)?.pods.delete(key);
        if (p.metadata?.uid) ips.release(p.metadata.uid);
        runner.cancel(KEY.pod + key);
      },
    },
  });
  await Promise.all([nodeInformer.start(), podInformer.start()]);

  // 3. Heartbeats: a tick well under the interval picks the nodes whose turn it is.
  const tickMs = Math.max(50, Math.min(1000, Math.floor(Math.min(leaseEvery, statusEvery) / 10)));
  const ticker = setInterval(() => {
    const t = now();
    for (const st of nodes.values()) {
      if (st.paused) continue;
      if (t >= st.nextLeaseMs) {
        st.nextLeaseMs += leaseEvery * Math.max(1, Math.ceil((t - st.nextLeaseMs) / leaseEvery));
        runner.add(KEY.lease + st.name);
      }
      if (t >= st.nextStatusMs) {
        st.nextStatusMs += statusEvery * Math.max(1, Math.ceil((t - st.nextStatusMs) / statusEvery));
        runner.add(KEY.status + st.name);
      }
    }
  }, tickMs);

  const mustGet = (name: string): NodeState => {
    const st = nodes.get(name);
    if (!st) throw new HollowOptionsError(`not a hollow node of this set: "${name}"`);
    return st;
  };

  return {
    nodeNames: [...nodes.keys()],
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      nodeInformer?.stop();
      podInformer?.stop();
      runner.stop();
      await runner.idle();
    },
    pause(name) {
      mustGet(name).paused = true;
    },
    resume(name) {
      const st = mustGet(name);
      if (!st.paused) return;
      st.paused = false;
      const t = now();
      st.nextLeaseMs = t + leaseEvery;
      st.nextStatusMs = t + statusEvery;
      runner.add(KEY.lease + name);
      runner.add(KEY.status + name);
      for (const key of st.pods) runner.add(KEY.pod + key);
    },
  };
}

export { HOLLOW_LABEL };
