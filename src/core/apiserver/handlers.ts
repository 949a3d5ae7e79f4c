/**
 * REST verbs on resources: decode the request, call the registry, encode the answer (object, list,
 * Table, watch stream). One function per verb; the server routes to them after authn/authz.
 */
import { PassThrough } from 'node:stream';
import { invalid, required } from '../api/field-error.js';
import { isK8sProtobuf } from '../api/protobuf/decode.js';
import type { ResourceInfo } from '../api/resources.js';
import { apiVersionOf } from '../api/resources.js';
import {
  checkFieldValidation,
  checkPatchFieldValidation,
  pruneUnknownFields,
} from '../api/validation/field-validation.js';
import {
  ApiError,
  badRequest,
  conflict,
  methodNotSupported,
  notFound,
  OBJECT_MODIFIED,
  qualifiedResource,
} from './errors.js';
import { decodeBody, mediaType, type Negotiated } from './negotiation.js';
import type { DeleteOptions, KObj, Registry, WriteContext } from './registry.js';
import type { ResourceRequest } from './request-info.js';
import { startWatch, type WatchEventType } from './watch.js';

/** What the handlers need besides the registry; injected by the server. */
export interface HandlerDeps {
  registry: Registry;
  /** Build the list filter from the selector query parameters (400 on bad syntax). */
  buildFilter(
    info: ResourceInfo,
    q: Query,
    name?: string,
  ): { filter?: (o: KObj) => boolean; filtered: boolean };
  /** Server-side printing. */
  table(info: ResourceInfo, objs: KObj[], opts: { includeObject: string; listMeta?: KObj }): KObj;
  /** Apply a non-apply patch to the current object. */
  patch(info: ResourceInfo, current: KObj, patchType: string, patch: unknown): KObj;
  /** Server-side apply: returns the object to store (with managedFields set). */
  apply(
    info: ResourceInfo,
    live: KObj | undefined,
    applied: KObj,
    opts: { manager: string; force: boolean; subresource?: string | undefined },
  ): KObj;
  /** Look a namespace up (admission); undefined if it does not exist. */
  namespace(name: string): Promise<KObj | undefined>;
  /** Called when a watch starts/stops (metrics). */
  watchers?: { inc(info: ResourceInfo): void; dec(info: ResourceInfo): void } | undefined;
}

export type Query = Record<string, string | string[] | undefined>;

export interface HandlerResult {
  code: number;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  stream?: PassThrough;
  contentType?: string;
}

export interface HandlerInput {
  req: ResourceRequest;
  info: ResourceInfo;
  query: Query;
  body: Buffer | undefined;
  contentType: string | undefined;
  negotiated: Negotiated;
  userAgent: string | undefined;
  /** The authenticated requester (CertificateSigningRequest creates record it). */
  user?: { name: string; uid?: string | undefined; groups: string[] } | undefined;
  /** Resolves when the client goes away. */
  onClose(fn: () => void): void;
}

