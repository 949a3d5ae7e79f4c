/**
 * The `service-proxy` component of `k8ts server`: the proxy of the server's own node, talking to
 * the API over loopback HTTPS with its own identity (system:kube-proxy), nftables mode as root (iptables
 * where nft is missing, or --proxy-mode) and userspace mode with --rootless.
 */
import { hostname } from 'node:os';
import type { ControlPlane } from '../core/apiserver/control-plane.js';
import { issueClientCert } from '../core/apiserver/pki/ensure-pki.js';
import { RestClient } from '../core/client/rest-client.js';
import { type ProxyMode, type RunningServiceProxy, startServiceProxy } from './start.js';

/** Start the server's service proxy; resolves after its first sync. */
export async function startServiceProxyComponent(
  cp: Pick<ControlPlane, 'pki' | 'url'>,
  opts: {
    rootless: boolean;
    clusterCidr: string;
    /** Default: userspace with rootless, else the root default (startServiceProxy). */
    mode?: ProxyMode | undefined;
    nodeName?: string | undefined;
    healthzBindAddress?: string | undefined;
  },
): Promise<RunningServiceProxy & { stop(): Promise<void> }> {
  const cert = await issueClientCert(cp.pki, { commonName: 'system:kube-proxy' });
  const client = new RestClient({
    server: cp.url,
    caPem: cp.pki.caCertPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    userAgent: 'k8ts-service-proxy',
  });
  const running = await startServiceProxy({
    client,
    nodeName: opts.nodeName ?? hostname(),
    mode: opts.mode ?? (opts.rootless ? 'userspace' : undefined),
    clusterCidr: opts.clusterCidr,
    healthzBindAddress: opts.healthzBindAddress,
  });
  return {
    ...running,
    stop: async () => {
      await running.stop();
      client.close();
    },
  };
}
