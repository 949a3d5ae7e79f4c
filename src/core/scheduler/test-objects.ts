/** Small builders of Pod and Node objects for the scheduler's unit tests. */
import type { KObj } from '../client/informer.js';

export interface TestPodOptions {
  namespace?: string;
  uid?: string;
  cpu?: string;
  memory?: string;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: KObj[];
  affinity?: KObj;
  hostPort?: number;
  ownerUid?: string;
  labels?: Record<string, string>;
  phase?: string;
  priority?: number;
}

/** A pod with one container. */
export function testPod(name: string, o: TestPodOptions = {}): KObj {
  const requests: KObj = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const container: KObj = { name: 'c', image: 'x', resources: { requests } };
  if (o.hostPort) container.ports = [{ containerPort: 80, hostPort: o.hostPort, protocol: 'TCP' }];
  const spec: KObj = { containers: [container], schedulerName: 'default-scheduler' };
  if (o.nodeName) spec.nodeName = o.nodeName;
  if (o.nodeSelector) spec.nodeSelector = o.nodeSelector;
  if (o.tolerations) spec.tolerations = o.tolerations;
  if (o.affinity) spec.affinity = o.affinity;
  if (o.priority !== undefined) spec.priority = o.priority;
  const metadata: KObj = {
    name,
    namespace: o.namespace ?? 'default',
    uid: o.uid ?? `uid-${name}`,
    resourceVersion: '1',
    labels: o.labels ?? {},
  };
  if (o.ownerUid)
    metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: o.ownerUid, controller: true },
    ];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status: { phase: o.phase ?? 'Pending' } };
}

export interface TestNodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: KObj[];
  unschedulable?: boolean;
}

/** A node with allocatable cpu/memory/pods (defaults 4 cores, 8Gi, 110 pods). */
export function testNode(name: string, o: TestNodeOptions = {}): KObj {
  const spec: KObj = {};
  if (o.taints) spec.taints = o.taints;
  if (o.unschedulable) spec.unschedulable = true;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, resourceVersion: '1', labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec,
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' } },
  };
}
