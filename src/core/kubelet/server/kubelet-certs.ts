/**
 * The kubelet's serving certificate for port 10250, issued by the cluster CA so that the API
 * server (which verifies kubelets against that CA) accepts it. Its SANs must hold every address
 * the Node publishes in status.addresses that the API server may dial (InternalIP, Hostname).
 */
import { type CertAndKey, issueLeaf } from '../../apiserver/pki/certs.js';

export interface KubeletServingCertOptions {
  nodeName: string;
  /** IP addresses and DNS names of the node (e.g. 127.0.0.1, the InternalIP, the hostname). */
  hosts: readonly string[];
  now?: Date;
}

/** Issues a serving certificate (CN=system:node:<name>, O=system:nodes) signed by the cluster CA. */
export function issueKubeletServingCert(
  ca: { caCertPem: string; caKeyPem: string },
  opts: KubeletServingCertOptions,
): Promise<CertAndKey> {
  return issueLeaf(
    { certPem: ca.caCertPem, keyPem: ca.caKeyPem },
    {
      commonName: `system:node:${opts.nodeName}`,
      organizations: ['system:nodes'],
      usage: 'server',
      hosts: opts.hosts,
      now: opts.now,
    },
  );
}
