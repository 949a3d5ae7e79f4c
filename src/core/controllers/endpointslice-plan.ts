/**
 * EndpointSlice reconciliation planning, as upstream's reconciler does it: given a Service, its
 * desired endpoints and the slices that exist, decide which slices to create, update and delete
 * with as little churn as possible:
 *  1. in each existing slice keep the endpoints still desired (replacing changed ones in place) and
 *     drop the rest; a slice left empty is deleted;
 *  2. fill the slices being updated anyway (fullest first) with the new endpoints;
 *  3. put a remainder smaller than a slice into the unchanged slice it fits best, else create new
 *     slices of at most `maxEndpointsPerSlice`;
 *  4. turn a delete + create pair into one update of the slice that would be deleted;
 *  5. keep one empty placeholder slice when a service has no endpoints at all.
 * Pure: no I/O, inputs are never mutated (planned slices are copies).
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  ANNOTATION_TRIGGER_TIME,
  ENDPOINTSLICE_CONTROLLER_NAME,
  formatTriggerTime,
  isServiceIPSet,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
} from './endpoints-common.js';
import {
  type AddressType,
  type DesiredEndpoints,
  endpointKey,
  endpointsEqualBeyondKey,
  portKey,
  type Slice,
  type SliceEndpoint,
  type SlicePort,
} from './endpointslice-desired.js';

/** kube-controller-manager's default --max-endpoints-per-slice. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface PlanOptions {
  maxEndpointsPerSlice?: number | undefined;
  /** Trigger time (ms since epoch) to stamp on written slices; undefined clears the annotation. */
  triggerTime?: number | undefined;
  controllerName?: string | undefined;
}

export interface SlicePlan {
  /** New slices (metadata.generateName set, no name). */
  create: Slice[];
  /** Whole slices to PUT (name and resourceVersion of the existing slice). */
  update: Slice[];
  delete: Slice[];
}

const RESERVED_LABELS = new Set([LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS]);

function userLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (!RESERVED_LABELS.has(k)) out[k] = v;
  return out;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** The labels a managed slice of `svc` carries: the service's own plus the reserved ones. */
export function sliceLabels(
  svc: Service,
  controllerName = ENDPOINTSLICE_CONTROLLER_NAME,
): Record<string, string> {
  const labels = userLabels(svc.metadata?.labels);
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata?.name ?? '';
  labels[LABEL_MANAGED_BY] = controllerName;
  return labels;
}

/** Whether a slice's non-reserved labels differ from the service's (then the slice needs an update). */
function labelsChanged(slice: Slice, svc: Service): boolean {
  return !sameMap(userLabels(slice.metadata?.labels), userLabels(svc.metadata?.labels));
}

/** The controller ownerReference of slices of `svc`. */
export function serviceOwnerRef(svc: Service): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: svc.metadata?.name ?? '',
    uid: svc.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether the slice is owned by this very Service object (same uid). */
export function ownedBy(slice: Slice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some(
    (o) => o.uid === svc.metadata?.uid && o.kind === 'Service' && o.apiVersion === 'v1',
  );
}

/** generateName of slices: `<service>-`, or the bare name when the dash would make it too long. */
export function slicePrefix(serviceName: string): string {
  return serviceName.length + 1 > 253 ? serviceName : `${serviceName}-`;
}

function newSlice(svc: Service, addressType: AddressType, ports: SlicePort[], controllerName: string): Slice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: slicePrefix(svc.metadata?.name ?? ''),
      namespace: svc.metadata?.namespace ?? '',
      labels: sliceLabels(svc, controllerName),
      ownerReferences: [serviceOwnerRef(svc)],
    },
    addressType,
    endpoints: [],
    ports: ports.map((p) => ({ ...p })),
  };
}

function isPlaceholder(
  slice: Slice,
  svc: Service,
  addressType: AddressType,
  controllerName: string,
): boolean {
  if ((slice.endpoints ?? []).length > 0 || (slice.ports ?? []).length > 0) return false;
  if (slice.addressType !== addressType || slice.metadata?.namespace !== svc.metadata?.namespace)
    return false;
  if (!sameMap(slice.metadata?.labels ?? {}, sliceLabels(svc, controllerName))) return false;
  const refs = slice.metadata?.ownerReferences ?? [];
  const want = serviceOwnerRef(svc);
  return (
    refs.length === 1 &&
    refs[0]!.uid === want.uid &&
    refs[0]!.name === want.name &&
    refs[0]!.kind === want.kind &&
    refs[0]!.apiVersion === want.apiVersion &&
    refs[0]!.controller === true &&
    refs[0]!.blockOwnerDeletion === true
  );
}

function clone(slice: Slice): Slice {
  return structuredClone(slice);
}

interface PortPlan {
  create: Slice[];
  update: Slice[];
  delete: Slice[];
  unchanged: Slice[];
}

