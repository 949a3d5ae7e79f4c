/**
 * What the csr-approver and csr-signer share: the CSR informer, a work queue of CSR names fed by
 * add and update events, and the parsing of spec.request. Each subclass implements `sync`.
 */
import { CsrParseError, type ParsedCsr, parseCsrRequest } from '../api/certificates/csr.js';
import { resourceForPlural } from '../api/resources.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { objectPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { isConflict } from './endpoints-errors.js';

export const CSRS = resourceForPlural('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;

/** The parsed request of a CSR, or undefined when it does not parse. */
export function parsedRequest(csr: KObj): ParsedCsr | undefined {
  try {
    return parseCsrRequest(csr.spec?.request);
  } catch (e) {
    if (e instanceof CsrParseError) return undefined;
    throw e;
  }
}

/** A status condition stamped now (metav1.Time has seconds precision). */
export function csrCondition(type: string, reason: string, message: string): KObj {
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  return { type, status: 'True', reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

export abstract class CsrController implements Controller {
  protected readonly client: RestClient;
  protected readonly csrs: SharedInformer;
  private readonly queue: WorkQueue;

  constructor(ctx: ControllerContext, name: string) {
    this.client = ctx.client;
    this.csrs = ctx.factory.informer(CSRS);
    this.queue = new WorkQueue((key) => this.sync(key), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry(name, key, err),
    });
  }

  async start(): Promise<void> {
    await this.csrs.waitForSync();
    this.csrs.addHandlers({
      add: (c) => this.queue.add(c.metadata.name),
      update: (c) => this.queue.add(c.metadata.name),
    });
  }

  stop(): void {
    this.queue.stop();
  }

  /** PUT the CSR to a subresource; a conflict means someone else wrote first (the watch brings it back). */
  protected async put(name: string, subresource: 'approval' | 'status', body: KObj): Promise<void> {
    try {
      await this.client.request('PUT', objectPath(CSRS, undefined, name, subresource), { body });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }

  /** Look at a request again after `ms` (a timer, not a retry). */
  protected requeueAfter(name: string, ms: number): void {
    this.queue.addAfter(name, ms);
  }

  protected abstract sync(name: string): Promise<void>;
}
