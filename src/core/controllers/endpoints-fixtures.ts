/**
 * Small builders of Pods, Services and Nodes for the Endpoints / EndpointSlice unit tests (kept
 * out of the test files so the tables stay short). Not used by production code.
 */
import type { Container, Node, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export interface PodSpecOptions {
  ip?: string | undefined;
  ips?: string[] | undefined;
  ready?: boolean | undefined;
  readySince?: string | undefined;
  labels?: Record<string, string> | undefined;
  node?: string | undefined;
  deleting?: boolean | undefined;
  phase?: string | undefined;
  ports?: { name: string; containerPort: number; protocol?: string }[] | undefined;
  hostname?: string | undefined;
  subdomain?: string | undefined;
  namespace?: string | undefined;
  resourceVersion?: string | undefined;
}

/** A pod named `name` (uid `uid-<name>`), Running on node-a with an IP unless told otherwise. */
export function pod(name: string, o: PodSpecOptions = {}): Pod {
  const container: Container = { name: 'c', image: 'img' };
  if (o.ports) container.ports = o.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' }));
  const p: Pod = {
    metadata: {
      name,
      namespace: o.namespace ?? 'ns',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      resourceVersion: o.resourceVersion ?? '1',
      ...(o.deleting ? { deletionTimestamp: '2024-01-02T00:00:00Z' } : {}),
    },
    spec: { containers: [container], nodeName: o.node ?? 'node-a' },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: o.readySince ?? '2024-01-01T00:00:00Z',
        },
      ],
    },
  };
  if (o.node === '') delete p.spec!.nodeName;
  if (o.hostname) p.spec!.hostname = o.hostname;
  if (o.subdomain) p.spec!.subdomain = o.subdomain;
  const ips = o.ips ?? (o.ip === '' ? [] : [o.ip ?? '10.42.0.1']);
  if (ips.length > 0) {
    p.status!.podIP = ips[0]!;
    p.status!.podIPs = ips.map((ip) => ({ ip }));
  }
  return p;
}

export interface ServiceOptions {
  selector?: Record<string, string> | null | undefined;
  ports?: ServicePort[] | undefined;
  labels?: Record<string, string> | undefined;
  clusterIP?: string | undefined;
  ipFamilies?: string[] | undefined;
  publishNotReadyAddresses?: boolean | undefined;
  type?: string | undefined;
  trafficDistribution?: string | undefined;
  uid?: string | undefined;
  namespace?: string | undefined;
}

/** A ClusterIP service `name` in `ns` selecting app=web on port 80 -> 8080 unless told otherwise. */
export function service(name: string, o: ServiceOptions = {}): Service {
  const s: Service = {
    metadata: {
      name,
      namespace: o.namespace ?? 'ns',
      uid: o.uid ?? `uid-svc-${name}`,
      creationTimestamp: '2023-12-31T00:00:00Z',
    },
    spec: {
      clusterIP: o.clusterIP ?? '10.43.0.10',
      ipFamilies: o.ipFamilies ?? ['IPv4'],
      ports: o.ports ?? [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
  if (o.selector !== null) s.spec!.selector = o.selector ?? { app: 'web' };
  if (o.labels) s.metadata!.labels = o.labels;
  if (o.publishNotReadyAddresses) s.spec!.publishNotReadyAddresses = true;
  if (o.type) s.spec!.type = o.type;
  if (o.trafficDistribution) s.spec!.trafficDistribution = o.trafficDistribution;
  return s;
}

/** A node, optionally in a zone. */
export function node(name: string, zone?: string): Node {
  return { metadata: { name, ...(zone ? { labels: { 'topology.kubernetes.io/zone': zone } } : {}) } };
}

/** A node lookup over a list of nodes. */
export function nodeLookup(...nodes: Node[]): (name: string) => Node | undefined {
  const m = new Map(nodes.map((n) => [n.metadata!.name!, n]));
  return (name) => m.get(name);
}
