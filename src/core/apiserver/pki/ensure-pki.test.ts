import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, createServer as httpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultServingHosts, ensurePki, issueClientCert, type Pki } from './ensure-pki.js';
import { PkiError } from './errors.js';

const OPENSSL = '/usr/bin/openssl';
const HOSTS = defaultServingHosts({ hostname: 'node-a', bindAddress: '192.0.2.10' });

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-pki-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): string {
  return execFileSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every file under dir (relative path -> content). */
function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      out[join(entry.parentPath, entry.name)] = readFileSync(join(entry.parentPath, entry.name), 'utf8');
  }
  return out;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('defaultServingHosts', () => {
  it('lists the upstream names, the service IP, hostname and a concrete bind address', () => {
    expect(HOSTS).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      '10.43.0.1',
      'node-a',
      '192.0.2.10',
    ]);
    expect(defaultServingHosts({ bindAddress: '0.0.0.0' })).not.toContain('0.0.0.0');
    expect(defaultServingHosts({ bindAddress: '::' })).not.toContain('::');
  });
});

describe('ensurePki', () => {
  it('generates a chain that openssl verifies, with the SANs and modes required', async () => {
    const dataDir = tempDir();
    const pki = await ensurePki(dataDir, { hosts: HOSTS });
    expect(pki.generated).toEqual(['ca', 'serving', 'admin', 'token']);
    const { paths } = pki;

    const verified = openssl('verify', '-CAfile', paths.caCert, paths.servingCert, paths.adminCert);
    expect(verified).toContain(`${paths.servingCert}: OK`);
    expect(verified).toContain(`${paths.adminCert}: OK`);
    expect(openssl('verify', '-purpose', 'sslserver', '-CAfile', paths.caCert, paths.servingCert)).toContain(
      ': OK',
    );
    expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', paths.caCert, paths.adminCert)).toContain(
      ': OK',
    );

    const serverText = openssl('x509', '-in', paths.servingCert, '-noout', '-text');
    for (const san of [
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'DNS:node-a',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:10.43.0.1',
      'IP Address:192.0.2.10',
    ]) {
      expect(serverText).toContain(san);
    }
    expect(serverText).toContain('TLS Web Server Authentication');
    expect(serverText).toMatch(/Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);

    const adminSubject = openssl('x509', '-in', paths.adminCert, '-noout', '-subject', '-nameopt', 'RFC2253');
    expect(adminSubject.trim()).toBe('subject=CN=system:admin,O=system:masters');

    const caText = openssl('x509', '-in', paths.caCert, '-noout', '-text');
    expect(caText).toMatch(/CA:TRUE/);

    // Validity: CA 10 years, leaves 1 year (notBefore backdated by an hour).
    const days = (pem: string) => {
      const cert = new X509Certificate(pem);
      return (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    };
    expect(Math.round(days(pki.caCertPem))).toBe(3650);
    expect(Math.round(days(pki.servingCertPem))).toBe(365);

    for (const key of [paths.caKey, paths.servingKey, paths.adminKey, paths.token])
      expect(mode(key)).toBe(0o600);
    expect(pki.adminToken).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(paths.token, 'utf8').trim()).toBe(pki.adminToken);
  });

  it('loads, never regenerates, on a second start', async () => {
    const dataDir = tempDir();
    const first = await ensurePki(dataDir, { hosts: HOSTS });
    const second = await ensurePki(dataDir, { hosts: HOSTS });
    expect(second.generated).toEqual([]);
    const { generated: _a, ...firstRest } = first;
    const { generated: _b, ...secondRest } = second;
    expect(secondRest).toEqual(firstRest);
  });

  it('reissues only the serving certificate when a required SAN is missing', async () => {
    const dataDir = tempDir();
    const first = await ensurePki(dataDir, { hosts: HOSTS });
    const second = await ensurePki(dataDir, { hosts: [...HOSTS, 'api.example.com', '198.51.100.7'] });
    expect(second.generated).toEqual(['serving']);
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.caKeyPem).toBe(first.caKeyPem);
    expect(second.adminCertPem).toBe(first.adminCertPem);
    expect(second.servingKeyPem).not.toBe(first.servingKeyPem);
    const text = openssl('x509', '-in', second.paths.servingCert, '-noout', '-text');
    expect(text).toContain('DNS:api.example.com');
    expect(text).toContain('IP Address:198.51.100.7');
    expect(openssl('verify', '-CAfile', second.paths.caCert, second.paths.servingCert)).toContain(': OK');
  });

  it('renews leaf certificates that expire within 90 days, keeping the CA', async () => {
    const dataDir = tempDir();
    const start = new Date('2030-01-01T00:00:00Z');
    const first = await ensurePki(dataDir, { hosts: HOSTS, now: start });
    const later = await ensurePki(dataDir, { hosts: HOSTS, now: new Date('2030-11-15T00:00:00Z') });
    expect(later.generated).toEqual(['serving', 'admin']);
    expect(later.caCertPem).toBe(first.caCertPem);
    expect(new X509Certificate(later.servingCertPem).validTo).toContain('2031');
  });

  it('reissues leaves signed by another CA and fixes a leaf whose key was replaced', async () => {
    const dataDir = tempDir();
    const other = await ensurePki(tempDir(), { hosts: HOSTS });
    const first = await ensurePki(dataDir, { hosts: HOSTS });
    writeFileSync(first.paths.adminCert, other.adminCertPem);
    writeFileSync(first.paths.adminKey, other.adminKeyPem);
    writeFileSync(first.paths.servingKey, other.servingKeyPem);
    const second = await ensurePki(dataDir, { hosts: HOSTS });
    expect(second.generated).toEqual(['serving', 'admin']);
    expect(openssl('verify', '-CAfile', second.paths.caCert, second.paths.adminCert)).toContain(': OK');
    expect(
      new X509Certificate(second.servingCertPem).checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(second.servingKeyPem),
      ),
    ).toBe(true);
  });

  const brokenStates: Array<[string, (pki: Pki) => void, string]> = [
    ['ca.crt removed', (pki) => unlinkSync(pki.paths.caCert), 'INCOMPLETE_CA'],
    ['ca.key removed', (pki) => unlinkSync(pki.paths.caKey), 'INCOMPLETE_CA'],
    ['ca.key of another CA', (pki) => writeFileSync(pki.paths.caKey, pki.adminKeyPem), 'CA_KEY_MISMATCH'],
    ['ca.crt garbage', (pki) => writeFileSync(pki.paths.caCert, 'not a cert'), 'INVALID_PEM'],
    ['empty token file', (pki) => writeFileSync(pki.paths.token, '\n'), 'INVALID_TOKEN'],
  ];
  it.each(brokenStates)('refuses to overwrite: %s', async (_name, breakIt, code) => {
    const dataDir = tempDir();
    const pki = await ensurePki(dataDir, { hosts: HOSTS });
    breakIt(pki);
    const before = snapshotDir(dataDir);
    const err = await ensurePki(dataDir, { hosts: HOSTS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe(code);
    expect(snapshotDir(dataDir)).toEqual(before);
  });
});

