/**
 * The REST operations of each served resource, in a neutral form that the v2 and v3 renderers
 * turn into `paths`. Mirrors what the upstream apiserver installs: collection and item paths (plus
 * the all-namespaces list for namespaced kinds) and the status/scale/binding/finalize
 * subresources. Every write carries `fieldValidation`; kubectl looks for it on the PATCH operation
 * of a kind before it turns on server-side field validation.
 */
import type { ResourceInfo } from '../resources.js';
import { definitionName, type GroupVersionKind, META } from './schema.js';

/** Subresources served by kubelets (no object body; not described yet). */
const CONNECT_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

export type ParamType = 'string' | 'boolean' | 'integer';

export interface Param {
  name: string;
  in: 'path' | 'query';
  type: ParamType;
  description: string;
  required?: true;
}

export type Action = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  operationId: string;
  description: string;
  action: Action;
  gvk: GroupVersionKind;
  params: Param[];
  /** Definition name of the request body; patch bodies use meta.v1.Patch under the patch media types. */
  body?: string;
  /** Definition name of the 200 response. */
  response: string;
  /** Extra success codes besides 200. */
  also: ('201' | '202')[];
  /** List operations also stream watch events. */
  watch?: true;
}

export interface PathItem {
  path: string;
  params: Param[];
  operations: Operation[];
}

const q = (name: string, type: ParamType, description: string): Param => ({
  name,
  in: 'query',
  type,
  description,
});

const P = {
  pretty: q('pretty', 'string', "If 'true', the output is indented for people to read."),
  dryRun: q(
    'dryRun',
    'string',
    "When 'All', the request is validated and processed but nothing is persisted.",
  ),
  fieldManager: q(
    'fieldManager',
    'string',
    'Name of the actor making the change, recorded in managedFields.',
  ),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'What the server does with unknown or duplicate fields in the request body: Ignore, Warn (the default) or Strict.',
  ),
  force: q('force', 'boolean', 'For apply patches: take ownership of fields other managers own.'),
  labelSelector: q('labelSelector', 'string', 'Only objects whose labels match this selector.'),
  fieldSelector: q('fieldSelector', 'string', 'Only objects whose fields match this selector.'),
  limit: q(
    'limit',
    'integer',
    'Largest number of items to return; the list metadata carries a continue token.',
  ),
  continue: q('continue', 'string', 'Token from a previous limited list to fetch the next chunk.'),
  resourceVersion: q('resourceVersion', 'string', 'Resource version the request may be served from.'),
  resourceVersionMatch: q(
    'resourceVersionMatch',
    'string',
    'How resourceVersion applies to a list: Exact or NotOlderThan.',
  ),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Upper bound on the duration of a list or watch call.'),
  watch: q('watch', 'boolean', 'Stream add, update and delete events instead of returning a list.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK events on a watch.'),
  sendInitialEvents: q(
    'sendInitialEvents',
    'boolean',
    'Start a watch with synthetic ADDED events for the current state.',
  ),
  gracePeriodSeconds: q(
    'gracePeriodSeconds',
    'integer',
    'Seconds before the object is deleted; 0 deletes at once.',
  ),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated: use propagationPolicy.'),
  propagationPolicy: q(
    'propagationPolicy',
    'string',
    'Garbage collection of dependents: Orphan, Background or Foreground.',
  ),
};

const LIST = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH = [...WRITE, P.force];
const DELETE = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION = [
  P.continue,
  P.dryRun,
  P.fieldSelector,
  P.gracePeriodSeconds,
  P.labelSelector,
  P.limit,
  P.orphanDependents,
  P.propagationPolicy,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
];

function pathParam(name: string, description: string): Param {
  return { name, in: 'path', type: 'string', description, required: true };
}

/** `networking.k8s.io` -> `Networking`, '' -> `Core`: upstream's operationId group word. */
function groupWord(group: string): string {
  if (group === '') return 'Core';
  const first = group.split('.')[0] ?? group;
  return first.charAt(0).toUpperCase() + first.slice(1);
}

/** `core_v1`, `networking_v1`: upstream's tag of a group/version. */
export function tagOf(group: string, version: string): string {
  return `${group === '' ? 'core' : (group.split('.')[0] ?? group)}_${version}`;
}

