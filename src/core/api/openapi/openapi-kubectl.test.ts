/**
 * kubectl itself as the peer: `kubectl explain` and the client-side patch of `kubectl apply`
 * against an in-process HTTP server that serves legacy discovery and these OpenAPI documents.
 * Skipped when kubectl is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersionOf, groupVersions, RESOURCES } from '../resources.js';
import { openapiV3Index, openapiV3Serialized } from './openapi.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const applied = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }] },
          { name: 'b', image: 'busybox' },
        ],
      },
    },
  },
};
const live = {
  ...applied,
  metadata: {
    ...applied.metadata,
    uid: 'u1',
    resourceVersion: '5',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied) },
  },
};

/** Legacy discovery documents, just enough for kubectl to map names to resources. */
function discovery(p: string): object | undefined {
  if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (p === '/apis') {
    const groups = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((name) => {
        const versions = groupVersions()
          .filter((gv) => gv.group === name)
          .map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }));
        return { name, versions, preferredVersion: versions[0] };
      }),
    };
  }
  for (const gv of groupVersions()) {
    const prefix = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
    if (p !== prefix) continue;
    const resources = RESOURCES.filter((r) => r.group === gv.group && r.version === gv.version).map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      shortNames: r.shortNames,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    }));
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources };
  }
  return undefined;
}

interface Seen {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

describe.skipIf(!hasKubectl)('kubectl against these OpenAPI documents', () => {
  const seen: Seen[] = [];
  let server: Server;
  let dir: string;

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => resolve(b));
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'k8ts-openapi-'));
    server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body,
      });
      const send = (code: number, text: string) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(text);
      };
      const p = url.pathname;
      if (p === '/openapi/v3') return send(200, JSON.stringify(openapiV3Index()));
      if (p.startsWith('/openapi/v3/')) {
        const doc = openapiV3Serialized(p.slice('/openapi/v3/'.length));
        return doc ? send(200, doc.json) : send(404, '{}');
      }
      if (p === '/apis/apps/v1/namespaces/default/deployments/web') return send(200, JSON.stringify(live));
      const d = discovery(p);
      return d ? send(200, JSON.stringify(d)) : send(404, '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (...args: string[]) =>
    new Promise<string>((resolve) => {
      const port = (server.address() as AddressInfo).port;
      const child = spawn(
        'kubectl',
        ['--server', `http://127.0.0.1:${port}`, '--cache-dir', path.join(dir, 'cache'), ...args],
        { env: { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig') } },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
    });

  it('explains a nested field with its type, description and sub-fields', async () => {
    const out = await kubectl('explain', 'deployment.spec.template.spec.containers');
    expect(out).toMatch(/^GROUP:\s+apps$/m);
    expect(out).toMatch(/^KIND:\s+Deployment$/m);
    expect(out).toContain('FIELD: containers <[]Container>');
    expect(out).toContain('List of containers belonging to the pod.');
    expect(out).toMatch(/^ {2}image\t<string>$/m);
    expect(out).toMatch(/^ {2}name\t<string> -required-$/m);
    expect(out).toMatch(/^ {2}ports\t<\[\]ContainerPort>$/m);
  });

  it('explains an int-or-string field and a core kind', async () => {
    expect(await kubectl('explain', 'deployment.spec.strategy.rollingUpdate.maxSurge')).toContain(
      'FIELD: maxSurge <IntOrString>',
    );
    const svc = await kubectl('explain', 'svc.spec.ports');
    expect(svc).toContain('FIELD: ports <[]ServicePort>');
    expect(svc).toMatch(/^ {2}targetPort\t<IntOrString>$/m);
  });

  it('computes the apply patch from the v3 patch metadata and asks for strict field validation', async () => {
    const modified = structuredClone(applied);
    modified.spec.template.spec.containers = [
      { name: 'a', image: 'nginx:2', ports: [{ containerPort: 80 }] },
    ];
    const file = path.join(dir, 'web.json');
    writeFileSync(file, JSON.stringify(modified));
    const out = await kubectl('apply', '-f', file);
    expect(out).toContain('deployment.apps/web configured');
    expect(out).not.toMatch(/warning/i);
    const patch = seen.find((s) => s.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(new URL(patch?.url ?? '/', 'http://x').searchParams.get('fieldValidation')).toBe('Strict');
    const body = JSON.parse(patch?.body ?? '{}');
    expect(body.spec.template.spec).toEqual({
      '$setElementOrder/containers': [{ name: 'a' }],
      containers: [
        { name: 'a', image: 'nginx:2' },
        { name: 'b', $patch: 'delete' },
      ],
    });
    // The v3 path worked, so kubectl never fell back to the v2 document.
    expect(seen.some((s) => s.url.startsWith('/openapi/v2'))).toBe(false);
  });
});
