/**
 * Revision history of DaemonSets and StatefulSets as apps/v1 ControllerRevisions, the objects
 * `kubectl rollout history` and `kubectl rollout undo` read for these kinds (upstream's
 * controller history). A revision's `data` is the strategic merge patch that restores the
 * owner's pod template (`{"spec":{"template":{..., "$patch":"replace"}}}`), its name is
 * `<owner>-<template hash>`, and `revision` orders them: the current template's revision is
 * always the highest, so rolling back to an old template renumbers that revision instead of
 * copying it.
 */
import type { KObj } from '../client/informer.js';
import type { SharedInformer } from '../client/informer-factory.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { canonicalJson, controllerRef, REVISION_LABEL } from './daemonset-statefulset-shared.js';

export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const PATH = (ns: string) => `/apis/apps/v1/namespaces/${ns}/controllerrevisions`;

/** The revision data of an owner: the patch that puts its current pod template back. */
export function revisionData(owner: KObj): KObj {
  return { spec: { template: { ...(owner.spec?.template ?? {}), $patch: 'replace' } } };
}

/** The pod template stored in a revision's data. */
export function templateOf(revision: KObj): KObj | undefined {
  const t = revision.data?.spec?.template;
  if (!t) return undefined;
  const { $patch: _, ...template } = t;
  return template;
}

export interface HistoryInput {
  owner: KObj;
  kind: 'DaemonSet' | 'StatefulSet';
  /** The ControllerRevisions this owner controls. */
  revisions: KObj[];
  /** Name of the revision of the current template (`<owner>-<hash>`). */
  name: string;
  /** Its hash (the pods' controller-revision-hash label value for DaemonSets). */
  hash: string;
  /** Revision names still used by live pods or the owner's status: never pruned. */
  inUse: ReadonlySet<string>;
}

export interface HistoryPlan {
  /** A revision to create for the current template. */
  create?: KObj;
  /** An existing revision of the current template that must become the newest. */
  renumber?: { name: string; revision: number };
  /** Old revisions beyond spec.revisionHistoryLimit (default 10), oldest first. */
  prune: string[];
  /** The revision number the current template has after the plan. */
  revision: number;
}

/** Decide what keeps the history in step with the owner's current template (pure). */
export function planHistory(input: HistoryInput): HistoryPlan {
  const { owner, revisions, name } = input;
  const sorted = [...revisions].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  const max = sorted.length ? (sorted[sorted.length - 1]!.revision ?? 0) : 0;
  const existing = sorted.find((r) => r.metadata.name === name);
  const plan: HistoryPlan = { prune: [], revision: max + 1 };
  if (!existing) {
    const labels: Record<string, string> = {
      ...(owner.spec?.template?.metadata?.labels ?? {}),
      [REVISION_LABEL]: input.hash,
    };
    const cause = owner.metadata?.annotations?.[CHANGE_CAUSE];
    plan.create = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels,
        ...(cause ? { annotations: { [CHANGE_CAUSE]: cause } } : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: input.kind,
            name: owner.metadata.name,
            uid: owner.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      data: revisionData(owner),
      revision: max + 1,
    };
  } else if ((existing.revision ?? 0) < max) {
    plan.renumber = { name, revision: max + 1 };
  } else {
    plan.revision = existing.revision ?? 0;
  }
  const limit: number = owner.spec?.revisionHistoryLimit ?? 10;
  const old = sorted.filter((r) => r.metadata.name !== name && !input.inUse.has(r.metadata.name));
  const excess = old.length - limit;
  if (excess > 0) plan.prune = old.slice(0, excess).map((r) => r.metadata.name);
  return plan;
}

/** The revisions an owner controls, from a shared informer on controllerrevisions. */
export function ownedRevisions(revisions: SharedInformer, owner: KObj): KObj[] {
  return revisions
    .list()
    .filter(
      (r) =>
        r.metadata.namespace === owner.metadata.namespace && controllerRef(r)?.uid === owner.metadata.uid,
    );
}

/** Carry out a history plan through the API; a create that finds the revision already there is fine. */
export async function applyHistory(client: RestClient, owner: KObj, plan: HistoryPlan): Promise<void> {
  const ns: string = owner.metadata.namespace;
  if (plan.create) {
    try {
      await client.request('POST', PATH(ns), { body: plan.create });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 409)) throw e;
      // Same name: either our own revision seen late, or a hash collision with other data.
      const found = await client.request<KObj>('GET', `${PATH(ns)}/${plan.create.metadata.name}`);
      if (canonicalJson(found.data) !== canonicalJson(plan.create.data))
        throw new Error(
          `ControllerRevision ${ns}/${plan.create.metadata.name} exists with other data (hash collision)`,
        );
    }
  }
  if (plan.renumber) {
    await client.request('PATCH', `${PATH(ns)}/${plan.renumber.name}`, {
      body: { revision: plan.renumber.revision },
      contentType: 'application/merge-patch+json',
    });
  }
  for (const name of plan.prune) {
    try {
      await client.request('DELETE', `${PATH(ns)}/${name}`);
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
    }
  }
}
