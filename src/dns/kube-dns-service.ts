/**
 * The `kube-dns` Service in kube-system, for clients that look the cluster DNS up by name. Every
 * node answers on its ClusterIP locally (node-local.ts), so the Service has no backing pods; the
 * annotation tells the service proxy to leave the address to the local DNS server.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import { ApiStatusError } from '../core/client/rest-client.js';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
/** Set on the kube-dns Service: every node serves its ClusterIP itself. */
export const NODE_LOCAL_ANNOTATION = 'k8ts.io/node-local-dns';

/** The kube-dns Service object (ports dns/53 UDP, dns-tcp/53 TCP, metrics/9153 as upstream's). */
export function kubeDnsService(clusterIP: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: KUBE_DNS_NAME,
      namespace: KUBE_DNS_NAMESPACE,
      labels: {
        'k8s-app': 'kube-dns',
        'kubernetes.io/cluster-service': 'true',
        'kubernetes.io/name': 'k8ts-dns',
      },
      annotations: {
        [NODE_LOCAL_ANNOTATION]: 'true',
        'prometheus.io/port': '9153',
        'prometheus.io/scrape': 'true',
      },
    },
    spec: {
      clusterIP,
      selector: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

export interface EnsureKubeDnsOptions {
  clusterIP: string;
  signal?: AbortSignal | undefined;
  /** First retry delay (ms, default 500; doubles up to 30 s). */
  retryMs?: number | undefined;
  log?: ((msg: string) => void) | undefined;
}

type Requester = { request(method: string, path: string, opts?: { body?: unknown }): Promise<any> };

/**
 * Create the kube-dns Service if it is missing (retrying until the API answers or `signal`
 * aborts). Resolves 'created', 'exists' or 'aborted'. An existing Service is left as it is.
 */
export async function ensureKubeDnsService(
  client: Requester,
  opts: EnsureKubeDnsOptions,
): Promise<'created' | 'exists' | 'aborted'> {
  const path = `/api/v1/namespaces/${KUBE_DNS_NAMESPACE}/services`;
  let delay = opts.retryMs ?? 500;
  for (;;) {
    if (opts.signal?.aborted) return 'aborted';
    try {
      try {
        await client.request('GET', `${path}/${KUBE_DNS_NAME}`);
        return 'exists';
      } catch (e) {
        if (!(e instanceof ApiStatusError) || e.httpStatus !== 404) throw e;
      }
      await client.request('POST', path, { body: kubeDnsService(opts.clusterIP) });
      return 'created';
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpStatus === 409) return 'exists';
      if (e instanceof ApiStatusError && e.httpStatus === 422) {
        opts.log?.(`cannot create ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME}: ${e.message}`);
        return 'exists';
      }
      opts.log?.(`creating ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME} failed, retrying: ${(e as Error).message}`);
    }
    await new Promise<void>((r) => {
      const t = setTimeout(r, delay);
      t.unref();
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        r();
      });
    });
    delay = Math.min(delay * 2, 30_000);
  }
}
