import { createServer as httpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf } from '../core/apiserver/pki/certs.js';
import { checkCaHash, fetchCaCertsWaiting } from './cacerts.js';
import { JoinError } from './errors.js';
import { caHash } from './join-token.js';

let tls: { cert: string; key: string };
let caPem = '';
const servers: Server[] = [];

beforeAll(async () => {
  const ca = await createCa({ commonName: 'test-ca' });
  caPem = ca.certPem;
  const leaf = await issueLeaf(ca, { commonName: 'srv', usage: 'server', hosts: ['127.0.0.1'] });
  tls = { cert: leaf.certPem, key: leaf.keyPem };
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

function serve(port: number, handler: Parameters<typeof httpsServer>[1]): Promise<number> {
  const s = httpsServer(tls, handler);
  servers.push(s);
  return new Promise((resolve) =>
    s.listen(port, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
  );
}

describe('cacerts', () => {
  it('checkCaHash accepts the bundle of the hash and names both hashes otherwise', () => {
    expect(() => checkCaHash(caPem, caHash(caPem))).not.toThrow();
    expect(() => checkCaHash(caPem, caHash(caPem).toUpperCase())).not.toThrow();
    const other = '0'.repeat(64);
    expect(() => checkCaHash(caPem, other)).toThrow(JoinError);
    expect(() => checkCaHash(caPem, other)).toThrow(
      `server sent a CA with sha256 ${caHash(caPem)}, the token pins sha256 ${other}`,
    );
  });

  it('waits for a server that is not listening yet, without trusting its certificate', async () => {
    // Reserve a free port, release it, and start the server there only after the first attempts.
    const port = await serve(0, () => {});
    await new Promise((r) => servers.pop()!.close(r));
    const lines: string[] = [];
    const started = fetchCaCertsWaiting(`https://127.0.0.1:${port}`, {
      timeoutMs: 20_000,
      log: (l) => lines.push(l),
    });
    await new Promise((r) => setTimeout(r, 500));
    await serve(port, (req, res) => {
      if (req.url === '/cacerts') res.end(caPem);
      else res.writeHead(404).end();
    });
    const body = await started;
    expect(body.toString()).toBe(caPem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/waiting for the server: .*ECONNREFUSED/);
  });

  it('an HTTP error is final (no retry), a server that never comes is given up after the timeout', async () => {
    const port = await serve(0, (_req, res) => res.writeHead(404).end());
    await expect(
      fetchCaCertsWaiting(`https://127.0.0.1:${port}`, { timeoutMs: 20_000, log: () => {} }),
    ).rejects.toThrow(/answered 404: is https:\/\/127\.0\.0\.1:\d+ a k8ts server\?/);
    const slept: number[] = [];
    await expect(
      fetchCaCertsWaiting('https://127.0.0.1:1', {
        timeoutMs: 1000,
        log: () => {},
        sleep: async (ms) => {
          slept.push(ms);
        },
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(slept.length).toBeGreaterThan(0);
  });
});
