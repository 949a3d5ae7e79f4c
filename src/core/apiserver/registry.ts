/**
 * The generic REST store: every kind's get, list, create, update, delete over the Storage
 * interface, with upstream's object-meta rules (uid, creationTimestamp, generation,
 * resourceVersion = the storage modRevision, finalizers and graceful deletion).
 *
 * Invariant: the stored JSON never carries metadata.resourceVersion; it is the key's modRevision
 * and is set on every read, so the two can never disagree.
 */
import { randomUUID } from 'node:crypto';
import {
  type FieldError,
  forbidden as forbiddenField,
  invalidStatusMessage,
  statusCauses,
} from '../api/field-error.js';
import { cloneJson } from '../api/json-clone.js';
import { apiVersionOf, type ResourceInfo } from '../api/resources.js';
import { rfc3339Seconds } from '../api/rfc3339.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
} from '../storage/errors.js';
import type { KeyValue, Storage } from '../storage/storage.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  internalError,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  qualifiedResource,
  timeout,
} from './errors.js';
import { encodeForStorage, rememberStored } from './stored-json.js';
import {
  deepEqual,
  hasGeneration,
  type KObj,
  prepareForCreate,
  prepareForUpdate,
  type Requester,
  specChanged,
} from './strategy.js';

export type { KObj } from './strategy.js';

/** Defaulting and validation, injected so that the registry is tested on its own. */
export interface Admission {
  /** Defaults; on update `old` is given (server-assigned values the client left out are carried over). */
  defaults(info: ResourceInfo, obj: KObj, old?: KObj): void;
  validateCreate(info: ResourceInfo, obj: KObj): FieldError[];
  validateUpdate(info: ResourceInfo, obj: KObj, old: KObj): FieldError[];
  validateStatusUpdate(info: ResourceInfo, obj: KObj, old: KObj): FieldError[];
}

/** Side effects around writes of some kinds (ClusterIP / NodePort allocation, managed fields). */
export interface WriteHooks {
  /** Before a create is stored; returns an undo for when the write fails or is a dry run. */
  beforeCreate?(info: ResourceInfo, obj: KObj): (() => void) | undefined;
  /** Before defaulting and validation of an update: carry over server-assigned values the client left out. */
  prepareUpdate?(info: ResourceInfo, obj: KObj, old: KObj): void;
  /** Before an update is stored; returns an undo (of new allocations) and a commit (releases of old ones). */
  beforeUpdate?(
    info: ResourceInfo,
    obj: KObj,
    old: KObj,
  ): { undo?: () => void; commit?: () => void } | undefined;
  /** After an object is removed from storage. */
  afterDelete?(info: ResourceInfo, obj: KObj): void;
  /** Called on every create/update to maintain metadata.managedFields. */
  trackFields?(old: KObj | undefined, obj: KObj, ctx: WriteContext): void;
}

/** Who writes, and how. */
export interface WriteContext {
  manager: string;
  dryRun: boolean;
  subresource?: string | undefined;
  /** Apply (server-side apply) writes have managed fields computed by the caller. */
  skipFieldTracking?: boolean | undefined;
  /** The authenticated requester, when the write comes from a request. */
  user?: Requester | undefined;
}

export interface ListOptions {
  namespace?: string | undefined;
  /** Predicate applied to each object (label + field selectors). */
  filter?: ((obj: KObj) => boolean) | undefined;
  /** True if the filter is not trivially true (remainingItemCount is then not reported). */
  filtered?: boolean | undefined;
  limit?: number | undefined;
  continueToken?: string | undefined;
  resourceVersion?: string | undefined;
  resourceVersionMatch?: string | undefined;
}

export interface ListResult {
  items: KObj[];
  resourceVersion: string;
  continueToken?: string | undefined;
  remainingItemCount?: number | undefined;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number | undefined;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground' | undefined;
  preconditions?: { uid?: string; resourceVersion?: string } | undefined;
}

export interface RegistryOptions {
  storage: Storage;
  admission: Admission;
  hooks?: WriteHooks | undefined;
  now?: (() => Date) | undefined;
}

