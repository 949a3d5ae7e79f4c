/**
 * TLS bootstrap of a node (the kubelet's, as in upstream and k3s): with a join token, fetch and
 * pin the CA, ask for a client certificate (CN system:node:<name>, O system:nodes) through a
 * CertificateSigningRequest, wait for approval and issuance, and write
 * `<data-dir>/kubelet.kubeconfig`; then ask, as the node, for a kubelet serving certificate with
 * the node's addresses. A restart with valid credentials in the data dir skips all of it; a client
 * certificate near its end is renewed with the node's own identity.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import '../core/apiserver/pki/reflect-metadata-shim.js';
import * as x509 from '@peculiar/x509';
import { resourceForPlural } from '../core/api/resources.js';
import { createCsr } from '../core/apiserver/pki/certs.js';
import { PUBLIC_MODE, readIfExists, SECRET_MODE, writeFileAtomic } from '../core/apiserver/pki/files.js';
import { writeKubeconfig } from '../core/apiserver/pki/kubeconfig.js';
import { collectionPath, objectPath } from '../core/client/paths.js';
import { ApiStatusError, type ClientConfig, loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import { checkCaHash, fetchCaCertsWaiting } from './cacerts.js';
import { JoinError } from './errors.js';
import { bearerOf, type JoinToken } from './join-token.js';

const CSRS = resourceForPlural('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
const NODES = resourceForPlural('', 'v1', 'nodes')!;
/** A client certificate with less than this left is renewed at start. */
const RENEW_BEFORE_MS = 30 * 24 * 3600_000;

export interface BootstrapOptions {
  /** `https://host:port` of the API server (with a token). */
  server?: string | undefined;
  token?: JoinToken | undefined;
  nodeName: string;
  dataDir: string;
  /** IPs and DNS names for the kubelet serving certificate. */
  servingHosts: readonly string[];
  /** How long to wait for an unreachable server before giving up (default 60 s). */
  serverWaitMs?: number | undefined;
  /** How long to wait for a human to approve (default 15 minutes). */
  approvalTimeoutMs?: number | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface NodeCredentials {
  /** The node's client identity (system:node:<name>). */
  config: ClientConfig;
  kubeconfigPath: string;
  serving: { certPem: string; keyPem: string };
  /** True when this start went through the token bootstrap. */
  bootstrapped: boolean;
}

/** `<data-dir>/kubelet.kubeconfig`. */
export function kubeletKubeconfigPath(dataDir: string): string {
  return join(dataDir, 'kubelet.kubeconfig');
}

function servingPaths(dataDir: string): { cert: string; key: string } {
  return {
    cert: join(dataDir, 'pki', 'kubelet-serving.crt'),
    key: join(dataDir, 'pki', 'kubelet-serving.key'),
  };
}

function certInfo(pem: string | undefined): { notAfter: Date; cert: x509.X509Certificate } | undefined {
  if (!pem) return undefined;
  try {
    const cert = new x509.X509Certificate(pem);
    return { notAfter: cert.notAfter, cert };
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A usable stored client credential: the kubeconfig parses and its certificate is not near its end. */
async function storedClient(
  dataDir: string,
  nodeName: string,
): Promise<{ config: ClientConfig; renew: boolean } | undefined> {
  const path = kubeletKubeconfigPath(dataDir);
  if ((await readIfExists(path)) === undefined) return undefined;
  let config: ClientConfig;
  try {
    config = loadKubeconfig(path);
  } catch {
    return undefined;
  }
  const info = certInfo(config.certPem);
  if (!info || !config.keyPem) return undefined;
  if (!info.cert.subject.includes(`CN=system:node:${nodeName}`)) return undefined;
  const left = info.notAfter.getTime() - Date.now();
  if (left <= 0) return undefined;
  return { config, renew: left < RENEW_BEFORE_MS };
}

/** Submit a CSR and wait until it is issued; denial, failure and timeout are JoinErrors. */
export async function requestCertificate(
  client: RestClient,
  opts: {
    commonName: string;
    organizations: string[];
    hosts?: readonly string[] | undefined;
    signerName: string;
    usages: string[];
    timeoutMs: number;
    log: (line: string) => void;
  },
): Promise<{ certPem: string; keyPem: string; name: string }> {
  const { csrPem, keyPem } = await createCsr({
    commonName: opts.commonName,
    organizations: opts.organizations,
    hosts: opts.hosts,
  });
  let created: Record<string, any>;
  try {
    created = await client.request('POST', collectionPath(CSRS), {
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: `node-csr-${randomBytes(6).toString('hex')}` },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: opts.signerName,
          usages: opts.usages,
        },
      },
    });
  } catch (e) {
    throw refusal(e);
  }
  const name: string = created.metadata.name;
  opts.log(
    `k8ts agent: certificate signing request ${name} (${opts.signerName}) submitted; waiting for approval`,
  );
  const deadline = Date.now() + opts.timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    let csr: Record<string, any>;
    try {
      csr = await client.request('GET', objectPath(CSRS, undefined, name));
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 401) throw refusal(e);
      if (e instanceof ApiStatusError && e.httpStatus < 500) throw e;
      // The server restarting, or the network: keep waiting until the deadline.
      csr = {};
    }
    const conds: Record<string, any>[] = csr.status?.conditions ?? [];
    const denied = conds.find((c) => c.type === 'Denied');
    if (denied)
      throw new JoinError(
        'CSR_DENIED',
        `the certificate signing request ${name} was denied${denied.reason ? ` (${denied.reason})` : ''}${denied.message ? `: ${denied.message}` : ''}`,
      );
    const failed = conds.find((c) => c.type === 'Failed');
    if (failed)
      throw new JoinError(
        'CSR_FAILED',
        `the signer could not issue ${name}: ${failed.message ?? failed.reason ?? 'failed'}`,
      );
    if (csr.status?.certificate)
      return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem, name };
    if (Date.now() > deadline)
      throw new JoinError(
        'CSR_TIMEOUT',
        `the certificate signing request ${name} was not issued within ${Math.round(opts.timeoutMs / 1000)} s; approve it with: kubectl certificate approve ${name}`,
      );
    await sleep(delay);
  }
}

