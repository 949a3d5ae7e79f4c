import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf } from '../apiserver/pki/certs.js';
import { RestClient } from './rest-client.js';

describe('RestClient TLS and connection pool', () => {
  let server: https.Server;
  let url = '';
  let caPem = '';
  let otherCaPem = '';
  const sockets = new Set<unknown>();
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    const ca = await createCa({ commonName: 'test-ca' });
    caPem = ca.certPem;
    otherCaPem = (await createCa({ commonName: 'other-ca' })).certPem;
    const serving = await issueLeaf(ca, { commonName: 'localhost', usage: 'server', hosts: ['127.0.0.1'] });
    server = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      sockets.add(req.socket);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true }));
      }, 5);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('verifies the server against the configured CA (shared secure context)', async () => {
    const good = new RestClient({ server: url, caPem });
    expect(await good.request('GET', '/x')).toEqual({ ok: true });
    good.close();
    const bad = new RestClient({ server: url, caPem: otherCaPem });
    await expect(bad.request('GET', '/x')).rejects.toThrow();
    bad.close();
  });

  it('opens at most maxSockets connections, also through derive()', async () => {
    const base = new RestClient({ server: url, caPem });
    const c = base.derive({ userAgent: 'test', maxSockets: 2 });
    sockets.clear();
    maxInFlight = 0;
    await Promise.all(Array.from({ length: 10 }, () => c.request('GET', '/y')));
    expect(sockets.size).toBeLessThanOrEqual(2);
    expect(maxInFlight).toBeLessThanOrEqual(2);
    // A derived client keeps its parent's bound unless told otherwise.
    const d = c.derive({ userAgent: 'test2' });
    sockets.clear();
    await Promise.all(Array.from({ length: 6 }, () => d.request('GET', '/z')));
    expect(sockets.size).toBeLessThanOrEqual(2);
    for (const x of [base, c, d]) x.close();
  });
});
