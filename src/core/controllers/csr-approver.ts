/**
 * The csr-approver: approves the CertificateSigningRequests csr-decisions.ts says k8ts approves
 * by itself (node bootstrap, node renewal, kubelet serving) through the /approval subresource,
 * as `kubectl certificate approve` does. Everything else is left for a human.
 */
import { CsrParseError, type ParsedCsr, parseCsrRequest } from '../api/certificates/csr.js';
import { resourceForPlural } from '../api/resources.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { objectPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { decideApproval } from './csr-decisions.js';
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

/** RFC 3339 seconds, as metav1.Time. */
export function nowRfc3339(now = new Date()): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

export class CsrApproverController implements Controller {
  private readonly client: RestClient;
  private readonly csrs: SharedInformer;
  private readonly queue: WorkQueue;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.csrs = ctx.factory.informer(CSRS);
    this.queue = new WorkQueue((name) => this.sync(name), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry('csr-approver', key, err),
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

  private async sync(name: string): Promise<void> {
    const csr = this.csrs.get(undefined, name);
    if (!csr) return;
    const d = decideApproval(csr, parsedRequest(csr));
    if (!d.approve) return;
    const next = structuredClone(csr);
    next.status ??= {};
    next.status.conditions = [
      ...(next.status.conditions ?? []),
      {
        type: 'Approved',
        status: 'True',
        reason: d.reason,
        message: d.message,
        lastUpdateTime: nowRfc3339(),
        lastTransitionTime: nowRfc3339(),
      },
    ];
    try {
      await this.client.request('PUT', objectPath(CSRS, undefined, name, 'approval'), { body: next });
    } catch (e) {
      // Someone else decided first (or our cache is behind): the update event brings us back.
      if (isConflict(e)) return;
      throw e;
    }
  }
}
