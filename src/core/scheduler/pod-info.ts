/**
 * What the scheduler needs to know about a pod, computed once per pod (not once per node): its
 * resource requests (upstream's rule: the larger of the containers' sum and the biggest init
 * container, sidecars counted alongside, plus overhead), host ports, tolerations, node selector and
 * affinity, and the controller that owns it (for spreading).
 */
import { parseQuantity } from '../api/validation/quantity.js';
import type { KObj } from '../client/informer.js';

/** Requests in the units the scheduler compares: millicores, bytes, and a count for the rest. */
export interface Resources {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended and other named resources (e.g. `nvidia.com/gpu`), in their own units. */
  scalar: Map<string, number>;
}

export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

export interface Toleration {
  key?: string | undefined;
  operator?: string | undefined;
  value?: string | undefined;
  effect?: string | undefined;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[] | undefined;
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[] | undefined;
  matchFields?: NodeSelectorRequirement[] | undefined;
}

export interface PreferredTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface PodInfo {
  /** namespace/name */
  key: string;
  uid: string;
  namespace: string;
  name: string;
  pod: KObj;
  priority: number;
  /** spec.nodeName as written (a pod the user pinned). */
  nodeName: string;
  nodeSelector: Record<string, string>;
  /** Required node affinity terms (ORed), or undefined when there is none. */
  requiredTerms: NodeSelectorTerm[] | undefined;
  preferredTerms: PreferredTerm[];
  tolerations: Toleration[];
  requests: Resources;
  /** Requests with upstream's defaults for unset cpu/memory (100m, 200Mi), used only for scoring. */
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
  hostPorts: HostPort[];
  /** uid of the controller ownerReference ('' when none): pods of one owner are spread. */
  ownerUid: string;
}

/** Upstream's scoring defaults for a container without requests. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Millicores of a cpu quantity, rounded up as upstream's MilliValue. */
export function milliCpu(q: unknown): number {
  const v = parseQuantity(q);
  return v === undefined ? 0 : Math.ceil(v * 1000 - 1e-9);
}

/** Bytes (or units) of a quantity, rounded up. */
export function quantityValue(q: unknown): number {
  const v = parseQuantity(q);
  return v === undefined ? 0 : Math.ceil(v - 1e-9);
}

/** An empty Resources. */
export function emptyResources(): Resources {
  return { milliCpu: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() };
}

function addList(r: Resources, list: Record<string, unknown> | undefined): void {
  if (!list) return;
  for (const [name, q] of Object.entries(list)) {
    if (name === 'cpu') r.milliCpu += milliCpu(q);
    else if (name === 'memory') r.memory += quantityValue(q);
    else if (name === 'ephemeral-storage') r.ephemeralStorage += quantityValue(q);
    else if (name !== 'pods') r.scalar.set(name, (r.scalar.get(name) ?? 0) + quantityValue(q));
  }
}

function maxInto(r: Resources, o: Resources): void {
  r.milliCpu = Math.max(r.milliCpu, o.milliCpu);
  r.memory = Math.max(r.memory, o.memory);
  r.ephemeralStorage = Math.max(r.ephemeralStorage, o.ephemeralStorage);
  for (const [k, v] of o.scalar) r.scalar.set(k, Math.max(r.scalar.get(k) ?? 0, v));
}

function addInto(r: Resources, o: Resources): void {
  r.milliCpu += o.milliCpu;
  r.memory += o.memory;
  r.ephemeralStorage += o.ephemeralStorage;
  for (const [k, v] of o.scalar) r.scalar.set(k, (r.scalar.get(k) ?? 0) + v);
}

function copy(r: Resources): Resources {
  return { ...r, scalar: new Map(r.scalar) };
}

/**
 * Effective requests of a pod spec: max(sum of containers + sidecars, each init container + the
 * sidecars started before it) + overhead.
 */
export function podRequests(spec: KObj | undefined): Resources {
  const sum = emptyResources();
  for (const c of spec?.containers ?? []) addList(sum, c.resources?.requests);
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of spec?.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      addList(sidecars, c.resources?.requests);
      maxInto(initMax, sidecars);
    } else {
      const step = copy(sidecars);
      addList(step, c.resources?.requests);
      maxInto(initMax, step);
    }
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  addList(sum, spec?.overhead);
  return sum;
}

/** Non-zero cpu/memory requests for scoring: a container without a request counts the defaults. */
function nonZero(spec: KObj | undefined): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of spec?.containers ?? []) {
    const req = c.resources?.requests ?? {};
    cpu += req.cpu !== undefined ? milliCpu(req.cpu) : DEFAULT_MILLI_CPU_REQUEST;
    memory += req.memory !== undefined ? quantityValue(req.memory) : DEFAULT_MEMORY_REQUEST;
  }
  let initCpu = 0;
  let initMem = 0;
  for (const c of spec?.initContainers ?? []) {
    const req = c.resources?.requests ?? {};
    initCpu = Math.max(initCpu, req.cpu !== undefined ? milliCpu(req.cpu) : DEFAULT_MILLI_CPU_REQUEST);
    initMem = Math.max(
      initMem,
      req.memory !== undefined ? quantityValue(req.memory) : DEFAULT_MEMORY_REQUEST,
    );
  }
  return {
    cpu: Math.max(cpu, initCpu) + milliCpu(spec?.overhead?.cpu ?? 0),
    memory: Math.max(memory, initMem) + quantityValue(spec?.overhead?.memory ?? 0),
  };
}

function hostPorts(spec: KObj | undefined): HostPort[] {
  const out: HostPort[] = [];
  const all = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const c of all) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ protocol: p.protocol ?? 'TCP', hostIP: p.hostIP || '0.0.0.0', port: p.hostPort });
    }
  }
  return out;
}

/** Build a PodInfo from a Pod object (the object is kept by reference, never mutated). */
export function podInfo(pod: KObj): PodInfo {
  const spec = pod.spec ?? {};
  const md = pod.metadata ?? {};
  const nodeAffinity = spec.affinity?.nodeAffinity;
  const required = nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const nz = nonZero(spec);
  const owner = (md.ownerReferences ?? []).find((r: KObj) => r.controller === true);
  return {
    key: `${md.namespace ?? ''}/${md.name}`,
    uid: md.uid ?? '',
    namespace: md.namespace ?? '',
    name: md.name ?? '',
    pod,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    nodeName: spec.nodeName ?? '',
    nodeSelector: spec.nodeSelector ?? {},
    requiredTerms: required ? (required.nodeSelectorTerms ?? []) : undefined,
    preferredTerms: nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [],
    tolerations: spec.tolerations ?? [],
    requests: podRequests(spec),
    nonZeroMilliCpu: nz.cpu,
    nonZeroMemory: nz.memory,
    hostPorts: hostPorts(spec),
    ownerUid: owner?.uid ?? '',
  };
}

/** Key of a pod object (namespace/name). */
export function podKey(pod: KObj): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name}`;
}