/** URL prefix of a group/version: `/api/v1` or `/apis/apps/v1`. */
export function gvPrefix(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** All path items of one resource. */
export function resourcePaths(r: ResourceInfo): PathItem[] {
  const gvk: GroupVersionKind = { group: r.group, version: r.version, kind: r.kind };
  const def = definitionName(r.group, r.version, r.kind);
  const listDef = definitionName(r.group, r.version, r.listKind);
  const word = `${groupWord(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}`;
  const scope = r.namespaced ? 'Namespaced' : '';
  const base = gvPrefix(r.group, r.version);
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const nsParam = r.namespaced ? [pathParam('namespace', 'Namespace of the objects.')] : [];
  const nameParam = pathParam('name', `Name of the ${r.kind}.`);
  const status = `${META}.Status`;
  const op = (o: Omit<Operation, 'gvk' | 'also'> & Partial<Pick<Operation, 'gvk' | 'also'>>): Operation => ({
    gvk,
    also: [],
    ...o,
  });

  const items: PathItem[] = [
    {
      path: collection,
      params: [...nsParam, P.pretty],
      operations: [
        op({
          method: 'get',
          operationId: `list${word}${scope}${r.kind}`,
          description: `list or watch objects of kind ${r.kind}`,
          action: 'list',
          params: LIST,
          response: listDef,
          watch: true,
        }),
        op({
          method: 'post',
          operationId: `create${word}${scope}${r.kind}`,
          description: `create a ${r.kind}`,
          action: 'post',
          params: WRITE,
          body: def,
          response: def,
          also: ['201', '202'],
        }),
        op({
          method: 'delete',
          operationId: `delete${word}Collection${scope}${r.kind}`,
          description: `delete collection of ${r.kind}`,
          action: 'deletecollection',
          params: DELETE_COLLECTION,
          body: `${META}.DeleteOptions`,
          response: status,
        }),
      ],
    },
    {
      path: `${collection}/{name}`,
      params: [nameParam, ...nsParam, P.pretty],
      operations: [
        op({
          method: 'get',
          operationId: `read${word}${scope}${r.kind}`,
          description: `read the specified ${r.kind}`,
          action: 'get',
          params: [],
          response: def,
        }),
        op({
          method: 'put',
          operationId: `replace${word}${scope}${r.kind}`,
          description: `replace the specified ${r.kind}`,
          action: 'put',
          params: WRITE,
          body: def,
          response: def,
          also: ['201'],
        }),
        op({
          method: 'patch',
          operationId: `patch${word}${scope}${r.kind}`,
          description: `partially update the specified ${r.kind}`,
          action: 'patch',
          params: PATCH,
          body: `${META}.Patch`,
          response: def,
          also: ['201'],
        }),
        op({
          method: 'delete',
          operationId: `delete${word}${scope}${r.kind}`,
          description: `delete a ${r.kind}`,
          action: 'delete',
          params: DELETE,
          body: `${META}.DeleteOptions`,
          response: status,
          also: ['202'],
        }),
      ],
    },
  ];

  if (r.namespaced) {
    items.push({
      path: `${base}/${r.plural}`,
      params: [P.pretty],
      operations: [
        op({
          method: 'get',
          operationId: `list${word}${r.kind}ForAllNamespaces`,
          description: `list or watch objects of kind ${r.kind}`,
          action: 'list',
          params: LIST,
          response: listDef,
          watch: true,
        }),
      ],
    });
  }

  for (const sub of r.subresources) {
    // TODO(#4): connect operations (pods/exec, pods/log, nodes/proxy, ...) in the OpenAPI documents.
    if (CONNECT_SUBRESOURCES.has(sub)) continue;
    const Sub = sub.charAt(0).toUpperCase() + sub.slice(1);
    const path = `${collection}/{name}/${sub}`;
    const params = [
      pathParam('name', `Name of the ${sub === 'binding' ? 'Binding' : r.kind}.`),
      ...nsParam,
      P.pretty,
    ];
    const id = (verb: string): string => `${verb}${word}${scope}${r.kind}${Sub}`;
    if (sub === 'binding') {
      const binding = definitionName('', 'v1', 'Binding');
      const bgvk = { group: '', version: 'v1', kind: 'Binding' };
      items.push({
        path,
        params,
        operations: [
          op({
            method: 'post',
            operationId: id('create'),
            description: `create binding of a ${r.kind}`,
            action: 'post',
            gvk: bgvk,
            params: WRITE,
            body: binding,
            response: binding,
            also: ['201', '202'],
          }),
        ],
      });
      continue;
    }
    if (sub === 'finalize') {
      items.push({
        path,
        params,
        operations: [
          op({
            method: 'put',
            operationId: id('replace'),
            description: `replace finalize of the specified ${r.kind}`,
            action: 'put',
            params: WRITE,
            body: def,
            response: def,
            also: ['201'],
          }),
        ],
      });
      continue;
    }
    const isScale = sub === 'scale';
    const subDef = isScale ? 'io.k8s.api.autoscaling.v1.Scale' : def;
    const subGvk = isScale ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
    items.push({
      path,
      params,
      operations: [
        op({
          method: 'get',
          operationId: id('read'),
          description: `read ${sub} of the specified ${r.kind}`,
          action: 'get',
          gvk: subGvk,
          params: [],
          response: subDef,
        }),
        op({
          method: 'put',
          operationId: id('replace'),
          description: `replace ${sub} of the specified ${r.kind}`,
          action: 'put',
          gvk: subGvk,
          params: WRITE,
          body: subDef,
          response: subDef,
          also: ['201'],
        }),
        op({
          method: 'patch',
          operationId: id('patch'),
          description: `partially update ${sub} of the specified ${r.kind}`,
          action: 'patch',
          gvk: subGvk,
          params: PATCH,
          body: `${META}.Patch`,
          response: subDef,
          also: ['201'],
        }),
      ],
    });
  }
  return items;
}

/** Media types a PATCH accepts; kubectl computes a strategic merge patch only if it is listed. */
export const PATCH_MEDIA_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** Media types responses come in. */
export const RESPONSE_MEDIA_TYPES = ['application/json', 'application/yaml'];
export const WATCH_MEDIA_TYPES = ['application/json;stream=watch'];
