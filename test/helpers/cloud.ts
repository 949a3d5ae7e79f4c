/** Helpers for the cloud controller tests: polling, a Ready node, a LoadBalancer service. */
import type { RestClient } from '../../src/core/client/rest-client.js';

export { waitFor } from './wait.js';

/** Create a node and mark it Ready with the given InternalIP (through the status subresource). */
export async function createReadyNode(
  client: RestClient,
  name: string,
  opts: { ip?: string; labels?: Record<string, string>; providerID?: string; taints?: unknown[] } = {},
): Promise<void> {
  await client.request('POST', '/api/v1/nodes', {
    body: {
      metadata: { name, labels: opts.labels ?? {} },
      spec: {
        ...(opts.providerID ? { providerID: opts.providerID } : {}),
        ...(opts.taints ? { taints: opts.taints } : {}),
      },
    },
  });
  await setNodeReady(client, name, true, opts.ip);
}

/** Set the node's Ready condition (and InternalIP if given). */
export async function setNodeReady(
  client: RestClient,
  name: string,
  ready: boolean,
  ip?: string,
): Promise<void> {
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  await client.request('PATCH', `/api/v1/nodes/${name}/status`, {
    body: {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            reason: ready ? 'KubeletReady' : 'KubeletNotReady',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        ...(ip ? { addresses: [{ type: 'InternalIP', address: ip }] } : {}),
      },
    },
    contentType: 'application/merge-patch+json',
  });
}

/** A LoadBalancer service manifest. */
export function lbService(
  name: string,
  opts: {
    ports?: { port: number; name?: string; protocol?: string }[];
    annotations?: Record<string, string>;
    spec?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', annotations: opts.annotations ?? {} },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: (opts.ports ?? [{ port: 80, name: 'http' }]).map((p) => ({
        protocol: 'TCP',
        targetPort: p.port,
        ...p,
      })),
      ...(opts.spec ?? {}),
    },
  };
}

/** Events about one object, as "reason" strings in order. */
export async function eventReasons(client: RestClient, ns: string, name: string): Promise<string[]> {
  const list = await client.request<{ items: any[] }>('GET', `/api/v1/namespaces/${ns}/events`);
  return list.items
    .filter((e) => e.involvedObject?.name === name)
    .sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1))
    .map((e) => e.reason as string);
}
