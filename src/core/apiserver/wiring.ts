/**
 * Wires the API machinery (admission, selectors, patches, server-side apply, tables, OpenAPI,
 * authentication, metrics) into the shapes the server and registry take.
 */

import { applyDefaults, applyJobSelector, applyUpdateDefaults } from '../api/defaults/defaults.js';
import { openapiV2Serialized, openapiV3Index, openapiV3Serialized } from '../api/openapi/openapi.js';
import { openapiV2ProtobufSerialized } from '../api/openapi/v2-protobuf.js';
import {
  ApplyConflictError,
  ApplyInvalidError,
  applyConflictStatus,
  serverSideApply,
} from '../api/patch/apply.js';
import { applyJsonPatch } from '../api/patch/json-patch.js';
import { ManagedFieldsError, updateManagedFields } from '../api/patch/managed-fields.js';
import { applyMergePatch } from '../api/patch/merge-patch.js';
import { applyStrategicMergePatch } from '../api/patch/strategic-merge-patch.js';
import type { ResourceInfo } from '../api/resources.js';
import { apiVersionOf } from '../api/resources.js';
import { SelectorParseError } from '../api/selector/errors.js';
import {
  checkFieldSelector,
  fieldSelectorMatches,
  parseFieldSelector,
} from '../api/selector/field-selector.js';
import { labelsMatch, parseLabelSelector } from '../api/selector/label-selector.js';
import { tableFor } from '../api/tables/tables.js';
import { validateCreate, validateStatusUpdate, validateUpdate } from '../api/validation/validate.js';
import { AllowAuthenticated } from './auth/authorizer.js';
import { BootstrapTokenScope } from './auth/bootstrap-scope.js';
import type { BootstrapSecretLookup } from './auth/bootstrap-token-authenticator.js';
import { createClusterAuthenticator } from './auth/cluster-authenticator.js';
import { ApiError, badRequest, unsupportedMediaType } from './errors.js';
import type { HandlerDeps, Query } from './handlers.js';
import { qp } from './handlers.js';
import { type ApiserverMetrics, createApiserverMetrics } from './metrics.js';
import type { NamespaceCache } from './namespace-lifecycle.js';
import type { Pki } from './pki/ensure-pki.js';
import type { Admission, KObj, Registry, WriteContext } from './registry.js';
import type { OpenApiDocs, ServerAuthn, ServerAuthz, ServerMetrics, VersionInfo } from './server.js';

/** The Kubernetes version k8ts serves (kubectl's version skew warnings key off it). */
export const K8TS_VERSION: VersionInfo = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-k8ts.0.1.0',
  gitCommit: 'unknown',
  gitTreeState: 'clean',
  buildDate: '2026-11-23T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

/** Defaulting + validation (upstream's rules, src/core/api/defaults and validation). */
export function buildAdmission(): Admission {
  return {
    defaults(info, obj, old) {
      applyDefaults(info, obj);
      if (old) applyUpdateDefaults(info, obj, old);
      else if (info.kind === 'Job' && obj.metadata?.uid) applyJobSelector(obj, obj.metadata.uid);
    },
    validateCreate: (info, obj) => validateCreate(info, obj),
    validateUpdate: (info, obj, old) => validateUpdate(info, obj, old),
    validateStatusUpdate: (info, obj, old) => validateStatusUpdate(info, obj, old),
  };
}

/** Metrics (prom-client, upstream names). */
export function buildMetrics(): ApiserverMetrics {
  return createApiserverMetrics();
}

/** OpenAPI documents. */
export function buildOpenApi(): OpenApiDocs {
  let index: { json: string; etag: string } | undefined;
  return {
    v2: () => openapiV2Serialized(),
    v2Protobuf: () => openapiV2ProtobufSerialized(),
    v3Index: () => {
      index ??= { json: JSON.stringify(openapiV3Index()), etag: '' };
      return index;
    },
    v3: (path) => openapiV3Serialized(path.split('?')[0]!),
  };
}

/**
 * Client certificates signed by our CA, the admin bearer token, or a bootstrap token (when the
 * Secrets are given); bootstrap tokens may only request certificates, every other authenticated
 * user is allowed (RBAC: TODO(#10)).
 */
export function buildAuth(
  pki: Pki,
  opts: { bootstrapSecrets?: BootstrapSecretLookup | undefined } = {},
): { authn: ServerAuthn; authz: ServerAuthz } {
  return {
    authn: createClusterAuthenticator({
      adminToken: pki.adminToken,
      bootstrapSecrets: opts.bootstrapSecrets,
    }),
    authz: new BootstrapTokenScope(new AllowAuthenticated()),
  };
}