const GENERATE_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_GUARANTEED_UPDATE_ATTEMPTS = 16;

/** RFC 3339 with seconds precision, as metav1.Time serializes. */
export function rfc3339(d: Date): string {
  return rfc3339Seconds(d.getTime());
}

/** The generic store behind every resource. */
export class Registry {
  readonly storage: Storage;
  private readonly admission: Admission;
  private readonly hooks: WriteHooks;
  private readonly now: () => Date;

  constructor(opts: RegistryOptions) {
    this.storage = opts.storage;
    this.admission = opts.admission;
    this.hooks = opts.hooks ?? {};
    this.now = opts.now ?? (() => new Date());
  }

  /** Storage key of one object. */
  key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced ? `${this.prefix(info, namespace)}${name}` : `${this.prefix(info)}${name}`;
  }

  /** Storage prefix of a resource, optionally narrowed to one namespace. */
  prefix(info: ResourceInfo, namespace?: string): string {
    const base = `/registry/${info.group || 'core'}/${info.plural}/`;
    return info.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  /** Decode a stored value and stamp its resourceVersion. */
  decode(kv: KeyValue): KObj {
    const obj = JSON.parse(kv.value) as KObj;
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  /** Read one object; 404 Status if absent. */
  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObj> {
    const kv = await this.storage.get(this.key(info, namespace, name));
    if (!kv) throw notFound(info, name);
    return this.decode(kv);
  }

  /** List with selectors, paging (limit/continue) and resourceVersion semantics. */
  async list(info: ResourceInfo, opts: ListOptions): Promise<ListResult> {
    const prefix = this.prefix(info, opts.namespace);
    let revision = 0;
    let startKey: string | undefined;
    if (opts.continueToken) {
      const tok = decodeContinue(opts.continueToken);
      if (!tok.start.startsWith(prefix)) throw badRequest('continue key is not valid for this request');
      revision = tok.rv;
      startKey = tok.start;
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const rv = parseResourceVersion(opts.resourceVersion);
      if (opts.resourceVersionMatch === 'Exact') revision = rv;
      else {
        const current = await this.storage.currentRevision();
        if (rv > current) throw timeout(`Too large resource version: ${rv}, current: ${current}`);
      }
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KObj[] = [];
    let more = false;
    let remaining: number | undefined;
    let lastKey: string | undefined;
    try {
      for (;;) {
        const page = await this.storage.list(prefix, {
          revision: revision || undefined,
          limit: limit ? Math.max(limit - items.length, opts.filtered ? 256 : 0) || limit : undefined,
          startKey,
        });
        revision = page.revision;
        for (let i = 0; i < page.items.length; i++) {
          const kv = page.items[i]!;
          const obj = this.decode(kv);
          lastKey = kv.key;
          if (opts.filter && !opts.filter(obj)) continue;
          items.push(obj);
          if (limit && items.length >= limit) {
            more = page.more || i < page.items.length - 1;
            if (!opts.filtered && page.remaining !== undefined)
              remaining = page.remaining + (page.items.length - 1 - i);
            break;
          }
        }
        if (limit && items.length >= limit) break;
        if (!page.more || page.items.length === 0) {
          more = false;
          break;
        }
        startKey = `${page.items[page.items.length - 1]!.key}\x00`;
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        if (opts.continueToken)
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          );
        throw expired(`too old resource version: ${e.requested} (${e.compacted})`);
      }
      if (e instanceof FutureRevisionError)
        throw timeout(`Too large resource version: ${e.requested}, current: ${e.current}`);
      throw e;
    }
    const result: ListResult = { items, resourceVersion: String(revision) };
    if (more && lastKey !== undefined) {
      result.continueToken = encodeContinue(revision, `${lastKey}\x00`);
      if (remaining !== undefined) result.remainingItemCount = remaining;
    }
    return result;
  }

  /** Create an object; the body is already decoded and its kind checked. */
  async create(
    info: ResourceInfo,
    namespace: string | undefined,
    body: KObj,
    ctx: WriteContext,
  ): Promise<KObj> {
    const obj = body;
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (info.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    for (const f of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'])
      delete meta[f];
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    prepareForCreate(info, obj, ctx.user);
    this.admission.defaults(info, obj);
    const errs = this.admission.validateCreate(info, obj);
    if (errs.length) throw this.invalid(info, meta.name ?? '', errs);
    if (!ctx.skipFieldTracking) this.hooks.trackFields?.(undefined, obj, ctx);
    const undo = this.hooks.beforeCreate?.(info, obj);
    if (ctx.dryRun) {
      undo?.();
      return obj;
    }
    try {
      const stored = encodeForStorage(obj);
      const kv = await this.storage.create(this.key(info, namespace, meta.name), stored.text);
      meta.resourceVersion = String(kv.modRevision);
      rememberStored(obj, stored);
      return obj;
    } catch (e) {
      undo?.();
      if (e instanceof KeyExistsError) throw alreadyExists(info, meta.name);
      throw e;
    }
  }

  /**
   * Read-modify-write with retries on concurrent writes: `mutate` gets the current object and
   * returns the desired one (or throws an ApiError). A stale resourceVersion set by `mutate` on the
   * result is a 409, not a retry.
   */
  async guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KObj) => KObj | Promise<KObj>,
    ctx: WriteContext,
  ): Promise<KObj> {
    for (let attempt = 0; ; attempt++) {
      const kv = await this.storage.get(this.key(info, namespace, name));
      if (!kv) throw notFound(info, name);
      const current = this.decode(kv);
      const desired = await mutate(cloneJson(current));
      try {
        return await this.writeUpdate(info, kv, current, desired, ctx);
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_GUARANTEED_UPDATE_ATTEMPTS) continue;
        if (e instanceof ConflictError) throw conflict(info, name, OBJECT_MODIFIED);
        throw e;
      }
    }
  }

  /** PUT: replace the object; a resourceVersion in the body is a precondition. */
  async update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: KObj,
    ctx: WriteContext,
  ): Promise<KObj> {
    const wanted = body.metadata?.resourceVersion;
    return this.guaranteedUpdate(
      info,
      namespace,
      name,
      (current) => {
        if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion)
          throw conflict(info, name, OBJECT_MODIFIED);
        return body;
      },
      ctx,
    );
  }

  private async writeUpdate(
    info: ResourceInfo,
    kv: KeyValue,
    old: KObj,
    body: KObj,
    ctx: WriteContext,
  ): Promise<KObj> {
    const name = old.metadata.name as string;
    if (body.metadata?.name !== undefined && body.metadata.name !== name)
      throw badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    if (
      info.namespaced &&
      body.metadata?.namespace !== undefined &&
      body.metadata.namespace !== '' &&
      body.metadata.namespace !== old.metadata.namespace
    )
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    let obj: KObj = { ...body, apiVersion: apiVersionOf(info), kind: info.kind };
    obj.metadata = { ...(body.metadata ?? {}) };
    const sent = obj.metadata;
    sent.name = name;
    if (info.namespaced) sent.namespace = old.metadata.namespace;
    sent.uid = old.metadata.uid;
    sent.creationTimestamp = old.metadata.creationTimestamp;
    for (const f of ['deletionTimestamp', 'deletionGracePeriodSeconds']) {
      if (old.metadata[f] !== undefined) sent[f] = old.metadata[f];
      else delete sent[f];
    }
    if (old.metadata.generation !== undefined) sent.generation = old.metadata.generation;
    obj = prepareForUpdate(info, obj, old, ctx.subresource);
    // The strategy may answer with a new object (a status write keeps the old metadata): from here
    // on, the metadata is the one to be stored.
    const meta = obj.metadata;
    this.hooks.prepareUpdate?.(info, obj, old);
    this.admission.defaults(info, obj, old);
    // The binding subresource validates its own change (spec.nodeName), which pod updates may not make.
    const errs =
      ctx.subresource === 'binding'
        ? []
        : ctx.subresource === 'status'
          ? this.admission.validateStatusUpdate(info, obj, old)
          : this.admission.validateUpdate(info, obj, old);
    if (errs.length) throw this.invalid(info, name, errs);
    if (old.metadata.deletionTimestamp !== undefined) {
      const added = (obj.metadata.finalizers ?? []).filter(
        (f: string) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length)
        throw this.invalid(info, name, [
          forbiddenField(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{"${added.join('", "')}"}`,
          ),
        ]);
    }
    if (hasGeneration(obj) && specChanged(obj, old)) meta.generation = (old.metadata.generation ?? 0) + 1;
    if (!ctx.skipFieldTracking) this.hooks.trackFields?.(old, obj, ctx);
    // Finalizers removed from an object being deleted: the delete completes now.
    if (
      meta.deletionTimestamp !== undefined &&
      (meta.finalizers ?? []).length === 0 &&
      (meta.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      if (ctx.dryRun) return obj;
      const del = await this.storage.delete(kv.key, { expectedModRevision: kv.modRevision });
      this.hooks.afterDelete?.(info, old);
      obj.metadata.resourceVersion = String(del.modRevision);
      return obj;
    }
    if (isUnchanged(obj, old)) return old;
    const effects = this.hooks.beforeUpdate?.(info, obj, old);
    if (ctx.dryRun) {
      effects?.undo?.();
      return obj;
    }
    try {
      const stored = encodeForStorage(obj);
      const next = await this.storage.update(kv.key, stored.text, {
        expectedModRevision: kv.modRevision,
      });
      meta.resourceVersion = String(next.modRevision);
      rememberStored(obj, stored);
      effects?.commit?.();
      return obj;
    } catch (e) {
      effects?.undo?.();
      if (e instanceof NotFoundError) throw notFound(info, name);
      throw e;
    }
  }

  /**
   * DELETE: honours preconditions, finalizers (sets deletionTimestamp and keeps the object),
   * propagation policy (foreground / orphan finalizers for the garbage collector) and graceful
   * pod deletion. Returns the object and whether it is gone from storage.
   */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions,
    ctx: WriteContext,
  ): Promise<{ obj: KObj; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const key = this.key(info, namespace, name);
      const kv = await this.storage.get(key);
      if (!kv) throw notFound(info, name);
      const obj = this.decode(kv);
      const meta = obj.metadata;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid)
        throw conflict(
          info,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
        );
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
        throw conflict(
          info,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
        );
      const next = cloneJson(obj);
      const nm = next.metadata;
      const finalizers: string[] = [...(nm.finalizers ?? [])];
      const policy = opts.propagationPolicy;
      if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) {
        finalizers.splice(
          0,
          finalizers.length,
          ...finalizers.filter((f) => f !== 'orphan'),
          'foregroundDeletion',
        );
      } else if (policy === 'Orphan' && !finalizers.includes('orphan')) {
        finalizers.splice(
          0,
          finalizers.length,
          ...finalizers.filter((f) => f !== 'foregroundDeletion'),
          'orphan',
        );
      } else if (policy === 'Background') {
        const kept = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
        finalizers.splice(0, finalizers.length, ...kept);
      }
      let grace = this.gracePeriod(info, obj, opts);
      if (info.kind === 'Namespace') {
        if (nm.deletionTimestamp === undefined || obj.status?.phase !== 'Terminating') {
          nm.deletionTimestamp ??= rfc3339(this.now());
          nm.deletionGracePeriodSeconds ??= 0;
          next.status = { ...(next.status ?? {}), phase: 'Terminating' };
        }
        if (finalizers.length) nm.finalizers = finalizers;
        else delete nm.finalizers;
        const specFinalizers: string[] = next.spec?.finalizers ?? [];
        if (specFinalizers.length > 0 || finalizers.length > 0) {
          if (ctx.dryRun) return { obj: next, deleted: false };
          if (deepEqual(next, obj)) return { obj, deleted: false };
          try {
            const stored = encodeForStorage(next);
            const w = await this.storage.update(key, stored.text, {
              expectedModRevision: kv.modRevision,
            });
            nm.resourceVersion = String(w.modRevision);
            rememberStored(next, stored);
            return { obj: next, deleted: false };
          } catch (e) {
            if (e instanceof ConflictError && attempt < MAX_GUARANTEED_UPDATE_ATTEMPTS) continue;
            throw e;
          }
        }
        grace = 0;
      }
      if (finalizers.length > 0 || grace > 0) {
        // Graceful: mark and keep; the finalizer owners (or the kubelet) finish the delete.
        if (nm.deletionTimestamp === undefined || this.shortensGrace(obj, grace)) {
          nm.deletionTimestamp = rfc3339(new Date(this.now().getTime() + grace * 1000));
          nm.deletionGracePeriodSeconds = grace;
        }
        if (finalizers.length) nm.finalizers = finalizers;
        else delete nm.finalizers;
        if (ctx.dryRun) return { obj: next, deleted: false };
        if (deepEqual(next, obj)) return { obj, deleted: false };
        try {
          const stored = encodeForStorage(next);
          const w = await this.storage.update(key, stored.text, {
            expectedModRevision: kv.modRevision,
          });
          nm.resourceVersion = String(w.modRevision);
          rememberStored(next, stored);
          return { obj: next, deleted: false };
        } catch (e) {
          if (e instanceof ConflictError && attempt < MAX_GUARANTEED_UPDATE_ATTEMPTS) continue;
          throw e;
        }
      }
      if (ctx.dryRun) return { obj, deleted: true };
      try {
        const del = await this.storage.delete(key, { expectedModRevision: kv.modRevision });
        this.hooks.afterDelete?.(info, obj);
        meta.resourceVersion = String(del.modRevision);
        return { obj, deleted: true };
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_GUARANTEED_UPDATE_ATTEMPTS) continue;
        if (e instanceof NotFoundError) throw notFound(info, name);
        throw e;
      }
    }
  }

  /** Grace period of a delete: only bound, running pods are deleted gracefully. */
  private gracePeriod(info: ResourceInfo, obj: KObj, opts: DeleteOptions): number {
    if (info.kind !== 'Pod') return 0;
    if (!obj.spec?.nodeName) return 0;
    const phase = obj.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = opts.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g);
  }

  private shortensGrace(obj: KObj, grace: number): boolean {
    const cur = obj.metadata.deletionGracePeriodSeconds;
    return obj.metadata.deletionTimestamp !== undefined && cur !== undefined && grace < cur;
  }

  /** Build the 422 Invalid Status for field errors. */
  invalid(info: ResourceInfo, name: string, errs: FieldError[]): ApiError {
    return invalid({
      kind: info.kind,
      group: info.group,
      name,
      message: invalidStatusMessage(info.kind, info.group, name, errs),
      causes: statusCauses(errs),
    });
  }
}

function isUnchanged(obj: KObj, old: KObj): boolean {
  const strip = (o: KObj) => {
    const m = { ...o.metadata };
    delete m.resourceVersion;
    delete m.managedFields;
    return { ...o, metadata: m };
  };
  return deepEqual(strip(obj), strip(old));
}

/** Append 5 random characters, as upstream's name generator does. */
export function generateName(base: string): string {
  const b = base.length > 58 ? base.slice(0, 58) : base;
  let s = '';
  for (let i = 0; i < 5; i++)
    s += GENERATE_NAME_CHARS[Math.floor(Math.random() * GENERATE_NAME_CHARS.length)];
  return b + s;
}

/** Parse a resourceVersion parameter; 400 on garbage. */
export function parseResourceVersion(rv: string): number {
  if (!/^[0-9]+$/.test(rv)) throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}

/** An opaque continue token: base64 of {v, rv, start}. */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** Decode a continue token; 400 on garbage. */
export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('bad');
    return { rv: t.rv, start: t.start };
  } catch {
    throw badRequest('continue key is not valid: the token cannot be decoded');
  }
}

/** Convert unexpected storage errors into Status errors. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof CompactedError)
    return expired(`too old resource version: ${e.requested} (${e.compacted})`);
  return internalError((e as Error)?.message ?? String(e));
}

export { qualifiedResource };
