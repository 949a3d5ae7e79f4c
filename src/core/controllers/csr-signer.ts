/**
 * The csr-signer: issues certificates for approved CertificateSigningRequests of the signers k8ts
 * serves (kubelet client, kubelet serving, kube-apiserver client) with the cluster CA, honouring
 * spec.expirationSeconds, and writes status.certificate through /status. A request that does not
 * fit its signer gets a Failed condition instead (upstream's SignerValidationFailure).
 */
import { csrUsagesToExtensions, signLeaf } from '../apiserver/pki/certs.js';
import type { KObj } from '../client/informer.js';
import type { ControllerContext } from './controller-manager.js';
import { CsrController, csrCondition, parsedRequest } from './csr-controller.js';
import { decideSigning, signingDurationSeconds } from './csr-decisions.js';

/** Certificates start this far in the past (clock skew between nodes), as upstream's 5 minutes. */
const BACKDATE_MS = 5 * 60_000;

export interface CsrSignerOptions {
  ca: { caCertPem: string; caKeyPem: string };
  now?: (() => Date) | undefined;
}

export class CsrSignerController extends CsrController {
  private readonly opts: CsrSignerOptions;

  constructor(ctx: ControllerContext, opts: CsrSignerOptions) {
    super(ctx, 'csr-signer');
    this.opts = opts;
  }

  protected async sync(name: string): Promise<void> {
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
        csrCondition('Failed', 'SignerValidationFailure', d.fail),
      ];
    } else return;
    await this.put(name, 'status', next);
  }
}
