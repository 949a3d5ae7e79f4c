/** Writing the admin kubeconfig (a standard client-go kubeconfig with embedded, base64 credentials). */

import { stringify } from 'yaml';
import { readIfExists, SECRET_MODE, writeFileAtomic } from './files.js';

export interface KubeconfigOptions {
  /** API server URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** CA certificate that signed the serving certificate (PEM). */
  caPem: string;
  /** Client certificate and key (PEM); both or neither. */
  clientCertPem?: string | undefined;
  clientKeyPem?: string | undefined;
  /** A bearer token instead of (or as well as) the client certificate. */
  token?: string | undefined;
  /** Name of the cluster, user and context entries. Default `default` (as k3s). */
  contextName?: string | undefined;
}

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/** The kubeconfig document as YAML text. */
export function renderKubeconfig(options: KubeconfigOptions): string {
  const name = options.contextName ?? 'default';
  const user: Record<string, string> = {};
  if (options.clientCertPem !== undefined) user['client-certificate-data'] = b64(options.clientCertPem);
  if (options.clientKeyPem !== undefined) user['client-key-data'] = b64(options.clientKeyPem);
  if (options.token !== undefined) user['token'] = options.token;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
    users: [{ name, user }],
  };
  return stringify(doc);
}

/**
 * Writes the kubeconfig at `path` (mode 0600) unless a file with exactly this content is already
 * there; returns whether it wrote.
 *
 * Why "rewrite whenever the content differs" rather than "never overwrite": this file is output of
 * the server, derived entirely from the PKI and the listen address (like k3s's k3s.yaml). If the
 * server URL, the CA or the admin credentials changed (new port, renewed admin certificate),
 * keeping the old file would leave the admin with a kubeconfig that cannot connect. Leaving an
 * identical file untouched keeps its mtime stable and avoids needless writes. A user who wants a
 * customized kubeconfig should copy it elsewhere (e.g. ~/.kube/config), as with k3s.
 */
export async function writeKubeconfig(
  path: string,
  options: KubeconfigOptions,
): Promise<{ written: boolean }> {
  if ((options.clientCertPem === undefined) !== (options.clientKeyPem === undefined)) {
    throw new TypeError('writeKubeconfig: clientCertPem and clientKeyPem must be given together');
  }
  const content = renderKubeconfig(options);
  if ((await readIfExists(path)) === content) return { written: false };
  await writeFileAtomic(path, content, SECRET_MODE);
  return { written: true };
}