function planPortMapping(
  svc: Service,
  existing: readonly Slice[],
  desired: Map<string, SliceEndpoint>,
  meta: { addressType: AddressType; ports: SlicePort[] },
  opts: { max: number; controllerName: string },
): PortPlan {
  const remaining = new Map(desired);
  const toUpdate: Slice[] = [];
  const toDelete: Slice[] = [];
  const unchanged: Slice[] = [];
  // 1. keep the desired endpoints of each existing slice, drop the others.
  for (const slice of existing) {
    const kept: SliceEndpoint[] = [];
    let changed = false;
    for (const ep of slice.endpoints ?? []) {
      const k = endpointKey(ep);
      const want = remaining.get(k);
      if (!want) continue;
      kept.push({ ...want });
      if (!endpointsEqualBeyondKey(want, ep)) changed = true;
      remaining.delete(k);
    }
    const count = (slice.endpoints ?? []).length;
    if (changed || kept.length !== count) {
      if (kept.length === 0) toDelete.push(slice);
      else {
        const s = clone(slice);
        s.endpoints = kept;
        s.metadata = { ...s.metadata, labels: sliceLabels(svc, opts.controllerName) };
        toUpdate.push(s);
      }
    } else if (labelsChanged(slice, svc)) {
      const s = clone(slice);
      s.metadata = { ...s.metadata, labels: sliceLabels(svc, opts.controllerName) };
      toUpdate.push(s);
    } else {
      unchanged.push(slice);
    }
  }
  const pop = (into: Slice) => {
    const eps = (into.endpoints ??= []);
    for (const [k, ep] of remaining) {
      if (eps.length >= opts.max) break;
      eps.push({ ...ep });
      remaining.delete(k);
    }
  };
  // 2. fill the slices that are written anyway, fullest first.
  if (remaining.size > 0 && toUpdate.length > 0) {
    const byLen = [...toUpdate].sort((a, b) => (b.endpoints ?? []).length - (a.endpoints ?? []).length);
    for (const s of byLen) {
      if (remaining.size === 0) break;
      pop(s);
    }
  }
  // 3. a remainder smaller than a slice goes into the unchanged slice it fills best; else new slices.
  const create: Slice[] = [];
  while (remaining.size > 0) {
    let target: Slice | undefined;
    if (remaining.size < opts.max && unchanged.length > 0) {
      let best = opts.max;
      let bestIdx = -1;
      for (const [i, s] of unchanged.entries()) {
        const diff = opts.max - (remaining.size + (s.endpoints ?? []).length);
        if (diff >= 0 && diff < best) {
          best = diff;
          bestIdx = i;
          if (diff === 0) break;
        }
      }
      if (bestIdx >= 0) {
        target = clone(unchanged[bestIdx]!);
        unchanged.splice(bestIdx, 1);
        toUpdate.push(target);
      }
    }
    if (!target) {
      target = newSlice(svc, meta.addressType, meta.ports, opts.controllerName);
      create.push(target);
    }
    pop(target);
  }
  return { create, update: toUpdate, delete: toDelete, unchanged };
}

const CLOSE_DISTRIBUTIONS = new Set(['PreferClose', 'PreferSameZone', 'PreferSameNode']);

/** Whether the Service asks for the deprecated topology-aware hints annotation mode (Auto). */
function topologyModeAuto(svc: Service): boolean {
  const a = svc.metadata?.annotations ?? {};
  const v = a['service.kubernetes.io/topology-aware-hints'] ?? a['service.kubernetes.io/topology-mode'];
  return v === 'Auto' || v === 'auto';
}

/** The hints an endpoint should carry under the service's trafficDistribution (undefined: none). */
function wantedHints(
  ep: SliceEndpoint,
  distribution: string | undefined,
): SliceEndpoint['hints'] | undefined {
  if (!distribution) return undefined;
  const h: NonNullable<SliceEndpoint['hints']> = {};
  if (ep.zone) h.forZones = [{ name: ep.zone }];
  if (distribution === 'PreferSameNode' && ep.nodeName) h.forNodes = [{ name: ep.nodeName }];
  return h.forZones || h.forNodes ? h : undefined;
}

function hintsEqual(a: SliceEndpoint['hints'] | undefined, b: SliceEndpoint['hints'] | undefined): boolean {
  const z = (h: typeof a) => (h?.forZones ?? []).map((x) => x.name).join(',');
  const n = (h: typeof a) => (h?.forNodes ?? []).map((x) => x.name).join(',');
  return z(a) === z(b) && n(a) === n(b);
}

/**
 * Whether a slice's hints disagree with the distribution. With a close distribution only ready
 * endpoints are judged (others keep what they have); without one, any hint is stale.
 */
