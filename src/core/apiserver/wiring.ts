/**
 * Wires the API machinery (admission, selectors, patches, server-side apply, tables, OpenAPI,
 * authentication, metrics) into the shapes the server and registry take.
 */
import type { TLSSocket } from 'node:tls';
import fastJsonPatch from 'fast-json-patch';
import type { ResourceInfo } from '../api/resources.js';
import { badRequest } from './errors.js';
import type { HandlerDeps, Query } from './handlers.js';
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

/** Defaulting + validation. */
export function buildAdmission(): Admission {
  return {
    defaults() {},
    validateCreate: () => [],
    validateUpdate: () => [],
    validateStatusUpdate: () => [],
    invalidMessage: (info, name, errs) =>
      `${info.kind}${info.group ? `.${info.group}` : ''} "${name}" is invalid: ${errs.map((e) => e.message).join(', ')}`,
  };
}

/** Metrics (prom-client). */
export function buildMetrics(): ServerMetrics | undefined {
  return undefined;
}

/** OpenAPI documents. */
export function buildOpenApi(): OpenApiDocs {
  const empty = { json: '{}', etag: '"0"' };
  return { v2: () => empty, v3Index: () => ({ json: '{"paths":{}}', etag: '"0"' }), v3: () => undefined };
}

/** Client certificates signed by our CA, or the admin bearer token. */
export function buildAuth(pki: Pki): { authn: ServerAuthn; authz: ServerAuthz } {
  return {
    authn: {
      authenticate(req) {
        const auth = req.headers.authorization;
        if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
          if (auth.slice(7).trim() === pki.adminToken) return { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
          return undefined;
        }
        const sock = req.socket as TLSSocket;
        if (sock.authorized) {
          const cert = sock.getPeerCertificate();
          const o = cert.subject?.O;
          const groups = Array.isArray(o) ? o : o ? [o] : [];
          return { name: String(cert.subject?.CN ?? ''), groups: [...groups, 'system:authenticated'] };
        }
        return undefined;
      },
    },
    authz: { authorize: () => ({ allowed: true }) },
  };
}

function trackFields(_old: KObj | undefined, _obj: KObj, _ctx: WriteContext): void {}

/** Handler dependencies: selectors, tables, patches. */
export function buildHandlerDeps(registry: Registry, metrics: ServerMetrics | undefined): HandlerDeps {
  return {
    registry,
    buildFilter(_info: ResourceInfo, _q: Query, name?: string) {
      if (name) return { filter: (o: KObj) => o.metadata?.name === name, filtered: true };
      return { filtered: false };
    },
    table(_info, objs, opts) {
      return {
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata: opts.listMeta ?? {},
        columnDefinitions: [
          { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
          { name: 'Created At', type: 'date', format: '', description: 'creation', priority: 0 },
        ],
        rows: objs.map((o) => ({
          cells: [o.metadata.name, o.metadata.creationTimestamp],
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
        })),
      };
    },
    patch(_info, current, patchType, patch) {
      if (patchType === 'application/json-patch+json') {
        try {
          return fastJsonPatch.applyPatch(current, patch as fastJsonPatch.Operation[], true, false).newDocument;
        } catch (e) {
          throw badRequest((e as Error).message);
        }
      }
      return mergePatch(current, patch) as KObj;
    },
    apply(_info, live, applied) {
      return mergePatch(live ?? {}, applied) as KObj;
    },
    watchers: metrics ? { inc: (i) => metrics.watchers(i, 1), dec: (i) => metrics.watchers(i, -1) } : undefined,
  } as HandlerDeps;
}
buildHandlerDeps.trackFields = trackFields;

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