function refusal(e: unknown): unknown {
  if (e instanceof ApiStatusError && e.httpStatus === 401)
    return new JoinError(
      'TOKEN_REFUSED',
      'the join token was refused by the server (401 Unauthorized): it is unknown, expired or was deleted; create one with `k8ts token create` on the server',
    );
  return e;
}

/**
 * The node's credentials: reuse those in the data dir when valid, else bootstrap with the token.
 * Throws JoinError with a clear message for a wrong token, a wrong CA, or a denied request.
 */
export async function ensureNodeCredentials(opts: BootstrapOptions): Promise<NodeCredentials> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const timeoutMs = opts.approvalTimeoutMs ?? 15 * 60_000;
  await mkdir(join(opts.dataDir, 'pki'), { recursive: true, mode: 0o700 });
  const kubeconfigPath = kubeletKubeconfigPath(opts.dataDir);
  let stored = await storedClient(opts.dataDir, opts.nodeName);
  let bootstrapped = false;
  if (stored?.renew) {
    // Renew with the node's own identity (auto-approved as a self renewal).
    const own = new RestClient({ ...stored.config, userAgent: `k8ts-agent/${opts.nodeName}` });
    try {
      const cert = await nodeClientCertificate(own, {
        nodeName: opts.nodeName,
        server: stored.config.server,
        caPem: stored.config.caPem,
        kubeconfigPath,
        timeoutMs,
        log,
      });
      stored = { config: loadKubeconfig(kubeconfigPath), renew: false };
      log(`k8ts agent: client certificate renewed (${cert.name})`);
    } catch (e) {
      log(`k8ts agent: client certificate renewal failed, keeping the current one: ${(e as Error).message}`);
    } finally {
      own.close();
    }
  }
  if (!stored) {
    if (!opts.server || !opts.token)
      throw new JoinError(
        'OPTIONS',
        `no valid node credentials in ${kubeconfigPath}: give --server and --token to join (or --kubeconfig)`,
      );
    if (!opts.token.caHash)
      throw new JoinError(
        'TOKEN_FORMAT',
        'a bare <id>.<secret> token cannot pin the cluster CA: use the full K10... token (`k8ts token create`, or <data-dir>/token on the server)',
      );
    const bundle = await fetchCaCertsWaiting(opts.server, {
      timeoutMs: opts.serverWaitMs ?? 60_000,
      log,
    });
    checkCaHash(bundle, opts.token.caHash);
    const caPem = bundle.toString('utf8');
    const boot = new RestClient({
      server: opts.server,
      caPem,
      token: bearerOf(opts.token),
      userAgent: `k8ts-agent/${opts.nodeName} (bootstrap)`,
    });
    try {
      await refuseTakenNodeName(boot, opts.nodeName);
      const cert = await nodeClientCertificate(boot, {
        nodeName: opts.nodeName,
        server: opts.server,
        caPem,
        kubeconfigPath,
        timeoutMs,
        log,
      });
      log(`k8ts agent: client certificate issued (${cert.name}); wrote ${kubeconfigPath}`);
    } finally {
      boot.close();
    }
    stored = { config: loadKubeconfig(kubeconfigPath), renew: false };
    bootstrapped = true;
  }
  const serving = await ensureServingCert(stored.config, { ...opts, timeoutMs, log });
  return { config: stored.config, kubeconfigPath, serving, bootstrapped };
}

