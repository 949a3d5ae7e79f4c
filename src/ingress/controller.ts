/**
 * The ingress controller: shared informers on IngressClasses, Ingresses, Services,
 * EndpointSlices and Secrets; any event asks for a rebuild; one writer (a SyncRunner: a change
 * after a quiet period applies at once, a burst is batched) compiles the whole state
 * (compile.ts, pure) and hands the new table to the data plane. A second, slower writer keeps the
 * cluster side: our IngressClass (installed as the default when no class of ours exists), the
 * LoadBalancer Service kube-system/k8ts-ingress, this node's EndpointSlice of it, and
 * status.loadBalancer of every Ingress we serve (written through /status only when different).
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { resourceForPlural } from '../core/api/resources.js';
import type { EventRecorder } from '../core/client/events.js';
import type { KObj } from '../core/client/informer.js';
import { InformerFactory, type SharedInformer } from '../core/client/informer-factory.js';
import { ApiStatusError, type RestClient } from '../core/client/rest-client.js';
import { SyncRunner } from '../service-proxy/sync-runner.js';
import { CompileMemo, type CompileResult, compileRoutes } from './compile.js';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME, defaultIngressClass, ourClasses } from './ingress-class.js';
import type { DataPlane } from './route-table.js';
import {
  INGRESS_SERVICE_NAME,
  INGRESS_SERVICE_NAMESPACE,
  ingressEndpointSlice,
  ingressService,
  SLICE_MANAGER,
  sameLoadBalancerIngress,
  sliceName,
  sliceUpToDate,
  statusFromService,
} from './status.js';

const SERVICE_LABEL = 'kubernetes.io/service-name';

export interface IngressControllerOptions {
  client: Pick<RestClient, 'request' | 'watch'>;
  dataPlane: DataPlane;
  /** This node: names its EndpointSlice of the Service, and its address is published there. */
  nodeName: string;
  /** The ports the data plane really listens on (published in the EndpointSlice). */
  httpPort: number;
  httpsPort: number;
  /** The address published for this node (default: the Node's InternalIP, else a host address). */
  nodeAddress?: string | undefined;
  /** The class installed when no IngressClass of our controller exists (default `k8ts`). */
  className?: string | undefined;
  /** spec.controller of our classes (default k8ts.io/ingress). */
  controller?: string | undefined;
  events?: Pick<EventRecorder, 'event'> | undefined;
  /** Resolve an ExternalName target (default: DNS, every address). */
  resolveName?: ((hostname: string) => Promise<string[]>) | undefined;
  /** Minimum time between two rebuilds of a burst (ms, default 100). */
  minSyncMs?: number | undefined;
  /** Minimum time between two status passes (ms, default 500). */
  minStatusSyncMs?: number | undefined;
  /** Delete this node's EndpointSlice on stop (default true). */
  removeSliceOnStop?: boolean | undefined;
  log?: ((msg: string) => void) | undefined;
}

/** How long a resolved ExternalName is used before it is looked up again. */
const EXTERNAL_NAME_TTL_MS = 30_000;

export class IngressController {
  private readonly opts: IngressControllerOptions;
  private readonly log: (msg: string) => void;
  private readonly factory: InformerFactory;
  private readonly classes: SharedInformer;
  private readonly ingresses: SharedInformer;
  private readonly services: SharedInformer;
  private readonly slices: SharedInformer;
  private readonly secrets: SharedInformer;
  private readonly routes: SyncRunner;
  private readonly status: SyncRunner;
  private last: CompileResult | undefined;
  private readonly memo = new CompileMemo();
  private emitted = new Set<string>();
  private readonly names = new Map<string, { ips: string[]; at: number; pending: boolean }>();
  /** Ingresses whose status this process wrote (cleared again if they leave our class). */
  private readonly statusOwned = new Set<string>();
  private nodeAddress: string | undefined;
  private stopped = false;
  /** Rebuilds so far (tests and metrics). */
  rebuilds = 0;

