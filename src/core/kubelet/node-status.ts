/**
 * What this kubelet's Node looks like, free of I/O: the object it registers (labels, capacity,
 * allocatable, addresses, daemon endpoint, nodeInfo), the conditions it reports from measured
 * machine facts (with upstream's eviction thresholds as the pressure limits), and its Lease.
 */
import type { KObj } from '../client/informer.js';
import { microTime, rfc3339 } from './time-format.js';

export const KUBELET_VERSION = 'v1.32.0-k8ts';
export const LEASE_NAMESPACE = 'kube-node-lease';
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** Measured facts about the machine (collected by machine-info.ts). */
export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  /** memory.available as the eviction manager sees it (MemAvailable). */
  memoryAvailableBytes: number;
  /** Size and free space of the filesystem holding the data dir (nodefs). */
  diskBytes: number;
  diskAvailableBytes: number;
  /** Threads running on the machine and the maximum (kernel.pid_max). */
  processes: number;
  pidMax: number;
  arch: string;
  kernelVersion: string;
  osImage: string;
  machineId: string;
  bootId: string;
}

export interface NodeIdentity {
  name: string;
  /** InternalIP. */
  address: string;
  kubeletPort: number;
  /** Extra labels (node-role for the server's own node). */
  labels?: Record<string, string> | undefined;
  maxPods?: number | undefined;
}

/** Upstream's default hard eviction thresholds: memory.available<100Mi, nodefs.available<10%. */
export const MEMORY_PRESSURE_BYTES = 100 * 1024 * 1024;
export const DISK_PRESSURE_FRACTION = 0.1;
/** PID pressure when fewer than 10% of pid_max remain (pid.available, as a fraction). */
export const PID_PRESSURE_FRACTION = 0.1;

/** `node.kubernetes.io/arch` values from Node's process.arch. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    s390x: 's390x',
    ppc64: 'ppc64le',
  };
  return map[nodeArch] ?? nodeArch;
}

function kib(bytes: number): string {
  return `${Math.floor(bytes / 1024)}Ki`;
}

/** Capacity (and allocatable: this kubelet reserves nothing). */
export function nodeResources(m: MachineInfo, maxPods = 110): Record<string, string> {
  return {
    cpu: String(m.cpus),
    memory: kib(m.memoryBytes),
    pods: String(maxPods),
    'ephemeral-storage': kib(m.diskBytes),
  };
}

/**
 * The four kubelet-owned conditions, heartbeat now. A condition keeps its lastTransitionTime while
 * its status does not change.
 */
export function nodeConditions(m: MachineInfo, previous: KObj[] | undefined, nowMs: number): KObj[] {
  const now = rfc3339(nowMs);
  const memPressure = m.memoryAvailableBytes < MEMORY_PRESSURE_BYTES;
  const diskPressure = m.diskBytes > 0 && m.diskAvailableBytes / m.diskBytes < DISK_PRESSURE_FRACTION;
  const pidPressure = m.pidMax > 0 && (m.pidMax - m.processes) / m.pidMax < PID_PRESSURE_FRACTION;
  const want: [string, boolean, string, string, string, string][] = [
    [
      'MemoryPressure',
      memPressure,
      'KubeletHasInsufficientMemory',
      'kubelet has insufficient memory available',
      'KubeletHasSufficientMemory',
      'kubelet has sufficient memory available',
    ],
    [
      'DiskPressure',
      diskPressure,
      'KubeletHasDiskPressure',
      'kubelet has disk pressure',
      'KubeletHasNoDiskPressure',
      'kubelet has no disk pressure',
    ],
    [
      'PIDPressure',
      pidPressure,
      'KubeletHasInsufficientPID',
      'kubelet has insufficient PID available',
      'KubeletHasSufficientPID',
      'kubelet has sufficient PID available',
    ],
  ];
  const out = want.map(([type, on, reasonOn, msgOn, reasonOff, msgOff]) =>
    condition(previous, type, on ? 'True' : 'False', on ? reasonOn : reasonOff, on ? msgOn : msgOff, now),
  );
  out.push(condition(previous, 'Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', now));
  return out;
}

function condition(
  previous: KObj[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): KObj {
  const old = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
}

/** Node labels the kubelet owns. */
export function nodeLabels(id: NodeIdentity, m: MachineInfo): Record<string, string> {
  const arch = goArch(m.arch);
  return {
    'kubernetes.io/hostname': id.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': arch,
    ...id.labels,
  };
}

/** The status the kubelet posts (everything but conditions' history). */
export function nodeStatus(
  id: NodeIdentity,
  m: MachineInfo,
  previous: KObj[] | undefined,
  nowMs: number,
): KObj {
  const resources = nodeResources(m, id.maxPods);
  return {
    capacity: resources,
    allocatable: { ...resources },
    conditions: nodeConditions(m, previous, nowMs),
    addresses: [
      { type: 'InternalIP', address: id.address },
      { type: 'Hostname', address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: m.machineId,
      systemUUID: m.machineId,
      bootID: m.bootId,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: 'process://0.1.0',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: goArch(m.arch),
    },
  };
}

/** The Node object to register. */
export function nodeObject(id: NodeIdentity, m: MachineInfo, nowMs: number): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.name,
      labels: nodeLabels(id, m),
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
    status: nodeStatus(id, m, undefined, nowMs),
  };
}

/** The Lease renewed in kube-node-lease, owned by the Node. */
export function nodeLease(node: KObj, durationSeconds: number, nowMs: number): KObj {
  const name: string = node.metadata.name;
  const meta: KObj = { name, namespace: LEASE_NAMESPACE };
  if (node.metadata.uid)
    meta.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid }];
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: meta,
    spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime(nowMs) },
  };
}
