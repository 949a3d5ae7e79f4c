/**
 * Pure decisions about CertificateSigningRequests: which ones k8ts approves by itself (the
 * csr-approver) and which ones its signer may sign (the csr-signer). Both take the stored CSR and
 * its parsed PKCS#10 request; neither does I/O.
 *
 * Approved automatically (upstream's csrapproving controller does the first two after a
 * SubjectAccessReview; k8ts has no RBAC yet, so group membership stands in for it):
 * - `kubernetes.io/kube-apiserver-client-kubelet` from a bootstrap token (group
 *   system:bootstrappers): a node's first client certificate;
 * - the same signer from `system:node:<name>` asking for its own name: a renewal;
 * - `kubernetes.io/kubelet-serving` from `system:node:<name>` for its own name (or from a member
 *   of system:masters, who could approve it anyway) with only IP and DNS SANs. Upstream leaves serving certificates to a human or an external approver because
 *   a node could claim any address; k8ts approves them so a joined node's kubelet API (logs,
 *   exec) works at once, as k3s does by signing the kubelet serving certificate on the server.
 *   The risk is the same as upstream's once RBAC exists: only a node's own credential can ask.
 * Anything else waits for `kubectl certificate approve|deny`.
 */
import type { ParsedCsr } from '../api/certificates/csr.js';

type Csr = Record<string, any>;

export const SIGNER_KUBELET_CLIENT = 'kubernetes.io/kube-apiserver-client-kubelet';
export const SIGNER_KUBELET_SERVING = 'kubernetes.io/kubelet-serving';
export const SIGNER_APISERVER_CLIENT = 'kubernetes.io/kube-apiserver-client';
/** Signers the k8ts csr-signer issues for with the cluster CA. */
export const K8TS_SIGNERS: ReadonlySet<string> = new Set([
  SIGNER_KUBELET_CLIENT,
  SIGNER_KUBELET_SERVING,
  SIGNER_APISERVER_CLIENT,
]);
const NODE_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';
const BOOTSTRAPPERS = 'system:bootstrappers';
const MASTERS_GROUP = 'system:masters';

const CLIENT_USAGES = new Set(['client auth', 'digital signature', 'key encipherment']);
const SERVING_USAGES = new Set(['server auth', 'digital signature', 'key encipherment']);

function condition(csr: Csr, type: string): Csr | undefined {
  return (csr.status?.conditions ?? []).find((c: Csr) => c.type === type && c.status === 'True');
}

/** Why a request is not a node client certificate request, or undefined if it is one. */
export function nodeClientProblem(csr: Csr, req: ParsedCsr): string | undefined {
  if (!req.commonName.startsWith(NODE_PREFIX) || req.commonName === NODE_PREFIX)
    return `subject common name must begin with "${NODE_PREFIX}", got "${req.commonName}"`;
  if (req.organizations.length !== 1 || req.organizations[0] !== NODES_GROUP)
    return `subject organization must be exactly ["${NODES_GROUP}"], got ${JSON.stringify(req.organizations)}`;
  if (req.dnsNames.length + req.ipAddresses.length + req.emailAddresses.length + req.uris.length > 0)
    return 'a client certificate may not have subject alternative names';
  return usageProblem(csr, CLIENT_USAGES, 'client auth');
}

/** Why a request is not a kubelet serving certificate request, or undefined if it is one. */
export function nodeServingProblem(csr: Csr, req: ParsedCsr): string | undefined {
  if (!req.commonName.startsWith(NODE_PREFIX) || req.commonName === NODE_PREFIX)
    return `subject common name must begin with "${NODE_PREFIX}", got "${req.commonName}"`;
  if (req.organizations.length !== 1 || req.organizations[0] !== NODES_GROUP)
    return `subject organization must be exactly ["${NODES_GROUP}"], got ${JSON.stringify(req.organizations)}`;
  if (req.emailAddresses.length + req.uris.length > 0)
    return 'a kubelet serving certificate may only have DNS and IP subject alternative names';
  if (req.dnsNames.length + req.ipAddresses.length === 0)
    return 'a kubelet serving certificate needs at least one DNS or IP subject alternative name';
  return usageProblem(csr, SERVING_USAGES, 'server auth');
}

/** Why a request may not have a kube-apiserver client certificate, or undefined. */
export function apiserverClientProblem(csr: Csr, req: ParsedCsr): string | undefined {
  if (req.commonName === '') return 'subject common name may not be empty';
  return usageProblem(csr, CLIENT_USAGES, 'client auth');
}

function usageProblem(csr: Csr, allowed: ReadonlySet<string>, needed: string): string | undefined {
  const usages: string[] = csr.spec?.usages ?? [];
  if (!usages.includes(needed)) return `usages must include "${needed}"`;
  const bad = usages.filter((u) => !allowed.has(u));
  if (bad.length) return `usages ${JSON.stringify(bad)} are not allowed for signer "${csr.spec?.signerName}"`;
  return undefined;
}

