/**
 * Renders the neutral operations of ./operations.ts as swagger 2.0 and OpenAPI 3.0 path items.
 */
import {
  type Operation,
  PATCH_MEDIA_TYPES,
  type Param,
  type PathItem,
  RESPONSE_MEDIA_TYPES,
  WATCH_MEDIA_TYPES,
} from './operations.js';
import { META } from './schema.js';

const STATUS_TEXT = { '200': 'OK', '201': 'Created', '202': 'Accepted' } as const;

function v2Param(p: Param): object {
  const out: Record<string, unknown> = {
    uniqueItems: true,
    type: p.type,
    description: p.description,
    name: p.name,
    in: p.in,
  };
  if (p.required) out.required = true;
  return out;
}

function v2Operation(o: Operation, tag: string): object {
  const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
  const parameters: object[] = [];
  if (o.body !== undefined)
    parameters.push({ name: 'body', in: 'body', required: true, schema: ref(o.body) });
  parameters.push(...o.params.map(v2Param));
  const responses: Record<string, object> = { '200': { description: 'OK', schema: ref(o.response) } };
  for (const code of o.also) responses[code] = { description: STATUS_TEXT[code], schema: ref(o.response) };
  responses['401'] = { description: 'Unauthorized' };
  const out: Record<string, unknown> = {
    description: o.description,
    consumes: o.method === 'patch' ? PATCH_MEDIA_TYPES : ['*/*'],
    produces: o.watch ? [...RESPONSE_MEDIA_TYPES, ...WATCH_MEDIA_TYPES] : RESPONSE_MEDIA_TYPES,
    schemes: ['https'],
    tags: [tag],
    operationId: o.operationId,
    parameters,
    responses,
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': o.gvk,
  };
  if (parameters.length === 0) delete out.parameters;
  return out;
}

function v3Param(p: Param): object {
  const out: Record<string, unknown> = {
    name: p.name,
    in: p.in,
    description: p.description,
    schema: { type: p.type, uniqueItems: true },
  };
  if (p.required) out.required = true;
  return out;
}

function v3Operation(o: Operation, tag: string): object {
  const schema = (name: string) => ({ schema: { $ref: `#/components/schemas/${name}` } });
  const content = (types: readonly string[], name: string) =>
    Object.fromEntries(types.map((t) => [t, schema(name)]));
  const responseTypes = o.watch ? [...RESPONSE_MEDIA_TYPES, ...WATCH_MEDIA_TYPES] : RESPONSE_MEDIA_TYPES;
  const responses: Record<string, object> = {
    '200': { description: 'OK', content: content(responseTypes, o.response) },
  };
  for (const code of o.also)
    responses[code] = { description: STATUS_TEXT[code], content: content(responseTypes, o.response) };
  responses['401'] = { description: 'Unauthorized' };
  const out: Record<string, unknown> = {
    tags: [tag],
    description: o.description,
    operationId: o.operationId,
  };
  if (o.params.length > 0) out.parameters = o.params.map(v3Param);
  if (o.body !== undefined) {
    const isPatch = o.body === `${META}.Patch`;
    out.requestBody = {
      content: content(isPatch ? PATCH_MEDIA_TYPES : ['*/*'], o.body),
      required: !o.body.endsWith('.DeleteOptions'),
    };
  }
  out.responses = responses;
  out['x-kubernetes-action'] = o.action;
  out['x-kubernetes-group-version-kind'] = o.gvk;
  return out;
}

/** swagger 2.0 `paths` entries of the given path items, tagged with their group/version. */
export function v2Paths(items: readonly PathItem[], tag: string): Record<string, object> {
  const out: Record<string, object> = {};
  for (const item of items) {
    const entry: Record<string, unknown> = {};
    for (const o of item.operations) entry[o.method] = v2Operation(o, tag);
    entry.parameters = item.params.map(v2Param);
    out[item.path] = entry;
  }
  return out;
}

/** OpenAPI 3.0 `paths` entries of the given path items, tagged with their group/version. */
export function v3Paths(items: readonly PathItem[], tag: string): Record<string, object> {
  const out: Record<string, object> = {};
  for (const item of items) {
    const entry: Record<string, unknown> = {};
    for (const o of item.operations) entry[o.method] = v3Operation(o, tag);
    entry.parameters = item.params.map(v3Param);
    out[item.path] = entry;
  }
  return out;
}
