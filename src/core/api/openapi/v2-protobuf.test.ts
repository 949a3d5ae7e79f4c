/**
 * The protobuf form of /openapi/v2: field layout checked with a small wire decoder, then real
 * kubectl as the peer over HTTPS (it decodes the document with gnostic-models), with the v3
 * documents withheld so that it must use v2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiGroup, apiGroupList, apiResourceList, apiVersions } from '../../apiserver/discovery.js';
import { openapiV2, openapiV2Serialized } from './openapi.js';
import type { Schema } from './schema.js';
import {
  encodeOpenApiV2Protobuf,
  isOpenApiV2ProtobufType,
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  openapiV2ProtobufSerialized,
} from './v2-protobuf.js';

// --- a minimal wire decoder, enough to walk the messages -------------------------------------

interface WireField {
  no: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
  fixed64?: Buffer;
}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let out = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i] ?? 0;
    out |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return [out, i + 1];
  }
  throw new Error(`truncated varint at ${at}`);
}

function decode(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    at = next;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = readVarint(buf, at);
      out.push({ no, wire, varint: v });
      at = n;
    } else if (wire === 2) {
      const [len, n] = readVarint(buf, at);
      const end = n + Number(len);
      if (end > buf.length) throw new Error(`field ${no} overruns the buffer`);
      out.push({ no, wire, bytes: buf.subarray(n, end) });
      at = end;
    } else if (wire === 1) {
      out.push({ no, wire, fixed64: buf.subarray(at, at + 8) });
      at += 8;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** Every length-delimited value reached by following field numbers (all matches at each step). */
function at(buf: Buffer, ...nos: number[]): Buffer[] {
  let cur = [buf];
  for (const no of nos)
    cur = cur.flatMap((b) =>
      decode(b)
        .filter((f) => f.no === no && f.bytes !== undefined)
        .map((f) => f.bytes as Buffer),
    );
  return cur;
}

const texts = (buf: Buffer, ...nos: number[]) => at(buf, ...nos).map((b) => b.toString('utf8'));

function scalars(buf: Buffer, ...nos: number[]): Array<bigint | number> {
  const last = nos.at(-1);
  return at(buf, ...nos.slice(0, -1)).flatMap((b) =>
    decode(b)
      .filter((f) => f.no === last && f.wire !== 2)
      .map((f) => (f.varint !== undefined ? f.varint : (f.fixed64 as Buffer).readDoubleLE(0))),
  );
}

/** The value (field 2) of the Named<X> entry called `name` among `entries`. */
function named(entries: Buffer[], name: string): Buffer {
  const hit = entries.find((e) => texts(e, 1)[0] === name);
  if (hit === undefined) throw new Error(`no entry ${name}`);
  return at(hit, 2)[0] ?? Buffer.alloc(0);
}

/** Vendor extensions (NamedAny) of a message at field `no`, YAML parsed back. */
function extensions(msg: Buffer, no: number): Record<string, unknown> {
  return Object.fromEntries(at(msg, no).map((e) => [texts(e, 1)[0], parse(texts(e, 2, 2)[0] ?? '')]));
}

// --- field layout --------------------------------------------------------------------------

const LONG = 'x'.repeat(300);
const GVK = [{ group: 'apps', version: 'v1', kind: 'Deployment' }];
const sample = {
  swagger: '2.0',
  info: { title: 'Kubernetes', version: 'v1.30.0' },
  paths: {
    '/apis/apps/v1/namespaces/{namespace}/deployments/{name}': {
      patch: {
        description: 'partially update',
        consumes: ['application/strategic-merge-patch+json'],
        operationId: 'patchAppsV1NamespacedDeployment',
        parameters: [
          { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/Patch' } },
          { uniqueItems: true, type: 'string', name: 'fieldValidation', in: 'query', description: 'how' },
          { $ref: '#/parameters/pretty' },
        ],
        responses: {
          '200': { description: 'OK', schema: { $ref: '#/definitions/D' } },
          '401': { description: 'No' },
        },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': GVK[0],
      },
      parameters: [{ name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true }],
    },
  },
  definitions: {
    D: {
      description: LONG,
      type: 'object',
      required: ['spec'],
      properties: {
        spec: { description: 'the spec', $ref: '#/definitions/S' },
        replicas: { type: 'integer', format: 'int32', minimum: 0.5, maxLength: -1 },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', additionalProperties: false },
        ports: {
          type: 'array',
          items: { $ref: '#/definitions/P' },
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-patch-merge-key': 'containerPort',
          'x-kubernetes-patch-strategy': 'merge',
        },
        policy: { type: 'string', enum: ['Always', 'on'] },
      },
      'x-kubernetes-group-version-kind': GVK,
    },
    Empty: { type: 'object', properties: {} },
  },
  securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } },
  security: [{ BearerToken: [] }],
};
const buf = encodeOpenApiV2Protobuf(sample);
const def = (name: string) => named(at(buf, 9, 1), name);
const prop = (name: string) => named(at(def('D'), 25, 1), name);
const op = () => at(named(at(buf, 8, 2), Object.keys(sample.paths)[0] ?? ''), 8)[0] ?? Buffer.alloc(0);
const param = (i: number) => at(op(), 8)[i] ?? Buffer.alloc(0);