describe('issueClientCert', () => {
  it('issues a client certificate with the given CN and groups, signed by the CA', async () => {
    const dataDir = tempDir();
    const pki = await ensurePki(dataDir, { hosts: HOSTS });
    const kubelet = await issueClientCert(pki, {
      commonName: 'system:node:node-a',
      organizations: ['system:nodes', 'extra'],
    });
    const certPath = join(dataDir, 'kubelet.crt');
    writeFileSync(certPath, kubelet.certPem);
    expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', pki.paths.caCert, certPath)).toContain(
      ': OK',
    );
    const subject = openssl('x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253').trim();
    expect(subject).toBe('subject=CN=system:node:node-a,O=extra,O=system:nodes');
  });
});

describe('TLS with the generated material', () => {
  it('serves with the serving certificate and sees the admin client certificate identity', async () => {
    const pki = await ensurePki(tempDir(), { hosts: HOSTS });
    const server = httpsServer(
      {
        cert: pki.servingCertPem,
        key: pki.servingKeyPem,
        ca: pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        const peer = socket.getPeerCertificate();
        res.end(
          JSON.stringify({
            authorized: socket.authorized,
            cn: peer.subject?.CN ?? null,
            o: peer.subject?.O ?? null,
          }),
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const get = (options: { cert?: string; key?: string; servername?: string }) =>
      new Promise<unknown>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path: '/', ca: pki.caCertPem, ...options },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(body)));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      // Hostname verification against the IP SAN (127.0.0.1) and a DNS SAN (kubernetes.default.svc).
      expect(await get({ cert: pki.adminCertPem, key: pki.adminKeyPem })).toEqual({
        authorized: true,
        cn: 'system:admin',
        o: 'system:masters',
      });
      expect(
        await get({ cert: pki.adminCertPem, key: pki.adminKeyPem, servername: 'kubernetes.default.svc' }),
      ).toEqual({
        authorized: true,
        cn: 'system:admin',
        o: 'system:masters',
      });
      expect(await get({})).toEqual({ authorized: false, cn: null, o: null });
      await expect(get({ servername: 'not-in-the-cert.example' })).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
