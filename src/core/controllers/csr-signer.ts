/**
 * The csr-signer: issues certificates for approved CertificateSigningRequests of the signers k8ts
 * serves (kubelet client, kubelet serving, kube-apiserver client) with the cluster CA, honouring
 * spec.expirationSeconds, and writes status.certificate through /status. A request that does not
 * fit its signer gets a Failed condition instead (upstream's SignerValidationFailure).
 */
import { csrUsagesToExtensions, signLeaf } from '../apiserver/pki/certs.js';
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { objectPath } from '../client/paths.js';
import type { RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';
import type { Controller, ControllerContext } from './controller-manager.js';
import { CSRS, nowRfc3339, parsedRequest } from './csr-approver.js';
import { decideSigning, signingDurationSeconds } from './csr-decisions.js';
import { isConflict } from './endpoints-errors.js';

/** Certificates start this far in the past (clock skew between nodes), as upstream's 5 minutes. */
const BACKDATE_MS = 5 * 60_000;

export interface CsrSignerOptions {
  ca: { caCertPem: string; caKeyPem: string };
  now?: (() => Date) | undefined;
}

export class CsrSignerController implements Controller {
  private readonly client: RestClient;
  private readonly csrs: SharedInformer;
  private readonly queue: WorkQueue;
  private readonly opts: CsrSignerOptions;

  constructor(ctx: ControllerContext, opts: CsrSignerOptions) {
    this.client = ctx.client;
    this.opts = opts;
    this.csrs = ctx.factory.informer(CSRS);
    this.queue = new WorkQueue((name) => this.sync(name), {
      baseDelayMs: 50,
      maxDelayMs: 10_000,
      onError: (key, err) => logRetry('csr-signer', key, err),
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
    const req = parsedRequest(csr);
    const d = decideSigning(csr, req);
    const next: KObj = structuredClone(csr);
    next.status ??= {};
    if (d.sign && req) {
      const now = this.opts.now?.() ?? new Date();
      const pem = await signLeaf(
        { certPem: this.opts.ca.caCertPem, keyPem: this.opts.ca.caKeyPem },
        {
          publicKey: req.publicKeyDer,
          commonName: req.commonName,
          organizations: req.organizations,
          hosts: [...req.dnsNames, ...req.ipAddresses],
          ...csrUsagesToExtensions(csr.spec?.usages ?? []),
          notBefore: new Date(now.getTime() - BACKDATE_MS),
          notAfter: new Date(now.getTime() + signingDurationSeconds(csr) * 1000),
        },
      );
      next.status.certificate = Buffer.from(pem).toString('base64');
    } else if (!d.sign && d.fail) {
      next.status.conditions = [
        ...(next.status.conditions ?? []),
        {
          type: 'Failed',
          status: 'True',
          reason: 'SignerValidationFailure',
          message: d.fail,
          lastUpdateTime: nowRfc3339(),
          lastTransitionTime: nowRfc3339(),
        },
      ];
    } else return;
    try {
      await this.client.request('PUT', objectPath(CSRS, undefined, name, 'status'), { body: next });
    } catch (e) {
      if (isConflict(e)) return;
      throw e;
    }
  }
}
