/**
 * The cloud controller manager inside `k8ts server`: its own client certificate
 * (`system:cloud-controller-manager`) and HTTPS over loopback like every other controller.
 */
import type { ControlPlane } from '../core/apiserver/control-plane.js';
import { issueClientCert } from '../core/apiserver/pki/ensure-pki.js';
import { StartupError } from '../core/apiserver/startup-error.js';
import { RestClient } from '../core/client/rest-client.js';
import { type CloudOptions, startCloud } from './cloud-command.js';

/** Start the cloud controllers for a started control plane; resolves to a stop function. */
export async function startServerCloud(
  cp: Pick<ControlPlane, 'pki' | 'url'>,
  o: CloudOptions,
): Promise<{ stop(): void }> {
  const cert = await issueClientCert(cp.pki, { commonName: 'system:cloud-controller-manager' });
  const client = new RestClient({
    server: cp.url,
    caPem: cp.pki.caCertPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    userAgent: 'k8ts-cloud-controller-manager',
  });
  let running: Awaited<ReturnType<typeof startCloud>>;
  try {
    running = await startCloud(client, o);
  } catch (e) {
    client.close();
    throw new StartupError('CLOUD', `cloud controller manager: ${(e as Error).message}`);
  }
  if (running)
    console.log(
      `k8ts: cloud controllers running (provider ${running.provider}: ${running.controllers.join(', ')})`,
    );
  return {
    stop: () => {
      running?.stop();
      client.close();
    },
  };
}