  constructor(opts: IngressControllerOptions) {
    this.opts = opts;
    this.log = opts.log ?? ((m) => console.log(`k8ts ingress: ${m}`));
    this.nodeAddress = opts.nodeAddress;
    this.factory = new InformerFactory(opts.client);
    const info = (g: string, v: string, p: string) => resourceForPlural(g, v, p)!;
    this.classes = this.factory.informer(info('networking.k8s.io', 'v1', 'ingressclasses'));
    this.ingresses = this.factory.informer(info('networking.k8s.io', 'v1', 'ingresses'));
    this.services = this.factory.informer(info('', 'v1', 'services'));
    this.slices = this.factory.informer(info('discovery.k8s.io', 'v1', 'endpointslices'));
    this.secrets = this.factory.informer(info('', 'v1', 'secrets'));
    this.slices.addIndex('service', (o) => {
      const svc = o.metadata?.labels?.[SERVICE_LABEL];
      return svc ? [`${o.metadata?.namespace}/${svc}`] : [];
    });
    this.routes = new SyncRunner(async () => this.rebuild(), {
      minIntervalMs: opts.minSyncMs ?? 100,
      maxIntervalMs: 60_000,
      onError: (e) => this.log(`rebuild failed: ${(e as Error).stack ?? e}`),
    });
    this.status = new SyncRunner(() => this.syncStatus(), {
      minIntervalMs: opts.minStatusSyncMs ?? 500,
      maxIntervalMs: 60_000,
      retryMs: 2_000,
      onError: (e) => this.log(`status sync failed, retrying: ${(e as Error).message}`),
    });
    // The status pass reads the served set of the last rebuild, so it is asked for by the rebuild.
    const changed = () => this.routes.request();
    const handlers = { add: changed, update: changed, delete: changed };
    for (const i of [this.classes, this.ingresses, this.services, this.slices, this.secrets])
      i.addHandlers(handlers);
  }

  /** List and watch everything, then build the first table; resolves after it is handed over. */
  async start(): Promise<void> {
    await this.factory.start();
    this.routes.start();
    await this.routes.idle();
    this.status.start();
  }

  /** The last compile result (tests). */
  current(): CompileResult | undefined {
    return this.last;
  }

  /** Resolves once no rebuild and no status pass is running or queued. */
  async idle(): Promise<void> {
    await this.routes.idle();
    await this.status.idle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.routes.stop();
    this.status.stop();
    this.factory.stop();
    if (this.opts.removeSliceOnStop ?? true) {
      const path = `/apis/discovery.k8s.io/v1/namespaces/${INGRESS_SERVICE_NAMESPACE}/endpointslices/${sliceName(this.opts.nodeName)}`;
      await this.opts.client.request('DELETE', path).catch(() => {});
    }
  }

  /** The single writer of the data plane: compile everything, hand the table over, emit new events. */
  private rebuild(): void {
    this.rebuilds++;
    const res = compileRoutes(
      {
        ingressClasses: this.classes.list() as IngressClass[],
        ingresses: this.ingresses.list() as Ingress[],
        service: (ns, name) => this.services.get(ns, name) as Service | undefined,
        endpointSlices: (ns, svc) => this.slices.byIndex('service', `${ns}/${svc}`) as EndpointSlice[],
        secret: (ns, name) => this.secrets.get(ns, name) as KObj | undefined,
        resolveName: (h) => this.lookupName(h),
      },
      { controller: this.opts.controller, memo: this.memo },
    );
    this.opts.dataPlane.update(res.table);
    this.last = res;
    const now = new Set<string>();
    for (const e of res.events) {
      const key = `${e.ingress.metadata?.uid}\0${e.reason}\0${e.message}`;
      now.add(key);
      if (!this.emitted.has(key)) this.opts.events?.event(e.ingress as KObj, e.type, e.reason, e.message);
    }
    this.emitted = now;
    this.status.request();
  }

  /** Cached addresses of an ExternalName target; a miss or a stale entry starts a lookup. */
  private lookupName(host: string): readonly string[] | undefined {
    if (isIP(host)) return [host];
    const now = Date.now();
    let e = this.names.get(host);
    if (!e) this.names.set(host, (e = { ips: [], at: 0, pending: false }));
    if (!e.pending && now - e.at > EXTERNAL_NAME_TTL_MS) {
      e.pending = true;
      const entry = e;
      const resolve =
        this.opts.resolveName ??
        (async (h: string) => (await dnsPromises.lookup(h, { all: true })).map((a) => a.address));
      void resolve(host)
        .catch(() => [] as string[])
        .then((ips) => {
          const sorted = [...ips].sort();
          const changed = sorted.join(',') !== entry.ips.join(',');
          entry.ips = sorted;
          entry.at = Date.now();
          entry.pending = false;
          if (changed && !this.stopped) this.routes.request();
        });
    }
    return e.ips.length > 0 ? e.ips : undefined;
  }

