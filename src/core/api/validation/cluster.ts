/**
 * Namespace, Node, Lease and Event validation.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Event, Namespace, Node, Taint } from 'kubernetes-types/core/v1.js';
import {
  duplicate,
  type FieldError,
  forbidden,
  invalid,
  notSupported,
  required,
  tooLong,
} from '../field-error.js';
import { validateNonNegative } from './common.js';
import { isQualifiedName, isValidCIDR, isValidIP, isValidLabelValue } from './names.js';

/** A Namespace: spec.finalizers are standard (`kubernetes`) or domain-qualified names. */
export function validateNamespace(ns: Namespace): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ns.spec?.finalizers ?? []) {
    for (const m of isQualifiedName(f)) errs.push(invalid('spec.finalizers', f, m));
    if (!f.includes('/') && f !== 'kubernetes') {
      errs.push(
        invalid('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'),
      );
    }
  }
  return errs;
}

/** A Namespace status write: phase agrees with deletionTimestamp. */
export function validateNamespaceStatus(ns: Namespace): FieldError[] {
  const phase = ns.status?.phase;
  if (!ns.metadata?.deletionTimestamp) {
    if (phase !== 'Active')
      return [invalid('status.Phase', phase ?? '', "may only be 'Active' if `deletionTimestamp` is empty")];
  } else if (phase !== 'Terminating') {
    return [
      invalid('status.Phase', phase ?? '', "may only be 'Terminating' if `deletionTimestamp` is not empty"),
    ];
  }
  return [];
}

function validateTaints(taints: Taint[] | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (taints ?? []).forEach((t, i) => {
    const tp = `${p}[${i}]`;
    for (const m of isQualifiedName(t.key ?? '')) errs.push(invalid(`${tp}.key`, t.key ?? '', m));
    if (t.value) for (const m of isValidLabelValue(t.value)) errs.push(invalid(`${tp}.value`, t.value, m));
    const effects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
    if (!t.effect) errs.push(required(`${tp}.effect`, ''));
    else if (!effects.includes(t.effect)) errs.push(notSupported(`${tp}.effect`, t.effect, effects));
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) errs.push(duplicate(tp, t));
    seen.add(key);
  });
  return errs;
}

/** A Node: podCIDRs are CIDRs (at most one per family), taints are well-formed. */
export function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  const cidrs = spec.podCIDRs ?? [];
  cidrs.forEach((c, i) => {
    for (const m of isValidCIDR(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, m));
  });
  if (cidrs.length > 2)
    errs.push(invalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  if (spec.podCIDR && cidrs.length > 0 && cidrs[0] !== spec.podCIDR) {
    errs.push(invalid('spec.podCIDRs', cidrs, 'first value must match `podCIDR`'));
  } else if (spec.podCIDR && cidrs.length === 0) {
    for (const m of isValidCIDR(spec.podCIDR)) errs.push(invalid('spec.podCIDR', spec.podCIDR, m));
  }
  errs.push(...validateTaints(spec.taints, 'spec.taints'));
  errs.push(...validateNodeStatus(node));
  return errs;
}

/** A Node update: podCIDRs and providerID can be set once, from empty. */
export function validateNodeUpdate(node: Node, old: Node): FieldError[] {
  const errs = validateNode(node);
  const oc = old.spec?.podCIDRs ?? [];
  const nc = node.spec?.podCIDRs ?? [];
  if (oc.length > 0 && JSON.stringify(oc) !== JSON.stringify(nc)) {
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  const op = old.spec?.providerID;
  if (op && op !== node.spec?.providerID) {
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

/** Node status: addresses of IP types hold IPs. */
export function validateNodeStatus(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  (node.status?.addresses ?? []).forEach((a, i) => {
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address) {
      for (const m of isValidIP(a.address))
        errs.push(invalid(`status.addresses[${i}].address`, a.address, m));
    }
  });
  return errs;
}

/** A Lease: durations positive, transitions non-negative. */
export function validateLease(lease: Lease): FieldError[] {
  const spec = lease.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errs.push(invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  errs.push(...validateNonNegative(spec.leaseTransitions, 'spec.leaseTransitions'));
  return errs;
}

const REASON_MAX = 128;
const NOTE_MAX = 1024;

/** A core/v1 Event: the involved object's namespace agrees; new-style events have stricter fields. */
export function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const ions = ev.involvedObject?.namespace ?? '';
  if (ions === '') {
    if (ns !== '' && ns !== 'default')
      errs.push(invalid('involvedObject.namespace', ions, 'does not match event.namespace'));
  } else if (ns !== ions) {
    errs.push(invalid('involvedObject.namespace', ions, 'does not match event.namespace'));
  }
  if (ev.type !== undefined && ev.type !== '' && ev.type !== 'Normal' && ev.type !== 'Warning') {
    errs.push(invalid('type', '', `has invalid value: ${ev.type}`));
  }
  if (ev.reportingComponent) {
    for (const m of isQualifiedName(ev.reportingComponent))
      errs.push(invalid('reportingController', ev.reportingComponent, m));
  }
  if (ev.eventTime) {
    // New-style events (written through events.k8s.io semantics) must identify their reporter.
    if (!ev.reportingComponent) errs.push(required('reportingController', ''));
    if (!ev.reportingInstance) errs.push(required('reportingInstance', ''));
    else if (ev.reportingInstance.length > REASON_MAX)
      errs.push(tooLong('reportingInstance', '', REASON_MAX));
    if (!ev.action) errs.push(required('action', ''));
    else if (ev.action.length > REASON_MAX) errs.push(tooLong('action', '', REASON_MAX));
    if (!ev.reason) errs.push(required('reason', ''));
    else if (ev.reason.length > REASON_MAX) errs.push(tooLong('reason', '', REASON_MAX));
    if ((ev.message ?? '').length > NOTE_MAX) errs.push(tooLong('message', '', NOTE_MAX));
  }
  errs.push(...validateNonNegative(ev.count, 'count'));
  return errs;
}