describe('encodeOpenApiV2Protobuf field layout', () => {
  const cases: Array<[string, () => unknown, unknown]> = [
    ['Document.swagger = 1', () => texts(buf, 1), ['2.0']],
    [
      'Info.title = 1, version = 2',
      () => [texts(buf, 2, 1), texts(buf, 2, 2)],
      [['Kubernetes'], ['v1.30.0']],
    ],
    ['Definitions in document order', () => at(buf, 9, 1).map((e) => texts(e, 1)[0]), ['D', 'Empty']],
    ['Schema.description (multi-byte length)', () => texts(def('D'), 4), [LONG]],
    ['Schema.type as TypeItem', () => texts(def('D'), 22, 1), ['object']],
    ['Schema.required = 19', () => texts(def('D'), 19), ['spec']],
    ['Schema.$ref -> _ref = 1', () => texts(prop('spec'), 1), ['#/definitions/S']],
    ['Schema.format = 2', () => texts(prop('replicas'), 2), ['int32']],
    ['Schema.minimum as double = 9', () => scalars(prop('replicas'), 9), [0.5]],
    ['negative int64 as 64-bit varint', () => scalars(prop('replicas'), 11), [2n ** 64n - 1n]],
    ['additionalProperties schema', () => texts(prop('labels'), 21, 1, 22, 1), ['string']],
    ['additionalProperties: false is written', () => scalars(prop('free'), 21, 2), [0n]],
    ['items as ItemsItem', () => texts(prop('ports'), 23, 1, 1), ['#/definitions/P']],
    ['empty properties are present', () => at(def('Empty'), 25).map((b) => b.length), [0]],
    [
      'enum values as Any.yaml',
      () => at(prop('policy'), 20).map((a) => parse(texts(a, 2)[0] ?? '')),
      ['Always', 'on'],
    ],
    [
      'definition vendor extensions',
      () => extensions(def('D'), 31),
      { 'x-kubernetes-group-version-kind': GVK },
    ],
    [
      'property vendor extensions',
      () => extensions(prop('ports'), 31),
      {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'containerPort',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    ['Operation.operationId = 5', () => texts(op(), 5), ['patchAppsV1NamespacedDeployment']],
    [
      'Operation vendor extensions = 13',
      () => extensions(op(), 13),
      { 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': GVK[0] },
    ],
    ['body parameter schema', () => texts(param(0), 1, 1, 5, 1), ['#/definitions/Patch']],
    ['body parameter required', () => scalars(param(0), 1, 1, 4), [1n]],
    ['query parameter name', () => texts(param(1), 1, 2, 3, 4), ['fieldValidation']],
    ['query parameter uniqueItems = 20', () => scalars(param(1), 1, 2, 3, 20), [1n]],
    ['parameter $ref as JsonReference', () => texts(param(2), 2, 1), ['#/parameters/pretty']],
    [
      'path-level path parameter',
      () => texts(named(at(buf, 8, 2), Object.keys(sample.paths)[0] ?? ''), 9, 1, 2, 4, 4),
      ['name'],
    ],
    ['response codes', () => at(op(), 9, 1).map((e) => texts(e, 1)[0]), ['200', '401']],
    ['response schema', () => texts(named(at(op(), 9, 1), '200'), 1, 2, 1, 1), ['#/definitions/D']],
    [
      'security requirement with empty scopes',
      () => at(buf, 12, 1).map((e) => [texts(e, 1), at(e, 2)]),
      [[['BearerToken'], [Buffer.alloc(0)]]],
    ],
    [
      'apiKey security definition',
      () => texts(named(at(buf, 13, 1), 'BearerToken'), 2, 2),
      ['authorization'],
    ],
  ];
  it.each(cases)('%s', (_name, got, want) => {
    expect(got()).toEqual(want);
  });

  it('encodes the served document with every path and definition', () => {
    const doc = openapiV2() as { paths: object; definitions: object };
    const { body, etag } = openapiV2ProtobufSerialized();
    expect(at(body, 8, 2).map((e) => texts(e, 1)[0])).toEqual(Object.keys(doc.paths));
    expect(at(body, 9, 1).map((e) => texts(e, 1)[0])).toEqual(Object.keys(doc.definitions));
    expect(etag).toBe(openapiV2Serialized().etag);
    expect(openapiV2ProtobufSerialized().body).toBe(body);
  });

  it.each([
    [OPENAPI_V2_PROTOBUF_CONTENT_TYPE, true],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', true],
    ['application/json', false],
  ])('isOpenApiV2ProtobufType(%s) = %s', (type, want) => {
    expect(isOpenApiV2ProtobufType(type)).toBe(want);
  });
});

// --- kubectl as the peer --------------------------------------------------------------------

const KUBECTL = '/usr/bin/kubectl';
const OPENSSL = '/usr/bin/openssl';
const TOKEN = 'k8ts-openapi-v2-test-token';
const havePeers = existsSync(KUBECTL) && existsSync(OPENSSL);
if (!havePeers && !process.env.CI)
  console.warn(`skipping the kubectl peer test: ${KUBECTL} or ${OPENSSL} is missing`);

interface Seen {
  path: string;
  accept: string;
  authorization: string;
  contentType: string;
}

describe.skipIf(!havePeers && !process.env.CI)('kubectl against the protobuf /openapi/v2', () => {
  const seen: Seen[] = [];
  let server: Server;
  let dir: string;

  beforeAll(async () => {
    if (!havePeers) throw new Error(`CI is set but ${KUBECTL} or ${OPENSSL} is missing`);
    dir = mkdtempSync(path.join(tmpdir(), 'k8ts-openapi-v2-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const made = spawnSync(OPENSSL, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);

    server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const p = url.pathname;
      const accept = req.headers.accept ?? '';
      const entry: Seen = {
        path: p,
        accept,
        authorization: req.headers.authorization ?? '',
        contentType: '',
      };
      seen.push(entry);
      const send = (code: number, body: string | Buffer, contentType = 'application/json') => {
        entry.contentType = contentType;
        res.writeHead(code, { 'content-type': contentType });
        res.end(body);
      };
      if (entry.authorization !== `Bearer ${TOKEN}`) return send(401, '{}');
      const port = (server.address() as AddressInfo).port;
      if (p === '/version')
        return send(
          200,
          JSON.stringify({ major: '1', minor: '30', gitVersion: 'v1.30.0', platform: 'linux/amd64' }),
        );
      if (p === '/openapi/v3') return send(200, JSON.stringify({ paths: {} }));
      if (p === '/openapi/v2') {
        if (accept.split(',').some((m) => isOpenApiV2ProtobufType(m.split(';')[0] ?? '')))
          return send(200, openapiV2ProtobufSerialized().body, OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
        return send(200, JSON.stringify(openapiV2()));
      }
      let doc: object | undefined;
      if (p === '/api') doc = apiVersions(`127.0.0.1:${port}`);
      else if (p === '/apis') doc = apiGroupList();
      else {
        const m = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)$/.exec(p);
        if (m?.[1] !== undefined) doc = apiResourceList('', m[1]);
        else if (m?.[2] !== undefined)
          doc = m[3] !== undefined ? apiResourceList(m[2], m[3]) : apiGroup(m[2]);
      }
      if (doc !== undefined) return send(200, JSON.stringify(doc));
      return send(
        404,
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(
      path.join(dir, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'k', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'k', user: { token: TOKEN } }],
        contexts: [{ name: 'k', context: { cluster: 'k', user: 'k', namespace: 'default' } }],
        'current-context': 'k',
      }),
    );
  });

  afterAll(async () => {
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (...args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      const child = spawn(KUBECTL, ['--cache-dir', path.join(dir, 'cache'), ...args], {
        env: { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ stdout, stderr, code }));
    });

  const servedProtobuf = () =>
    seen.some((s) => s.path === '/openapi/v2' && s.contentType === OPENAPI_V2_PROTOBUF_CONTENT_TYPE);

  it('explains a field from the v2 protobuf document', async () => {
    const defs = (openapiV2() as { definitions: Record<string, Schema> }).definitions;
    const description = defs['io.k8s.api.apps.v1.DeploymentSpec']?.properties?.replicas?.description ?? '';
    expect(description).not.toBe('');
    const out = await kubectl('explain', 'deployment.spec.replicas', '--output=plaintext-openapiv2');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^KIND:\s+Deployment$/m);
    expect(out.stdout).toMatch(/^FIELD:\s+replicas <integer>$/m);
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    expect(squash(out.stdout)).toContain(squash(description));
    expect(servedProtobuf()).toBe(true);
    expect(seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  // With no v3 documents kubectl validates client-side against the v2 schema: it resolves the
  // kind through x-kubernetes-group-version-kind and walks the $refs down to DeploymentSpec.
  it.each([
    ['replicas: 2', ''],
    ['replicaz: 2', 'unknown field "replicaz" in io.k8s.api.apps.v1.DeploymentSpec'],
  ])('validates a Deployment with %s against the v2 schema', async (field, error) => {
    const file = path.join(dir, 'deployment.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec:',
        `  ${field}`,
        '  selector: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec: {containers: [{name: a, image: nginx, ports: [{containerPort: 80}]}]}',
        '',
      ].join('\n'),
    );
    const out = await kubectl('apply', '-f', file, '--dry-run=client', '-o', 'name');
    if (error === '') {
      expect(out.stderr).toBe('');
      expect(out.stdout.trim()).toBe('deployment.apps/web');
    } else {
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain(error);
    }
    expect(servedProtobuf()).toBe(true);
  });

  it('reports an unknown kind as unknown, having read the v2 document', async () => {
    const file = path.join(dir, 'flunder.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Flunder\nmetadata:\n  name: f\n');
    seen.length = 0;
    const out = await kubectl('apply', '-f', file);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('no matches for kind "Flunder" in version "v1"');
    expect(out.stderr).not.toContain('failed to download openapi');
    expect(servedProtobuf()).toBe(true);
  });
});
