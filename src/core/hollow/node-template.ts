/**
 * What a hollow node looks like, free of I/O: the Node object it registers (labels, capacity,
 * addresses, nodeInfo, the conditions a healthy kubelet posts), its Lease, and the timestamps they
 * carry.
 */
import type { KObj } from '../client/informer.js';
import { formatIpv4, parseIpv4 } from '../controllers/node-ipam-cidr-set.js';

export const KUBELET_VERSION = 'v1.32.0-k8ts';
export const HOLLOW_LABEL = 'k8ts.io/hollow';
export const LEASE_NAMESPACE = 'kube-node-lease';
/** Node InternalIPs are handed out from here, one per node index (fake: nothing routes there). */
const NODE_IP_BASE = parseIpv4('10.240.0.0')!;

export interface NodeShape {
  /** Quantities as strings (`4`, `16Gi`). */
  cpu: string;
  memory: string;
  pods: number;
  arch: string;
  zones: string[];
  instanceType?: string | undefined;
  taints: NodeTaint[];
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Parse `key[=value]:Effect` (kubelet's --register-with-taints syntax). */
export function parseTaint(spec: string): NodeTaint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(spec.trim());
  if (!m) throw new Error(`invalid taint "${spec}": want key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
  const t: NodeTaint = { key: m[1]!, effect: m[3] as NodeTaint['effect'] };
  if (m[2]) t.value = m[2];
  return t;
}

/** RFC 3339 with second precision (metav1.Time). */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** RFC 3339 with microseconds (metav1.MicroTime, as a Lease's renewTime). */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/** The fake InternalIP of the node with this index. */
export function nodeIp(index: number): string {
  return formatIpv4((NODE_IP_BASE + index + 1) >>> 0);
}

/**
 * The kubelet-owned conditions of a healthy node, heartbeat now; a condition keeps its
 * lastTransitionTime when its status does not change.
 */
export function healthyConditions(previous: KObj[] | undefined, nowMs: number): KObj[] {
  const now = rfc3339(nowMs);
  const want: [string, string, string, string][] = [
    ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
  ];
  return want.map(([type, status, reason, message]) => {
    const old = previous?.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    };
  });
}

/** The Node a hollow node registers. */
export function hollowNode(name: string, index: number, shape: NodeShape, nowMs: number): KObj {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': shape.arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': shape.arch,
    [HOLLOW_LABEL]: 'true',
  };
  if (shape.instanceType) labels['node.kubernetes.io/instance-type'] = shape.instanceType;
  const zone = shape.zones.length ? shape.zones[index % shape.zones.length] : undefined;
  if (zone) labels['topology.kubernetes.io/zone'] = zone;
  const resources = {
    cpu: shape.cpu,
    memory: shape.memory,
    pods: String(shape.pods),
    'ephemeral-storage': '100Gi',
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: shape.taints.length ? { taints: shape.taints.map((t) => ({ ...t })) } : {},
    status: {
      capacity: resources,
      allocatable: { ...resources },
      conditions: healthyConditions(undefined, nowMs),
      addresses: [
        { type: 'InternalIP', address: nodeIp(index) },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: machineId(name),
        systemUUID: machineId(name),
        bootID: machineId(`${name}/boot`),
        kernelVersion: '6.1.0-hollow',
        osImage: 'k8ts hollow node',
        containerRuntimeVersion: 'hollow://0.1.0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: shape.arch,
      },
      phase: 'Running',
    },
  };
}

/** The Lease a hollow node renews in kube-node-lease, owned by its Node. */
export function hollowLease(node: KObj, durationSeconds: number, nowMs: number): KObj {
  const name: string = node.metadata.name;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: LEASE_NAMESPACE,
      ownerReferences: node.metadata.uid
        ? [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }]
        : undefined,
    },
    spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime(nowMs) },
  };
}

/** A stable 32-hex-digit id from a name (FNV-1a, repeated): the same node gets the same id. */
function machineId(name: string): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 32; round++) {
    for (const ch of `${round}:${name}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 32);
}