function hintsNeedUpdate(slice: Slice, distribution: string | undefined): boolean {
  for (const ep of slice.endpoints ?? []) {
    if (!distribution) {
      if (ep.hints) return true;
      continue;
    }
    if (ep.conditions?.ready !== true) continue;
    if (!hintsEqual(ep.hints, wantedHints(ep, distribution))) return true;
  }
  return false;
}

function applyHints(slice: Slice, distribution: string | undefined): void {
  for (const ep of slice.endpoints ?? []) {
    if (distribution && ep.conditions?.ready !== true) continue;
    const h = wantedHints(ep, distribution);
    if (h) ep.hints = h;
    else delete ep.hints;
  }
}

function stampTriggerTime(slice: Slice, triggerTime: number | undefined): void {
  const annotations = { ...(slice.metadata?.annotations ?? {}) };
  if (triggerTime !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatTriggerTime(triggerTime);
  else delete annotations[ANNOTATION_TRIGGER_TIME];
  slice.metadata = { ...slice.metadata, annotations };
}

/**
 * Plan the slice writes for one Service. `existing` are the slices labelled as managed by this
 * controller for the service's name (possibly owned by an older Service of that name).
 */
export function planSlices(
  svc: Service,
  desired: DesiredEndpoints,
  existing: readonly Slice[],
  opts: PlanOptions = {},
): SlicePlan {
  const max = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  const controllerName = opts.controllerName ?? ENDPOINTSLICE_CONTROLLER_NAME;
  const create: Slice[] = [];
  const update: Slice[] = [];
  const del: Slice[] = [];
  const supported = new Set<string>(desired.addressTypes);
  const byType = new Map<string, Slice[]>();
  for (const s of existing) {
    if (!supported.has(s.addressType)) {
      del.push(s);
      continue;
    }
    let list = byType.get(s.addressType);
    if (!list) byType.set(s.addressType, (list = []));
    list.push(s);
  }
  const distribution =
    svc.spec?.trafficDistribution &&
    CLOSE_DISTRIBUTIONS.has(svc.spec.trafficDistribution) &&
    !topologyModeAuto(svc)
      ? svc.spec.trafficDistribution
      : undefined;
  for (const addressType of desired.addressTypes) {
    const slices = byType.get(addressType) ?? [];
    const tCreate: Slice[] = [];
    const tUpdate: Slice[] = [];
    const tDelete: Slice[] = [];
    const tUnchanged: Slice[] = [];
    const byPorts = new Map<string, Slice[]>();
    for (const s of slices) {
      if (!ownedBy(s, svc)) {
        tDelete.push(s);
        continue;
      }
      const pk = portKey(s.ports);
      let list = byPorts.get(pk);
      if (!list) byPorts.set(pk, (list = []));
      list.push(s);
    }
    const wanted = new Set<string>();
    for (const g of desired.groups.values()) {
      if (g.addressType !== addressType) continue;
      const pk = portKey(g.ports);
      wanted.add(pk);
      const p = planPortMapping(svc, byPorts.get(pk) ?? [], g.endpoints, g, { max, controllerName });
      tCreate.push(...p.create);
      tUpdate.push(...p.update);
      tDelete.push(...p.delete);
      tUnchanged.push(...p.unchanged);
    }
    for (const [pk, list] of byPorts) if (!wanted.has(pk)) tDelete.push(...list);
    // A service with no endpoints keeps exactly one empty placeholder slice.
    if (slices.length === tDelete.length && tCreate.length === 0) {
      const only = tDelete.length === 1 ? tDelete[0]! : undefined;
      if (only && isPlaceholder(only, svc, addressType, controllerName)) tDelete.length = 0;
      else tCreate.push(newSlice(svc, addressType, [], controllerName));
    }
    // Hints: unchanged slices whose hints are stale become updates.
    for (const s of tUnchanged) if (hintsNeedUpdate(s, distribution)) tUpdate.push(clone(s));
    for (const s of [...tCreate, ...tUpdate]) applyHints(s, distribution);
    create.push(...tCreate);
    update.push(...tUpdate);
    del.push(...tDelete);
  }
  // Reuse slices about to be deleted for slices about to be created (one update instead of two writes).
  for (let i = 0; i < del.length && create.length > 0; ) {
    const old = del[i]!;
    const fresh = create[create.length - 1]!;
    if (old.addressType === fresh.addressType && ownedBy(old, svc)) {
      create.pop();
      const { generateName: _g, ...freshMeta } = fresh.metadata ?? {};
      update.push({
        ...fresh,
        metadata: {
          ...old.metadata,
          ...freshMeta,
          name: old.metadata?.name ?? '',
          ...(old.metadata?.annotations ? { annotations: { ...old.metadata.annotations } } : {}),
        },
      });
      del.splice(i, 1);
    } else i++;
  }
  for (const s of [...create, ...update]) stampTriggerTime(s, opts.triggerTime);
  return { create, update, delete: del };
}
