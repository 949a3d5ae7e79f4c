/**
 * The ServiceAccount controller: every active namespace has a `default` ServiceAccount, created
 * when the namespace appears and recreated when someone deletes it (upstream's serviceaccounts
 * controller). Namespaces being deleted are left alone.
 */
import { resourceForPlural } from '../api/resources.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { collectionPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { isConflict, isNamespaceGone } from './endpoints-errors.js';

const NAMESPACES = resourceForPlural('', 'v1', 'namespaces')!;
const SERVICE_ACCOUNTS = resourceForPlural('', 'v1', 'serviceaccounts')!;

export interface ServiceAccountControllerOptions {
  /** Accounts every namespace gets (default: `default`). */
  names?: string[] | undefined;
}

/** Whether a namespace may receive new content. */
export function namespaceActive(ns: KObj | undefined): boolean {
  return !!ns && !ns.metadata?.deletionTimestamp && (ns.status?.phase ?? 'Active') === 'Active';
}

/** The accounts missing from a namespace, given the names it has. */
export function missingAccounts(wanted: readonly string[], present: ReadonlySet<string>): string[] {
  return wanted.filter((n) => !present.has(n));
}

/** Ensures the `default` ServiceAccount in every active namespace (registered as `serviceaccount`). */
export class ServiceAccountController implements Controller {
  private readonly client: RestClient;
  private readonly namespaces: SharedInformer;
  private readonly accounts: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly names: string[];

  constructor(ctx: ControllerContext, opts: ServiceAccountControllerOptions = {}) {
    this.client = ctx.client;
    this.names = opts.names ?? ['default'];
    this.namespaces = ctx.factory.informer(NAMESPACES);
    this.accounts = ctx.factory.informer(SERVICE_ACCOUNTS);
    this.queue = new WorkQueue((ns) => this.sync(ns), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry('serviceaccount-controller', key, err),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.namespaces.waitForSync(), this.accounts.waitForSync()]);
    this.namespaces.addHandlers({
      add: (ns) => this.queue.add(ns.metadata.name),
      update: (ns) => this.queue.add(ns.metadata.name),
    });
    this.accounts.addHandlers({
      delete: (sa) => {
        if (this.names.includes(sa.metadata?.name)) this.queue.add(sa.metadata.namespace);
      },
    });
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    if (!namespaceActive(this.namespaces.get(undefined, namespace))) return;
    const present = new Set(this.accounts.list(namespace).map((sa) => sa.metadata.name as string));
    for (const name of missingAccounts(this.names, present)) {
      try {
        await this.client.request('POST', collectionPath(SERVICE_ACCOUNTS, namespace), {
          body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
        });
      } catch (e) {
        // Already there (our cache lags) or the namespace is going away: nothing to do.
        if (isConflict(e) || isNamespaceGone(e)) continue;
        throw e;
      }
    }
  }
}
