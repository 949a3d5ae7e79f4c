/**
 * The csr-cleaner (upstream's csrcleaner): deletes CertificateSigningRequests once they are done
 * with, so nodes that join and renew do not pile them up: decided or issued ones an hour after
 * creation, pending ones after a day, expired certificates at once. Each request is queued again
 * for the moment it is due.
 */
import '../apiserver/pki/reflect-metadata-shim.js';
import * as x509 from '@peculiar/x509';
import { objectPath } from '../client/paths.js';
import { ApiStatusError } from '../client/rest-client.js';
import type { ControllerContext } from './controller-manager.js';
import { CSRS, CsrController } from './csr-controller.js';
import { csrCleanupInMs } from './csr-decisions.js';

function notAfter(b64: string | undefined): Date | undefined {
  if (!b64) return undefined;
  try {
    return new x509.X509Certificate(Buffer.from(b64, 'base64').toString('utf8')).notAfter;
  } catch {
    return undefined;
  }
}

export class CsrCleanerController extends CsrController {
  constructor(ctx: ControllerContext) {
    super(ctx, 'csr-cleaner');
  }

  protected async sync(name: string): Promise<void> {
    const csr = this.csrs.get(undefined, name);
    if (!csr) return;
    const inMs = csrCleanupInMs(csr, new Date(), notAfter(csr.status?.certificate));
    if (inMs > 0) {
      if (Number.isFinite(inMs)) this.requeueAfter(name, inMs);
      return;
    }
    try {
      await this.client.request('DELETE', objectPath(CSRS, undefined, name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: csr.metadata.uid } },
      });
    } catch (e) {
      if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) return;
      throw e;
    }
  }
}