export type ApprovalDecision =
  | { approve: true; reason: string; message: string }
  | { approve: false; why: string };

/** Whether the csr-approver approves this request by itself. */
export function decideApproval(csr: Csr, req: ParsedCsr | undefined): ApprovalDecision {
  if (condition(csr, 'Approved') || condition(csr, 'Denied'))
    return { approve: false, why: 'already decided' };
  if (!req) return { approve: false, why: 'the request does not parse' };
  const signer = csr.spec?.signerName;
  const user: string = csr.spec?.username ?? '';
  const groups: string[] = csr.spec?.groups ?? [];
  if (signer === SIGNER_KUBELET_CLIENT) {
    const problem = nodeClientProblem(csr, req);
    if (problem) return { approve: false, why: problem };
    if (groups.includes(BOOTSTRAPPERS))
      return {
        approve: true,
        reason: 'AutoApproved',
        message: 'Auto approving kubelet client certificate after bootstrap token authentication.',
      };
    if (user === req.commonName && groups.includes(NODES_GROUP))
      return {
        approve: true,
        reason: 'AutoApproved',
        message: 'Auto approving self kubelet client certificate renewal.',
      };
    return { approve: false, why: `requester "${user}" is neither a bootstrap token nor the node itself` };
  }
  if (signer === SIGNER_KUBELET_SERVING) {
    const problem = nodeServingProblem(csr, req);
    if (problem) return { approve: false, why: problem };
    if (user === req.commonName && groups.includes(NODES_GROUP))
      return {
        approve: true,
        reason: 'AutoApproved',
        message: 'Auto approving kubelet serving certificate requested by the node itself.',
      };
    // An admin may approve anything; approving an admin's own request for a node adds no power
    // (`k8ts agent --kubeconfig <admin kubeconfig>` in tests and hand-provisioned nodes).
    if (groups.includes(MASTERS_GROUP))
      return {
        approve: true,
        reason: 'AutoApproved',
        message: 'Auto approving kubelet serving certificate requested by a cluster admin.',
      };
    return { approve: false, why: `requester "${user}" is not the node "${req.commonName}"` };
  }
  return { approve: false, why: `signer "${signer}" is left to a human` };
}

export type SigningDecision = { sign: true } | { sign: false; fail?: string | undefined; why: string };

/** Whether the csr-signer issues a certificate now, leaves the request alone, or marks it Failed. */
export function decideSigning(csr: Csr, req: ParsedCsr | undefined): SigningDecision {
  const signer = csr.spec?.signerName;
  if (!K8TS_SIGNERS.has(signer)) return { sign: false, why: `not our signer: ${signer}` };
  if (!condition(csr, 'Approved')) return { sign: false, why: 'not approved' };
  if (condition(csr, 'Denied') || condition(csr, 'Failed')) return { sign: false, why: 'denied or failed' };
  if (csr.status?.certificate) return { sign: false, why: 'already issued' };
  if (!req) return { sign: false, fail: 'the request does not parse', why: 'unparseable' };
  const problem =
    signer === SIGNER_KUBELET_CLIENT
      ? nodeClientProblem(csr, req)
      : signer === SIGNER_KUBELET_SERVING
        ? nodeServingProblem(csr, req)
        : apiserverClientProblem(csr, req);
  if (problem) return { sign: false, fail: problem, why: problem };
  return { sign: true };
}

/** Default and maximum validity of issued certificates (upstream's --cluster-signing-duration). */
export const MAX_SIGNING_SECONDS = 365 * 24 * 3600;

/** The validity an issued certificate gets: spec.expirationSeconds, capped at the maximum. */
export function signingDurationSeconds(csr: Csr, max = MAX_SIGNING_SECONDS): number {
  const asked = csr.spec?.expirationSeconds;
  return typeof asked === 'number' && asked > 0 ? Math.min(asked, max) : max;
}

/** Upstream's csrcleaner ages: decided requests go after an hour, pending ones after a day. */
export const DECIDED_CSR_TTL_MS = 3_600_000;
export const PENDING_CSR_TTL_MS = 24 * 3_600_000;

/**
 * How long until the csr-cleaner deletes this request (<= 0: now). Approved, issued, denied and
 * failed requests live an hour from creation, pending ones a day; an issued certificate that has
 * expired goes at once (`certNotAfter`, when the caller parsed it).
 */
export function csrCleanupInMs(csr: Csr, now: Date, certNotAfter?: Date): number {
  const created = Date.parse(csr.metadata?.creationTimestamp ?? '');
  if (Number.isNaN(created)) return Number.POSITIVE_INFINITY;
  if (certNotAfter && certNotAfter.getTime() <= now.getTime()) return 0;
  const decided =
    csr.status?.certificate ||
    condition(csr, 'Approved') ||
    condition(csr, 'Denied') ||
    condition(csr, 'Failed');
  return created + (decided ? DECIDED_CSR_TTL_MS : PENDING_CSR_TTL_MS) - now.getTime();
}