/** A single query parameter's value. */
export function qp(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

function qBool(q: Query, name: string): boolean {
  const v = qp(q, name);
  return v === 'true' || v === '1';
}

function qInt(q: Query, name: string): number | undefined {
  const v = qp(q, name);
  if (v === undefined || v === '') return undefined;
  if (!/^-?[0-9]+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return Number(v);
}

function writeContext(input: HandlerInput, subresource?: string): WriteContext {
  const dry = input.query.dryRun;
  const dryRun = Array.isArray(dry) ? dry.includes('All') : dry === 'All';
  if (dry !== undefined && !dryRun)
    throw badRequest(`unsupported dry run value: ${String(dry)}, supported: All`);
  return { manager: fieldManager(input), dryRun, subresource, user: input.user };
}

/** The field manager: the fieldManager parameter, else the user-agent's program name, as upstream does. */
function fieldManager(input: HandlerInput): string {
  const m = qp(input.query, 'fieldManager');
  if (m) {
    if (m.length > 128) throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return m;
  }
  const ua = input.userAgent ?? 'unknown';
  return ua.split('/')[0]!.slice(0, 128) || 'unknown';
}

/**
 * Server-side field validation (the fieldValidation parameter; Warn when absent): unknown and
 * duplicate fields fail the request under Strict and come back as warnings under Warn.
 */
function checkFields(
  input: HandlerInput,
  obj: KObj,
  optionsKind: 'CreateOptions' | 'UpdateOptions',
): string[] {
  const mt = mediaType(input.contentType);
  const text = input.body?.toString('utf8');
  const raw =
    text === undefined || isK8sProtobuf(mt)
      ? {}
      : mt.endsWith('json')
        ? { rawJson: text }
        : { rawYaml: text };
  const r = checkFieldValidation(input.query.fieldValidation, {
    apiVersion: apiVersionOf(input.info),
    kind: input.info.kind,
    obj,
    optionsKind,
    ...raw,
  });
  if (r.failure)
    throw new ApiError(r.failure.httpCode, r.failure.reason, r.failure.message, r.failure.details);
  pruneUnknownFields({ apiVersion: apiVersionOf(input.info), kind: input.info.kind }, obj);
  return r.warnings;
}

/** `Warning` header value(s) for warning texts (RFC 7234 warn-code 299, as upstream). */
export function warningHeaders(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function decodeObject(input: HandlerInput): KObj {
  const v = decodeBody(input.body, input.contentType);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw badRequest('the body of the request must be a JSON/YAML object');
  return v as KObj;
}

/** The body must be of this resource's kind (or carry no kind at all). */
function checkKind(info: ResourceInfo, obj: KObj): void {
  const av = apiVersionOf(info);
  if (obj.kind !== undefined && obj.kind !== info.kind)
    throw badRequest(
      `${obj.kind} in version "${obj.apiVersion ?? ''}" cannot be handled as a ${info.kind}: the kind of the body does not match the resource ${info.plural}`,
    );
  if (obj.apiVersion !== undefined && obj.apiVersion !== av)
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${av})`,
    );
}

function render(input: HandlerInput, deps: HandlerDeps, obj: KObj, code: number): HandlerResult {
  if (input.negotiated.as === 'Table') {
    return {
      code,
      body: deps.table(input.info, [obj], {
        includeObject: qp(input.query, 'includeObject') ?? 'Metadata',
        listMeta: { resourceVersion: obj.metadata?.resourceVersion },
      }),
    };
  }
  if (input.negotiated.as === 'PartialObjectMetadata') return { code, body: partialMeta(obj) };
  return { code, body: obj };
}

function partialMeta(obj: KObj): KObj {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** GET one object. */
export async function handleGet(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info } = input;
  const obj = await deps.registry.get(info, req.namespace, req.name!);
  if (req.subresource === 'scale') return { code: 200, body: toScale(obj) };
  return render(input, deps, obj, 200);
}

/** GET a collection (or watch). */
export async function handleList(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info, query } = input;
  const { filter, filtered } = deps.buildFilter(info, query);
  const res = await deps.registry.list(info, {
    namespace: req.namespace,
    filter,
    filtered,
    limit: qInt(query, 'limit'),
    continueToken: qp(query, 'continue'),
    resourceVersion: qp(query, 'resourceVersion'),
    resourceVersionMatch: qp(query, 'resourceVersionMatch'),
  });
  const listMeta: KObj = { resourceVersion: res.resourceVersion };
  if (res.continueToken) listMeta.continue = res.continueToken;
  if (res.remainingItemCount !== undefined) listMeta.remainingItemCount = res.remainingItemCount;
  if (input.negotiated.as === 'Table') {
    return {
      code: 200,
      body: deps.table(info, res.items, {
        includeObject: qp(query, 'includeObject') ?? 'Metadata',
        listMeta,
      }),
    };
  }
  if (
    input.negotiated.as === 'PartialObjectMetadataList' ||
    input.negotiated.as === 'PartialObjectMetadata'
  ) {
    return {
      code: 200,
      body: {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: listMeta,
        items: res.items.map(partialMeta),
      },
    };
  }
  return {
    code: 200,
    body: { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: listMeta, items: res.items },
  };
}

/**
 * Serialized watch lines, shared by every watcher that receives the same decoded event object (the
 * watch layer hands all watchers of a storage event the same object): N watchers cost one
 * JSON.stringify, not N.
 */
const lineCache = new WeakMap<KObj, Map<string, string>>();

function eventLine(type: WatchEventType, obj: KObj, metadataOnly: boolean): string {
  const key = metadataOnly ? `${type}/meta` : type;
  let lines = lineCache.get(obj);
  const hit = lines?.get(key);
  if (hit !== undefined) return hit;
  const line = `${JSON.stringify({ type, object: metadataOnly ? partialMeta(obj) : obj })}\n`;
  if (!lines) lineCache.set(obj, (lines = new Map()));
  lines.set(key, line);
  return line;
}

/** GET ?watch=true: a chunked stream of watch events. */
export async function handleWatch(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info, query } = input;
  const { filter } = deps.buildFilter(info, query, req.name);
  const stream = new PassThrough();
  const asTable = input.negotiated.as === 'Table';
  const asMeta = input.negotiated.as?.startsWith('PartialObjectMetadata') ?? false;
  const includeObject = qp(query, 'includeObject') ?? 'Metadata';
  let open = true;
  // The events of one storage batch (one commit, handed over together) leave in one write: one
  // chunk, one TLS record and one syscall instead of one per event.
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const out = pending;
    pending = '';
    stream.write(out);
  };
  const sink = {
    write(type: WatchEventType, obj: KObj) {
      if (!open) return;
      if (pending === '') queueMicrotask(flush);
      if (asTable && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
        const object = deps.table(info, [obj], {
          includeObject,
          listMeta: { resourceVersion: obj.metadata?.resourceVersion },
        });
        pending += `${JSON.stringify({ type, object })}\n`;
      } else pending += eventLine(type, obj, asMeta && type !== 'ERROR');
      // A long initial list goes out in pieces, not as one string of every object.
      if (pending.length >= 65_536) flush();
    },
    end() {
      if (!open) return;
      open = false;
      deps.watchers?.dec(info);
      flush();
      stream.end();
    },
  };
  const timeoutSeconds = qInt(query, 'timeoutSeconds') ?? 1800 + Math.floor(Math.random() * 1800);
  deps.watchers?.inc(info);
  let active: { stop(): void };
  try {
    active = await startWatch(
      deps.registry,
      {
        info,
        namespace: req.namespace,
        filter,
        resourceVersion: qp(query, 'resourceVersion'),
        sendInitialEvents:
          query.sendInitialEvents === undefined ? undefined : qBool(query, 'sendInitialEvents'),
        allowBookmarks: qBool(query, 'allowWatchBookmarks'),
        timeoutSeconds,
      },
      sink,
    );
  } catch (e) {
    sink.end();
    throw e;
  }
  input.onClose(() => active.stop());
  return { code: 200, stream, contentType: 'application/json' };
}

/** POST: create (or pods/binding). */
export async function handleCreate(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info } = input;
  if (req.subresource === 'binding' && info.kind === 'Pod') return handleBinding(input, deps);
  if (req.name !== undefined || req.subresource !== undefined) throw methodNotSupported(info, 'create');
  const obj = decodeObject(input);
  checkKind(info, obj);
  const warnings = checkFields(input, obj, 'CreateOptions');
  if (!obj.metadata?.name && !obj.metadata?.generateName)
    throw deps.registry.invalid(info, '', [required('metadata.name', 'name or generateName is required')]);
  await checkNamespace(input, deps, obj.metadata.name ?? obj.metadata.generateName);
  const created = await deps.registry.create(info, req.namespace, obj, writeContext(input));
  return { ...render(input, deps, created, 201), headers: warningHeaders(warnings) };
}

/** Namespaced creates need an existing, non-terminating namespace (upstream's NamespaceLifecycle). */
async function checkNamespace(input: HandlerInput, deps: HandlerDeps, name: string): Promise<void> {
  const { info, req } = input;
  if (!info.namespaced || !req.namespace) return;
  const ns = await deps.namespace(req.namespace);
  if (!ns) throw notFound({ plural: 'namespaces', group: '' }, req.namespace);
  if (ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating')
    throw new ApiError(
      403,
      'Forbidden',
      `${qualifiedResource(info)} "${name}" is forbidden: unable to create new content in namespace ${req.namespace} because it is being terminated`,
      {
        kind: info.plural,
        group: info.group,
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${req.namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      },
    );
}

async function handleBinding(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info } = input;
  const binding = decodeObject(input);
  const node = binding.target?.name;
  if (!node) throw badRequest('Binding target name is required');
  await deps.registry.guaranteedUpdate(
    info,
    req.namespace,
    req.name!,
    (pod) => {
      if (pod.metadata.deletionTimestamp)
        throw new ApiError(409, 'Conflict', `pod ${req.name} is being deleted, cannot be assigned to a host`);
      if (pod.spec.nodeName)
        throw new ApiError(
          409,
          'Conflict',
          `pod ${req.name} is already assigned to node "${pod.spec.nodeName}"`,
          {
            name: req.name!,
            kind: 'pods',
          },
        );
      pod.spec.nodeName = node;
      const conds: KObj[] = (pod.status.conditions ?? []).filter((c: KObj) => c.type !== 'PodScheduled');
      conds.push({
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: new Date().toISOString().slice(0, 19) + 'Z',
      });
      pod.status.conditions = conds;
      return pod;
    },
    { ...writeContext(input), subresource: 'binding' },
  );
  return {
    code: 201,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
  };
}

/** PUT: update, status update, scale update, namespace finalize. */
export async function handleUpdate(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info } = input;
  const obj = decodeObject(input);
  const ctx = writeContext(input, req.subresource);
  if (req.subresource === 'scale') {
    const scaled = await updateScale(input, deps, () => obj, ctx);
    return { code: 200, body: scaled };
  }
  if (
    req.subresource !== undefined &&
    req.subresource !== 'status' &&
    req.subresource !== 'finalize' &&
    req.subresource !== 'approval'
  )
    throw methodNotSupported(info, 'update');
  checkKind(info, obj);
  if (req.subresource === 'finalize') {
    const updated = await deps.registry.guaranteedUpdate(
      info,
      undefined,
      req.name!,
      (cur) => {
        cur.spec = { ...(cur.spec ?? {}), finalizers: obj.spec?.finalizers ?? [] };
        if (
          cur.spec.finalizers.length === 0 &&
          cur.metadata.deletionTimestamp &&
          !(cur.metadata.finalizers ?? []).length
        ) {
          cur.metadata.deletionGracePeriodSeconds = 0;
        }
        return cur;
      },
      { ...ctx, subresource: undefined },
    );
    return render(input, deps, updated, 200);
  }
  const warnings = checkFields(input, obj, 'UpdateOptions');
  const updated = await deps.registry.update(info, req.namespace, req.name!, obj, ctx);
  return { ...render(input, deps, updated, 200), headers: warningHeaders(warnings) };
}

/** PATCH: json, merge, strategic merge, apply. */
export async function handlePatch(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info, query } = input;
  const patchType = mediaType(input.contentType);
  const ctx = writeContext(input, req.subresource);
  const patchBody = decodeBody(
    input.body,
    patchType === 'application/apply-patch+yaml' ? patchType : 'application/json',
  );
  if (req.subresource === 'scale') {
    const scaled = await updateScale(
      input,
      deps,
      (scale) => deps.patch(info, scale, patchType, patchBody),
      ctx,
    );
    return { code: 200, body: scaled };
  }
  if (req.subresource !== undefined && req.subresource !== 'status' && req.subresource !== 'approval')
    throw methodNotSupported(info, 'patch');
  if (patchType === 'application/apply-patch+yaml') {
    if (!qp(query, 'fieldManager'))
      throw badRequest('PATCH, apply requests require the fieldManager parameter');
    const applied = patchBody as KObj;
    if (applied === null || typeof applied !== 'object' || Array.isArray(applied))
      throw badRequest('the apply configuration must be an object');
    checkKind(info, applied);
    pruneUnknownFields({ apiVersion: apiVersionOf(info), kind: info.kind }, applied);
    const force = qBool(query, 'force');
    const opts = { manager: ctx.manager, force, subresource: req.subresource };
    try {
      const updated = await deps.registry.guaranteedUpdate(
        info,
        req.namespace,
        req.name!,
        (cur) => deps.apply(info, cur, applied, opts),
        { ...ctx, skipFieldTracking: true },
      );
      return render(input, deps, updated, 200);
    } catch (e) {
      if (!(e instanceof ApiError && e.httpCode === 404 && req.subresource === undefined)) throw e;
      if (applied.metadata?.name !== undefined && applied.metadata.name !== req.name)
        throw badRequest(
          `the name of the object (${applied.metadata.name}) does not match the name on the URL (${req.name})`,
        );
      await checkNamespace(input, deps, req.name!);
      const obj = deps.apply(
        info,
        undefined,
        { ...applied, metadata: { ...(applied.metadata ?? {}), name: req.name } },
        opts,
      );
      const created = await deps.registry.create(info, req.namespace, obj, {
        ...ctx,
        skipFieldTracking: true,
      });
      return render(input, deps, created, 201);
    }
  }
  const kindOfPatch = PATCH_KINDS[patchType];
  let warnings: string[] = [];
  const updated = await deps.registry.guaranteedUpdate(
    info,
    req.namespace,
    req.name!,
    (cur) => {
      const next = deps.patch(info, cur, patchType, patchBody);
      if (kindOfPatch) {
        const r = checkPatchFieldValidation(query.fieldValidation, {
          apiVersion: apiVersionOf(info),
          kind: info.kind,
          patchType: kindOfPatch,
          patch: input.body?.toString('utf8') ?? '',
          patched: next,
        });
        if (r.failure)
          throw new ApiError(r.failure.httpCode, r.failure.reason, r.failure.message, r.failure.details);
        warnings = r.warnings;
        pruneUnknownFields({ apiVersion: apiVersionOf(info), kind: info.kind }, next);
      }
      const rv = next.metadata?.resourceVersion;
      if (rv !== undefined && rv !== cur.metadata.resourceVersion)
        throw conflict(info, req.name!, OBJECT_MODIFIED);
      return next;
    },
    ctx,
  );
  return { ...render(input, deps, updated, 200), headers: warningHeaders(warnings) };
}

const PATCH_KINDS: Record<string, 'json' | 'merge' | 'strategic' | undefined> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

async function updateScale(
  input: HandlerInput,
  deps: HandlerDeps,
  change: (scale: KObj) => KObj,
  ctx: WriteContext,
): Promise<KObj> {
  const { req, info } = input;
  const updated = await deps.registry.guaranteedUpdate(
    info,
    req.namespace,
    req.name!,
    (cur) => {
      const scale = change(toScale(cur));
      const want = scale.spec?.replicas;
      if (typeof want !== 'number' || !Number.isInteger(want) || want < 0)
        throw deps.registry.invalid(info, req.name!, [
          invalid('spec.replicas', want, 'must be greater than or equal to 0'),
        ]);
      const rv = scale.metadata?.resourceVersion;
      if (rv && rv !== cur.metadata.resourceVersion) throw conflict(info, req.name!, OBJECT_MODIFIED);
      cur.spec.replicas = want;
      return cur;
    },
    { ...ctx, subresource: 'scale' },
  );
  return toScale(updated);
}

/** The autoscaling/v1 Scale view of a scalable object. */
export function toScale(obj: KObj): KObj {
  const sel = obj.spec?.selector;
  let selector = '';
  if (sel) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
    for (const e of sel.matchExpressions ?? []) {
      const op = String(e.operator);
      if (op === 'In') parts.push(`${e.key} in (${[...e.values].sort().join(',')})`);
      else if (op === 'NotIn') parts.push(`${e.key} notin (${[...e.values].sort().join(',')})`);
      else if (op === 'Exists') parts.push(e.key);
      else if (op === 'DoesNotExist') parts.push(`!${e.key}`);
    }
    selector = parts.join(',');
  }
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
  };
}

/** DELETE one object. */
export async function handleDelete(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info } = input;
  if (req.subresource !== undefined) throw methodNotSupported(info, 'delete');
  const opts = deleteOptions(input);
  const { obj, deleted } = await deps.registry.delete(
    info,
    req.namespace,
    req.name!,
    opts,
    writeContext(input),
  );
  // Upstream: 200 when the object is gone, 202 when the delete is pending (finalizers, grace period).
  return render(input, deps, obj, deleted ? 200 : 202);
}

/** DELETE a collection: every object matching the selectors. */
export async function handleDeleteCollection(input: HandlerInput, deps: HandlerDeps): Promise<HandlerResult> {
  const { req, info, query } = input;
  const { filter, filtered } = deps.buildFilter(info, query);
  const list = await deps.registry.list(info, { namespace: req.namespace, filter, filtered });
  const opts = deleteOptions(input);
  const ctx = writeContext(input);
  const items: KObj[] = [];
  for (const o of list.items) {
    try {
      const { obj } = await deps.registry.delete(info, o.metadata.namespace, o.metadata.name, opts, ctx);
      items.push(obj);
    } catch (e) {
      if (!(e instanceof ApiError && e.httpCode === 404)) throw e;
    }
  }
  return {
    code: 200,
    body: {
      kind: info.listKind,
      apiVersion: apiVersionOf(info),
      metadata: { resourceVersion: list.resourceVersion },
      items,
    },
  };
}

function deleteOptions(input: HandlerInput): DeleteOptions {
  let body: KObj = {};
  if (input.body && input.body.length > 0 && input.body.toString('utf8').trim() !== '') {
    body = decodeObject(input);
  }
  const q = input.query;
  const grace = qInt(q, 'gracePeriodSeconds') ?? body.gracePeriodSeconds;
  let policy = qp(q, 'propagationPolicy') ?? body.propagationPolicy;
  if (policy === undefined && (qp(q, 'orphanDependents') === 'true' || body.orphanDependents === true))
    policy = 'Orphan';
  if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy))
    throw badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  const opts: DeleteOptions = {};
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  if (policy !== undefined) opts.propagationPolicy = policy;
  if (body.preconditions) opts.preconditions = body.preconditions;
  return opts;
}