/** Request the node's client certificate with `client` and write the kubeconfig that uses it. */
async function nodeClientCertificate(
  client: RestClient,
  o: {
    nodeName: string;
    server: string;
    caPem: string;
    kubeconfigPath: string;
    timeoutMs: number;
    log: (line: string) => void;
  },
): Promise<{ name: string }> {
  const cert = await requestCertificate(client, {
    commonName: `system:node:${o.nodeName}`,
    organizations: ['system:nodes'],
    signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
    usages: ['digital signature', 'client auth'],
    timeoutMs: o.timeoutMs,
    log: o.log,
  });
  await writeKubeconfig(o.kubeconfigPath, {
    server: o.server,
    caPem: o.caPem,
    clientCertPem: cert.certPem,
    clientKeyPem: cert.keyPem,
  });
  return cert;
}

/** A node name in use by a Node we hold no credentials for belongs to another machine. */
async function refuseTakenNodeName(client: RestClient, nodeName: string): Promise<void> {
  try {
    await client.request('GET', objectPath(NODES, undefined, nodeName));
  } catch (e) {
    if (e instanceof ApiStatusError && e.httpStatus === 404) return;
    throw refusal(e);
  }
  throw new JoinError(
    'OPTIONS',
    `a node named "${nodeName}" is already in the cluster: give this machine another --node-name, or delete that Node (kubectl delete node ${nodeName}) if it is this machine's old registration`,
  );
}

/** The kubelet serving certificate: reused when valid and covering the hosts, else requested as the node. */
async function ensureServingCert(
  config: ClientConfig,
  opts: BootstrapOptions & { timeoutMs: number; log: (line: string) => void },
): Promise<{ certPem: string; keyPem: string }> {
  const paths = servingPaths(opts.dataDir);
  const [certPem, keyPem] = await Promise.all([readIfExists(paths.cert), readIfExists(paths.key)]);
  const info = certInfo(certPem);
  if (certPem && keyPem && info && info.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS) {
    const san = info.cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = new Set((san?.names.toJSON() ?? []).map((n) => n.value.toLowerCase()));
    if (opts.servingHosts.every((h) => have.has(h.toLowerCase()))) return { certPem, keyPem };
  }
  const client = new RestClient({ ...config, userAgent: `k8ts-agent/${opts.nodeName}` });
  try {
    const cert = await requestCertificate(client, {
      commonName: `system:node:${opts.nodeName}`,
      organizations: ['system:nodes'],
      hosts: opts.servingHosts,
      signerName: 'kubernetes.io/kubelet-serving',
      usages: ['digital signature', 'server auth'],
      timeoutMs: opts.timeoutMs,
      log: opts.log,
    });
    await writeFileAtomic(paths.key, cert.keyPem, SECRET_MODE);
    await writeFileAtomic(paths.cert, cert.certPem, PUBLIC_MODE);
    opts.log(`k8ts agent: kubelet serving certificate issued (${cert.name})`);
    return { certPem: cert.certPem, keyPem: cert.keyPem };
  } finally {
    client.close();
  }
}
