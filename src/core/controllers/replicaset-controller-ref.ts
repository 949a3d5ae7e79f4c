/**
 * Controller references, as upstream's ControllerRefManager: an owner (a ReplicaSet over pods, a
 * Deployment over ReplicaSets) keeps what it controls and still selects, adopts orphans its
 * selector matches, and releases what it controls but no longer selects. Adoption and release
 * are JSON patches guarded by `test` on uid and resourceVersion, so a write never lands on an
 * object that changed since it was read.
 */
import { type LabelSelector, labelSelectorFromObject } from '../api/selector/label-selector.js';
import type { KObj } from '../client/informer.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Index name for "uid of the controlling owner" (same meaning wherever it is registered). */
export const CONTROLLER_UID_INDEX = 'k8ts.controller-uid';
/** Index name for "namespace of an object without a controlling owner". */
export const ORPHAN_NAMESPACE_INDEX = 'k8ts.orphan-namespace';

/** The ownerReference with `controller: true`, if any. */
export function controllerRefOf(obj: KObj): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: OwnerReference) => r.controller === true);
}

/** Index function: the controlling owner's uid. */
export function controllerUidIndex(obj: KObj): string[] {
  const ref = controllerRefOf(obj);
  return ref ? [ref.uid] : [];
}

/** Index function: the namespace of an orphan (no controlling owner). */
export function orphanNamespaceIndex(obj: KObj): string[] {
  return controllerRefOf(obj) || !obj.metadata?.namespace ? [] : [obj.metadata.namespace];
}

/** The ownerReference a controller puts on what it creates or adopts. */
export function controllerReference(owner: KObj, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export type ClaimDecision = 'keep' | 'adopt' | 'release' | 'ignore';

/** What an owner does with one candidate object, given whether its selector matches it. */
export function claimDecision(owner: KObj, obj: KObj, matches: boolean): ClaimDecision {
  const ref = controllerRefOf(obj);
  const ownerDeleting = owner.metadata.deletionTimestamp !== undefined;
  if (ref) {
    if (ref.uid !== owner.metadata.uid) return 'ignore';
    if (matches) return 'keep';
    // Ours but no longer selected: let it go, unless we are being deleted (the GC handles it).
    return ownerDeleting ? 'ignore' : 'release';
  }
  if (ownerDeleting || !matches) return 'ignore';
  if (obj.metadata.deletionTimestamp !== undefined) return 'ignore';
  if (owner.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) return 'ignore';
  return 'adopt';
}

/** JSON patch that adds `ref` to an object's ownerReferences if it is unchanged. */
export function adoptPatch(obj: KObj, ref: OwnerReference): KObj[] {
  const refs: KObj[] = obj.metadata.ownerReferences ?? [];
  return [
    { op: 'test', path: '/metadata/uid', value: obj.metadata.uid },
    { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
    { op: 'add', path: '/metadata/ownerReferences', value: [...refs, ref] },
  ];
}

/** JSON patch that removes the owner `ownerUid` from an object's ownerReferences if it is unchanged. */
export function releasePatch(obj: KObj, ownerUid: string): KObj[] {
  const refs: KObj[] = (obj.metadata.ownerReferences ?? []).filter((r: KObj) => r.uid !== ownerUid);
  return [
    { op: 'test', path: '/metadata/uid', value: obj.metadata.uid },
    { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
    refs.length > 0
      ? { op: 'replace', path: '/metadata/ownerReferences', value: refs }
      : { op: 'remove', path: '/metadata/ownerReferences' },
  ];
}

export interface ClaimOptions {
  /** Whether the owner's selector selects the object. */
  matches(obj: KObj): boolean;
  /** Fresh check that the owner still exists with the same uid and is not being deleted. */
  canAdopt(): Promise<boolean>;
  /** Adopt; resolve false if the object is gone. */
  adopt(obj: KObj): Promise<boolean>;
  /** Release; errors other than "gone" reject. */
  release(obj: KObj): Promise<void>;
}

/**
 * Claim candidates for `owner`: returns the objects it controls after adoption and release.
 * The fresh owner check runs at most once, and only if something is to be adopted.
 */
export async function claimObjects(
  owner: KObj,
  candidates: readonly KObj[],
  opts: ClaimOptions,
): Promise<KObj[]> {
  const claimed: KObj[] = [];
  let adoptable: boolean | undefined;
  for (const obj of candidates) {
    const decision = claimDecision(owner, obj, opts.matches(obj));
    if (decision === 'keep') claimed.push(obj);
    else if (decision === 'release') await opts.release(obj);
    else if (decision === 'adopt') {
      adoptable ??= await opts.canAdopt();
      if (!adoptable) continue;
      if (await opts.adopt(obj)) claimed.push(obj);
    }
  }
  return claimed;
}

/** Compile an owner's spec.selector; undefined when it is invalid (it then selects nothing). */
export function ownerSelector(owner: KObj): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(owner.spec?.selector);
  } catch {
    return undefined;
  }
}