  /** The cluster side, idempotent: class, Service, this node's slice, Ingress statuses. */
  private async syncStatus(): Promise<void> {
    const c = this.opts.client;
    if (
      ourClasses(this.classes.list() as IngressClass[], this.opts.controller ?? CONTROLLER_NAME).names
        .size === 0
    ) {
      const cls = defaultIngressClass(
        this.opts.className ?? DEFAULT_CLASS_NAME,
        this.opts.controller ?? CONTROLLER_NAME,
      );
      if (await createIgnoringConflict(c, '/apis/networking.k8s.io/v1/ingressclasses', cls))
        this.log(`installed IngressClass ${cls.metadata!.name} (default class)`);
    }
    const svc = this.services.get(INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME) as Service | undefined;
    if (!svc)
      await createIgnoringConflict(
        c,
        `/api/v1/namespaces/${INGRESS_SERVICE_NAMESPACE}/services`,
        ingressService(),
      );

    const want = ingressEndpointSlice({
      nodeName: this.opts.nodeName,
      address: await this.address(),
      httpPort: this.opts.httpPort,
      httpsPort: this.opts.httpsPort,
    });
    const slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${INGRESS_SERVICE_NAMESPACE}/endpointslices`;
    const have = this.slices.get(INGRESS_SERVICE_NAMESPACE, want.metadata!.name!) as
      | EndpointSlice
      | undefined;
    if (!have) await createIgnoringConflict(c, slicesPath, want);
    else if (!sliceUpToDate(have, want)) {
      if (have.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'] !== SLICE_MANAGER)
        this.log(`taking over EndpointSlice ${INGRESS_SERVICE_NAMESPACE}/${want.metadata!.name}`);
      await c.request('PUT', `${slicesPath}/${want.metadata!.name}`, {
        body: { ...want, metadata: { ...want.metadata, resourceVersion: have.metadata?.resourceVersion } },
      });
    }

    const desired = statusFromService(svc);
    const served = new Set(
      (this.last?.served ?? []).map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`),
    );
    for (const o of this.ingresses.list() as Ingress[]) {
      const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
      const current = o.status?.loadBalancer?.ingress;
      let target: typeof desired | undefined;
      if (served.has(key)) target = desired;
      else if (this.statusOwned.has(key) && sameLoadBalancerIngress(current, desired)) target = [];
      if (target === undefined || sameLoadBalancerIngress(current, target)) {
        if (served.has(key)) this.statusOwned.add(key);
        continue;
      }
      try {
        await c.request(
          'PATCH',
          `/apis/networking.k8s.io/v1/namespaces/${o.metadata?.namespace}/ingresses/${o.metadata?.name}/status`,
          {
            body: { status: { loadBalancer: { ingress: target.length > 0 ? target : null } } },
            contentType: 'application/merge-patch+json',
          },
        );
        if (served.has(key)) this.statusOwned.add(key);
        else this.statusOwned.delete(key);
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      }
    }
  }

  /** This node's address: the option, else the Node's InternalIP/ExternalIP, else a host address. */
  private async address(): Promise<string> {
    if (this.nodeAddress) return this.nodeAddress;
    try {
      const node = (await this.opts.client.request('GET', `/api/v1/nodes/${this.opts.nodeName}`)) as Node;
      const addrs = node.status?.addresses ?? [];
      const a = addrs.find((x) => x.type === 'InternalIP') ?? addrs.find((x) => x.type === 'ExternalIP');
      if (a?.address && isIP(a.address)) return (this.nodeAddress = a.address);
    } catch {
      // No Node object (a controller on a machine without a kubelet): a host address.
    }
    return hostAddress();
  }
}

/** The first non-internal IPv4 address of this machine, else 127.0.0.1. */
export function hostAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/** POST; true when created, false when it already existed (409). */
async function createIgnoringConflict(
  c: Pick<RestClient, 'request'>,
  path: string,
  body: unknown,
): Promise<boolean> {
  try {
    await c.request('POST', path, { body });
    return true;
  } catch (e) {
    if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
    return false;
  }
}
