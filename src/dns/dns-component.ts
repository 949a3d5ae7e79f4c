/**
 * The `dns` component of `k8ts server`: its own client certificate, then `startDns` with the
 * server's mode (root: node-local 10.43.0.10:53 on a dummy interface; rootless: loopback port).
 */
import type { ControlPlane } from '../core/apiserver/control-plane.js';
import { issueClientCert } from '../core/apiserver/pki/ensure-pki.js';
import { StartupError } from '../core/apiserver/startup-error.js';
import { RestClient } from '../core/client/rest-client.js';
import { startDns } from './dns.js';
import { printStarted, serverDnsOptions } from './dns-command.js';

/** Start cluster DNS beside the control plane; resolves with its stop function. */
export async function startDnsComponent(
  cp: Pick<ControlPlane, 'pki' | 'url'>,
  o: { rootless: boolean; clusterDnsPort: number; clusterDomain: string },
): Promise<() => Promise<void>> {
  const cert = await issueClientCert(cp.pki, { commonName: 'system:k8ts-dns' });
  const client = new RestClient({
    server: cp.url,
    caPem: cp.pki.caCertPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    userAgent: 'k8ts-dns',
  });
  const opts = serverDnsOptions(client, {
    rootless: o.rootless,
    port: o.clusterDnsPort,
    clusterDomain: o.clusterDomain,
  });
  let dns: Awaited<ReturnType<typeof startDns>>;
  try {
    dns = await startDns(opts);
  } catch (e) {
    client.close();
    throw new StartupError('DNS', `cluster DNS: ${(e as Error).message}`);
  }
  printStarted(dns, opts.host, opts.http!.host);
  return async () => {
    await dns.stop();
    client.close();
  };
}