/** Maintain metadata.managedFields on every non-apply write. */
export function trackFields(old: KObj | undefined, obj: KObj, ctx: WriteContext): void {
  try {
    const entries = updateManagedFields(old, obj, {
      manager: ctx.manager,
      operation: 'Update',
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      time: new Date(),
      ...(ctx.subresource === 'status' || ctx.subresource === 'scale'
        ? { subresource: ctx.subresource }
        : {}),
    });
    if (entries.length) obj.metadata.managedFields = entries;
    else delete obj.metadata.managedFields;
  } catch (e) {
    if (e instanceof ManagedFieldsError) throw badRequest(e.message);
    throw e;
  }
}

/** Handler dependencies: selectors, tables, patches. */
export function buildHandlerDeps(
  registry: Registry,
  metrics: ServerMetrics | undefined,
  namespaces: NamespaceCache,
): HandlerDeps {
  return {
    registry,
    namespace: (name) => namespaces.get(name),
    buildFilter(info: ResourceInfo, q: Query, name?: string) {
      return buildFilter(info, q, name);
    },
    table(info, objs, opts) {
      const includeObject = (
        ['None', 'Object', 'Metadata'].includes(opts.includeObject) ? opts.includeObject : 'Metadata'
      ) as 'None' | 'Object' | 'Metadata';
      return tableFor(info, objs, {
        wide: true,
        includeObject,
        now: new Date(),
        ...(opts.listMeta ? { listMeta: opts.listMeta } : {}),
      }) as unknown as KObj;
    },
    patch(info, current, patchType, patch) {
      return applyPatch(info, current, patchType, patch);
    },
    apply(info, live, applied, opts) {
      try {
        return serverSideApply(live, applied, {
          manager: opts.manager,
          force: opts.force,
          apiVersion: apiVersionOf(info),
          kind: info.kind,
          time: new Date(),
          ...(opts.subresource ? { subresource: opts.subresource } : {}),
        }).object as KObj;
      } catch (e) {
        if (e instanceof ApplyConflictError) {
          const st = applyConflictStatus(e);
          throw new ApiError(409, 'Conflict', st.message, {
            ...st.details,
            kind: info.plural,
            group: info.group,
          });
        }
        if (e instanceof ApplyInvalidError || e instanceof ManagedFieldsError) throw badRequest(e.message);
        throw e;
      }
    },
    watchers: metrics
      ? { inc: (i) => metrics.watchers(i, 1), dec: (i) => metrics.watchers(i, -1) }
      : undefined,
  };
}

/** The list/watch predicate from labelSelector, fieldSelector and (for watches on one object) the name. */
export function buildFilter(
  info: ResourceInfo,
  q: Query,
  name?: string,
): { filter?: (o: KObj) => boolean; filtered: boolean } {
  const preds: ((o: KObj) => boolean)[] = [];
  const ref = { apiVersion: apiVersionOf(info), kind: info.kind };
  try {
    const ls = qp(q, 'labelSelector');
    if (ls) {
      const sel = parseLabelSelector(ls);
      preds.push((o) => labelsMatch(sel, o.metadata?.labels));
    }
    const fs = qp(q, 'fieldSelector');
    if (fs) {
      const sel = checkFieldSelector(parseFieldSelector(fs), ref);
      preds.push((o) => fieldSelectorMatches(o, sel, ref));
    }
  } catch (e) {
    if (e instanceof SelectorParseError) throw badRequest(e.message);
    throw e;
  }
  if (name !== undefined) preds.push((o) => o.metadata?.name === name);
  if (preds.length === 0) return { filtered: false };
  if (preds.length === 1) return { filter: preds[0]!, filtered: true };
  return { filter: (o) => preds.every((p) => p(o)), filtered: true };
}

/** Apply a JSON, merge or strategic merge patch; errors become Status errors. */
export function applyPatch(info: ResourceInfo, current: KObj, patchType: string, patch: unknown): KObj {
  try {
    switch (patchType) {
      case 'application/json-patch+json':
        return applyJsonPatch(current, patch);
      case 'application/merge-patch+json':
        return applyMergePatch(current, patch);
      case 'application/strategic-merge-patch+json':
        return applyStrategicMergePatch(current, patch, { apiVersion: apiVersionOf(info), kind: info.kind });
      default:
        throw unsupportedMediaType(patchType);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const err = e as Error & { code?: string };
    if (err.name === 'JsonPatchError' || err.name === 'StrategicMergePatchError')
      throw new ApiError(422, 'Invalid', err.message, { kind: info.kind, group: info.group });
    if (err.name === 'MergePatchError') throw badRequest(err.message);
    throw e;
  }
}
