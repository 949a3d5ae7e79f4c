/**
 * The csr-approver: approves the CertificateSigningRequests csr-decisions.ts says k8ts approves
 * by itself (node bootstrap, node renewal, kubelet serving) through the /approval subresource,
 * as `kubectl certificate approve` does. Everything else is left for a human.
 */
import type { ControllerContext } from './controller-manager.js';
import { CsrController, csrCondition, parsedRequest } from './csr-controller.js';
import { decideApproval } from './csr-decisions.js';

export class CsrApproverController extends CsrController {
  constructor(ctx: ControllerContext) {
    super(ctx, 'csr-approver');
  }

  protected async sync(name: string): Promise<void> {
    const csr = this.csrs.get(undefined, name);
    if (!csr) return;
    const d = decideApproval(csr, parsedRequest(csr));
    if (!d.approve) return;
    const next = structuredClone(csr);
    next.status ??= {};
    next.status.conditions = [
      ...(next.status.conditions ?? []),
      csrCondition('Approved', d.reason, d.message),
    ];
    await this.put(name, 'approval', next);
  }
}
