/**
 * The API server's HTTP layer against a real `k8ts server`: body limits, response compression,
 * trailing slashes, HEAD, percent-escapes, and shutdown with a watch open.
 */

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { adminClient, type TestClient } from './helpers/rest.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with the admin certificate, the body returned as sent (no decompression). */
function rawRequest(
  srv: RunningServer,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  const kc = YAML.parse(readFileSync(srv.kubeconfig, 'utf8'));
  const user = kc.users[0].user;
  const base = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method: opts.method,
        hostname: base.hostname,
        port: base.port,
        path: opts.path,
        headers: opts.headers ?? {},
        ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
        cert: Buffer.from(user['client-certificate-data'], 'base64'),
        key: Buffer.from(user['client-key-data'], 'base64'),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(e)));
    req.end(opts.body);
  });
}

describe('API server HTTP layer', () => {
  let srv: RunningServer;
  let c: TestClient;
  beforeAll(async () => {
    srv = await startServer();
    c = adminClient(srv);
    await c.json('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'h' },
    });
  });
  afterAll(async () => {
    c?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('refuses a body over 3 MiB with a 413 Status, announced or not, and stores nothing', async () => {
    const big = (name: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { k: 'x'.repeat(3 * 1024 * 1024 + 10) },
      });
    const announced = await rawRequest(srv, {
      method: 'POST',
      path: '/api/v1/namespaces/h/configmaps',
      headers: { 'content-type': 'application/json' },
      body: big('big-announced'),
    });
    expect(announced.status).toBe(413);
    const status = JSON.parse(announced.body.toString());
    expect(status).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge', code: 413 });
    // Chunked: the size is only known while reading.
    const chunked = await rawRequest(srv, {
      method: 'POST',
      path: '/api/v1/namespaces/h/configmaps',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: big('big-chunked'),
    });
    expect(chunked.status).toBe(413);
    for (const name of ['big-announced', 'big-chunked'])
      expect((await c.request('GET', `/api/v1/namespaces/h/configmaps/${name}`)).status).toBe(404);
    // The server still serves on new connections.
    expect((await c.request('GET', '/api/v1/namespaces/h')).status).toBe(200);
  });

  it('gzips a large response for a client that accepts gzip, and only then', async () => {
    for (let i = 0; i < 40; i++) {
      const r = await c.request('POST', '/api/v1/namespaces/h/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `fill-${i}` },
        data: { k: 'y'.repeat(4096) },
      });
      expect(r.status).toBe(201);
    }
    const path = '/api/v1/namespaces/h/configmaps';
    const zipped = await rawRequest(srv, { method: 'GET', path, headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const list = JSON.parse(gunzipSync(zipped.body).toString());
    expect(list.kind).toBe('ConfigMapList');
    expect(list.items.length).toBeGreaterThanOrEqual(40);
    const plain = await rawRequest(srv, { method: 'GET', path });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString()).items).toHaveLength(list.items.length);
    const refused = await rawRequest(srv, {
      method: 'GET',
      path,
      headers: { 'accept-encoding': 'gzip;q=0' },
    });
    expect(refused.headers['content-encoding']).toBeUndefined();
    // A small answer is never compressed.
    const small = await rawRequest(srv, {
      method: 'GET',
      path: '/api/v1/namespaces/h',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString()).metadata.name).toBe('h');
  });

  it('treats a trailing slash and escaped unreserved characters as the plain path; HEAD has no body', async () => {
    const slash = await rawRequest(srv, { method: 'GET', path: '/api/v1/namespaces/h/' });
    expect(slash.status).toBe(200);
    expect(JSON.parse(slash.body.toString()).metadata.name).toBe('h');
    const escaped = await rawRequest(srv, { method: 'GET', path: '/api/v1/namespaces/%68' });
    expect(escaped.status).toBe(200);
    expect(JSON.parse(escaped.body.toString()).metadata.name).toBe('h');
    const head = await rawRequest(srv, { method: 'HEAD', path: '/api/v1/namespaces/h' });
    expect(head.status).toBe(200);
    expect(head.body).toHaveLength(0);
    expect(head.headers['cache-control']).toBe('no-cache, private');
  });

  it('ends open watches when the server stops', async () => {
    const kc = YAML.parse(readFileSync(srv.kubeconfig, 'utf8'));
    const user = kc.users[0].user;
    const base = new URL(srv.url);
    let started!: () => void;
    const open = new Promise<void>((r) => (started = r));
    const ended = new Promise<string>((resolve) => {
      const req = https.request(
        {
          hostname: base.hostname,
          port: base.port,
          path: '/api/v1/namespaces/h/configmaps?watch=true',
          ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
          cert: Buffer.from(user['client-certificate-data'], 'base64'),
          key: Buffer.from(user['client-key-data'], 'base64'),
          agent: false,
        },
        (res) => {
          expect(res.statusCode).toBe(200);
          started();
          res.resume();
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
          res.on('close', () => resolve('close'));
        },
      );
      req.on('error', () => resolve('error'));
      req.end();
    });
    // The watch is open once the server has sent its headers; stopping the server ends it.
    await open;
    c.close();
    await srv.kill('SIGTERM');
    expect(['end', 'close', 'error']).toContain(await ended);
    expect(srv.proc.exitCode).toBe(0);
  });
});
