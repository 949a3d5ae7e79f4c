/**
 * The garbage collector: ownerReferences-driven deletion, as upstream's.
 * - Background: a dependent whose owners are all gone is deleted.
 * - Foreground: an owner with the `foregroundDeletion` finalizer has its dependents deleted; the
 *   finalizer is removed once no dependent with blockOwnerDeletion remains.
 * - Orphan: an owner with the `orphan` finalizer has its ownerReference removed from every
 *   dependent, then the finalizer is removed.
 * It sees the cluster only through informers and REST calls (the one rule of design.md).
 */
import { RESOURCES, type ResourceInfo, resourceForKind } from '../api/resources.js';
import { Informer, type KObj } from '../client/informer.js';
import { collectionPath, objectPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';

interface Node {
  info: ResourceInfo;
  obj: KObj;
}

export class GarbageCollector {
  private readonly client: RestClient;
  private readonly informers: Informer[] = [];
  private readonly byUid = new Map<string, Node>();
  /** owner uid -> dependent uids */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue: WorkQueue;
  private synced = false;

  constructor(client: RestClient) {
    this.client = client;
    this.queue = new WorkQueue((uid) => this.sync(uid), {
      baseDelayMs: 100,
      onError: (key, err) => logRetry('garbage-collector', key, err),
    });
  }

  async start(): Promise<void> {
    for (const info of RESOURCES) {
      const inf = new Informer(this.client, {
        path: collectionPath(info),
        metadataOnly: true,
        handlers: {
          add: (o) => this.observe(info, o),
          update: (o, old) => this.observe(info, o, old),
          delete: (o) => this.forget(o),
        },
      });
      this.informers.push(inf);
    }
    await Promise.all(this.informers.map((i) => i.start()));
    this.synced = true;
    for (const uid of this.byUid.keys()) this.queue.add(uid);
  }

  stop(): void {
    for (const i of this.informers) i.stop();
    this.queue.stop();
  }

  private observe(info: ResourceInfo, obj: KObj, old?: KObj): void {
    const uid = obj.metadata.uid as string;
    this.byUid.set(uid, { info, obj });
    const before = new Set<string>((old?.metadata.ownerReferences ?? []).map((r: KObj) => r.uid));
    for (const r of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(uid);
      before.delete(r.uid);
    }
    for (const gone of before) this.dependents.get(gone)?.delete(uid);
    if (!this.synced) return;
    this.queue.add(uid);
    // A dependent changing (e.g. starting to be deleted) may unblock its owners.
    for (const r of obj.metadata.ownerReferences ?? []) this.queue.add(r.uid);
  }

  private forget(obj: KObj): void {
    const uid = obj.metadata.uid as string;
    this.byUid.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) {
      this.dependents.get(r.uid)?.delete(uid);
      this.queue.add(r.uid);
    }
    for (const dep of this.dependents.get(uid) ?? []) this.queue.add(dep);
  }

  private async sync(uid: string): Promise<void> {
    const node = this.byUid.get(uid);
    if (!node) return;
    const { info, obj } = node;
    const meta = obj.metadata;
    const finalizers: string[] = meta.finalizers ?? [];
    if (meta.deletionTimestamp && finalizers.includes('orphan')) return this.orphanDependents(node);
    if (meta.deletionTimestamp && finalizers.includes('foregroundDeletion'))
      return this.deleteForeground(node);
    if (meta.ownerReferences?.length && !meta.deletionTimestamp) await this.deleteIfOwnersGone(info, obj);
  }

  private async deleteForeground(node: Node): Promise<void> {
    const uid = node.obj.metadata.uid as string;
    let blocking = 0;
    for (const depUid of this.dependents.get(uid) ?? []) {
      const dep = this.byUid.get(depUid);
      if (!dep) continue;
      const ref = (dep.obj.metadata.ownerReferences ?? []).find((r: KObj) => r.uid === uid);
      if (ref?.blockOwnerDeletion) blocking++;
      if (!dep.obj.metadata.deletionTimestamp) {
        await this.deleteObject(dep, ref?.blockOwnerDeletion ? 'Foreground' : 'Background');
      }
    }
    if (blocking === 0) await this.removeFinalizer(node, 'foregroundDeletion');
  }

  private async orphanDependents(node: Node): Promise<void> {
    const uid = node.obj.metadata.uid as string;
    for (const depUid of [...(this.dependents.get(uid) ?? [])]) {
      const dep = this.byUid.get(depUid);
      if (!dep) continue;
      const refs = (dep.obj.metadata.ownerReferences ?? []).filter((r: KObj) => r.uid !== uid);
      await this.ignoreNotFound(
        this.client.request(
          'PATCH',
          objectPath(dep.info, dep.obj.metadata.namespace, dep.obj.metadata.name),
          {
            body: [
              { op: 'test', path: '/metadata/uid', value: dep.obj.metadata.uid },
              {
                op: refs.length ? 'replace' : 'remove',
                path: '/metadata/ownerReferences',
                ...(refs.length ? { value: refs } : {}),
              },
            ],
            contentType: 'application/json-patch+json',
          },
        ),
      );
    }
    await this.removeFinalizer(node, 'orphan');
  }

  private async deleteIfOwnersGone(info: ResourceInfo, obj: KObj): Promise<void> {
    for (const ref of obj.metadata.ownerReferences as KObj[]) {
      if (this.byUid.has(ref.uid)) return;
      // The cache may lag: confirm with a live read before deleting anything.
      const ownerInfo = resourceForKind(ref.apiVersion, ref.kind);
      if (!ownerInfo) continue;
      try {
        const live = await this.client.request(
          'GET',
          objectPath(ownerInfo, obj.metadata.namespace, ref.name),
        );
        if (live.metadata?.uid === ref.uid) return;
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
      }
    }
    await this.deleteObject({ info, obj }, 'Background');
  }

  private async deleteObject(node: Node, policy: 'Foreground' | 'Background'): Promise<void> {
    const { info, obj } = node;
    await this.ignoreNotFound(
      this.client.request('DELETE', objectPath(info, obj.metadata.namespace, obj.metadata.name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: policy,
          preconditions: { uid: obj.metadata.uid },
        },
      }),
    );
  }

  private async removeFinalizer(node: Node, finalizer: string): Promise<void> {
    const { info, obj } = node;
    const finalizers = (obj.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
    await this.ignoreNotFound(
      this.client.request('PATCH', objectPath(info, obj.metadata.namespace, obj.metadata.name), {
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
          { op: 'replace', path: '/metadata/finalizers', value: finalizers },
        ],
        contentType: 'application/json-patch+json',
      }),
    );
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (e instanceof ApiStatusError && (e.httpStatus === 404 || e.httpStatus === 409)) {
        // 404: already gone. 409: precondition failed, the object changed; the next event re-queues it.
        return;
      }
      throw e;
    }
  }
}
