/**
 * Printers of the core/v1 kinds other than Pod: Namespace, Service, Endpoints, Node, ConfigMap,
 * Secret, ServiceAccount and Event, with upstream's columns and cell formats.
 */
import type {
  ConfigMap,
  Endpoints,
  Event,
  LoadBalancerStatus,
  Namespace,
  Node,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import { age } from './duration.js';
import { formatLabels, joinHostPort, listWithMore } from './format.js';
import { AGE_COLUMN, column, NAME_COLUMN, type Printer } from './table.js';

const LB_WIDTH = 16;

/** Ingress points of a load balancer status: unique IPs (or hostnames), sorted, clipped unless wide. */
export function loadBalancerText(s: Pick<LoadBalancerStatus, 'ingress'> | undefined, wide: boolean): string {
  const set = new Set<string>();
  for (const i of s?.ingress ?? []) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  const text = [...set].sort().join(',');
  return !wide && text.length > LB_WIDTH ? `${text.slice(0, LB_WIDTH - 3)}...` : text;
}

function serviceExternalIP(svc: Service, wide: boolean): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerText(svc.status?.loadBalancer, wide);
      if (external.length > 0) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function servicePorts(svc: Service): string {
  const parts = (svc.spec?.ports ?? []).map((p) => {
    const proto = p.protocol ?? 'TCP';
    return p.nodePort ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
  });
  return parts.length === 0 ? '<none>' : parts.join(',');
}

/** `10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...` over every address x port of every subset. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const shown: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      // Headless services may publish addresses without ports.
      for (const a of addresses) {
        if (shown.length < max) shown.push(a.ip);
        count++;
      }
      continue;
    }
    for (const p of ports) {
      for (const a of addresses) {
        if (shown.length < max) shown.push(joinHostPort(a.ip, p.port));
        count++;
      }
    }
  }
  return listWithMore(shown, count, '');
}

function nodeAddress(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
}

/** Roles from `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label, sorted. */
export function nodeRoles(node: Node): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

function nodeStatus(node: Node): string {
  const status: string[] = [];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready !== undefined) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

function eventSource(e: Event): string {
  const component = e.source?.component || e.reportingComponent || '';
  const host = e.source?.host || e.reportingInstance || '';
  return host === '' ? component : `${component}, ${host}`;
}

function eventRow(e: Event, now: Date): unknown[] {
  const first = e.firstTimestamp ? age(e.firstTimestamp, now) : age(e.eventTime, now);
  let last = e.lastTimestamp ? age(e.lastTimestamp, now) : first;
  let count = e.count ?? 0;
  if (e.series !== undefined) {
    last = age(e.series.lastObservedTime, now);
    count = e.series.count ?? 0;
  } else if (count === 0) {
    count = 1; // events.k8s.io singletons carry no count
  }
  const io = e.involvedObject;
  const kind = (io?.kind ?? '').toLowerCase();
  const target = io?.name ? `${kind}/${io.name}` : kind;
  return [
    last,
    e.type ?? '',
    e.reason ?? '',
    target,
    io?.fieldPath ?? '',
    eventSource(e),
    (e.message ?? '').trim(),
    first,
    count,
    e.metadata?.name ?? '',
  ];
}

export const namespacePrinter: Printer = {
  columns: [NAME_COLUMN, column('Status', 'The status of the namespace'), AGE_COLUMN],
  row: (ns: Namespace, { now }) => ({
    cells: [ns.metadata?.name ?? '', ns.status?.phase ?? '', age(ns.metadata?.creationTimestamp, now)],
  }),
};

export const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    column('Cluster-IP', 'The IP address of the service inside the cluster.'),
    column('External-IP', 'Addresses the service is reachable at from outside the cluster.'),
    column('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE_COLUMN,
    column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', {
      priority: 1,
    }),
  ],
  row: (svc: Service, { now, wide }) => ({
    cells: [
      svc.metadata?.name ?? '',
      svc.spec?.type ?? 'ClusterIP',
      svc.spec?.clusterIPs?.[0] ?? svc.spec?.clusterIP ?? '<none>',
      serviceExternalIP(svc, wide),
      servicePorts(svc),
      age(svc.metadata?.creationTimestamp, now),
      formatLabels(svc.spec?.selector),
    ],
  }),
};

export const endpointsPrinter: Printer = {
  columns: [NAME_COLUMN, column('Endpoints', 'Addresses and ports of the endpoints.'), AGE_COLUMN],
  row: (ep: Endpoints, { now }) => ({
    cells: [ep.metadata?.name ?? '', formatEndpoints(ep), age(ep.metadata?.creationTimestamp, now)],
  }),
};

export const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    AGE_COLUMN,
    column('Version', 'Kubelet version reported by the node.'),
    column('Internal-IP', 'The internal address of the node.', { priority: 1 }),
    column('External-IP', 'The external address of the node.', { priority: 1 }),
    column('OS-Image', 'OS image reported by the node.', { priority: 1 }),
    column('Kernel-Version', 'Kernel version reported by the node.', { priority: 1 }),
    column('Container-Runtime', 'Container runtime version reported by the node.', { priority: 1 }),
  ],
  row: (node: Node, { now }) => {
    const info = node.status?.nodeInfo;
    const roles = nodeRoles(node).join(',');
    return {
      cells: [
        node.metadata?.name ?? '',
        nodeStatus(node),
        roles === '' ? '<none>' : roles,
        age(node.metadata?.creationTimestamp, now),
        info?.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info?.osImage || '<unknown>',
        info?.kernelVersion || '<unknown>',
        info?.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

export const configMapPrinter: Printer = {
  columns: [NAME_COLUMN, column('Data', 'Number of data and binaryData keys.'), AGE_COLUMN],
  row: (cm: ConfigMap, { now }) => ({
    cells: [
      cm.metadata?.name ?? '',
      Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
      age(cm.metadata?.creationTimestamp, now),
    ],
  }),
};

export const secretPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'Used to facilitate programmatic handling of secret data.'),
    column('Data', 'Number of data keys.'),
    AGE_COLUMN,
  ],
  row: (s: Secret, { now }) => ({
    cells: [
      s.metadata?.name ?? '',
      s.type ?? '',
      Object.keys(s.data ?? {}).length,
      age(s.metadata?.creationTimestamp, now),
    ],
  }),
};

export const serviceAccountPrinter: Printer = {
  columns: [NAME_COLUMN, column('Secrets', 'Number of secrets the service account lists.'), AGE_COLUMN],
  row: (sa: ServiceAccount, { now }) => ({
    cells: [sa.metadata?.name ?? '', (sa.secrets ?? []).length, age(sa.metadata?.creationTimestamp, now)],
  }),
};

export const eventPrinter: Printer = {
  columns: [
    column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'Type of this event (Normal, Warning).'),
    column('Reason', 'Short, machine understandable reason for the transition into the object state.'),
    column('Object', 'The object that this event is about.'),
    column('Subobject', 'The part of the object the event is about (fieldPath).', { priority: 1 }),
    column('Source', 'The component reporting this event.', { priority: 1 }),
    column('Message', 'A human-readable description of the status of this operation.'),
    column('First Seen', 'The time at which the event was first recorded.', { priority: 1 }),
    column('Count', 'The number of times this event has occurred.', { priority: 1 }),
    column('Name', 'Name of the event.', { priority: 1, format: 'name' }),
  ],
  row: (e: Event, { now }) => ({ cells: eventRow(e, now) }),
};
