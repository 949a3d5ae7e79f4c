import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest, createServer as httpsServer, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultServingHosts, ensurePki, type Pki } from './ensure-pki.js';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';

let dir: string;
let pki: Pki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k8ts-kubeconfig-'));
  pki = await ensurePki(dir, { hosts: defaultServingHosts() });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function adminOptions(server: string) {
  return {
    server,
    caPem: pki.caCertPem,
    clientCertPem: pki.adminCertPem,
    clientKeyPem: pki.adminKeyPem,
  };
}

describe('renderKubeconfig', () => {
  it('produces a standard kubeconfig with base64 credentials', () => {
    const doc = parse(renderKubeconfig({ ...adminOptions('https://127.0.0.1:6443'), token: 'abc' }));
    expect(doc).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'default',
          cluster: {
            server: 'https://127.0.0.1:6443',
            'certificate-authority-data': Buffer.from(pki.caCertPem).toString('base64'),
          },
        },
      ],
      contexts: [{ name: 'default', context: { cluster: 'default', user: 'default' } }],
      'current-context': 'default',
      preferences: {},
      users: [
        {
          name: 'default',
          user: {
            'client-certificate-data': Buffer.from(pki.adminCertPem).toString('base64'),
            'client-key-data': Buffer.from(pki.adminKeyPem).toString('base64'),
            token: 'abc',
          },
        },
      ],
    });
  });
});

describe('writeKubeconfig', () => {
  it('writes with mode 0600, skips identical content, rewrites when the server changes', async () => {
    const path = join(dir, 'kubeconfig.yaml');
    expect(await writeKubeconfig(path, adminOptions('https://127.0.0.1:6443'))).toEqual({ written: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const mtime = statSync(path).mtimeMs;
    expect(await writeKubeconfig(path, adminOptions('https://127.0.0.1:6443'))).toEqual({ written: false });
    expect(statSync(path).mtimeMs).toBe(mtime);
    expect(await writeKubeconfig(path, adminOptions('https://127.0.0.1:7443'))).toEqual({ written: true });
    expect(readFileSync(path, 'utf8')).toContain('server: https://127.0.0.1:7443');
    await expect(
      writeKubeconfig(path, { server: 'https://x', caPem: pki.caCertPem, clientCertPem: pki.adminCertPem }),
    ).rejects.toThrow(TypeError);
  });

  it('is accepted by @kubernetes/client-node, which then authenticates as system:admin', async () => {
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
        res.end(`${socket.authorized} ${socket.getPeerCertificate().subject?.CN}`);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const path = join(dir, 'client-node.yaml');
      await writeKubeconfig(path, adminOptions(`https://127.0.0.1:${port}`));
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      expect(kc.getCurrentCluster()?.server).toBe(`https://127.0.0.1:${port}`);
      const options: RequestOptions = { host: '127.0.0.1', port, path: '/' };
      await kc.applyToHTTPSOptions(options);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(options, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('true system:admin');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // kubectl is Go: this checks that client-go accepts the P-256 PKCS#8 keys, the chain and the IP SAN.
  it.skipIf(!existsSync('/usr/bin/kubectl'))(
    'is accepted by kubectl, with client certificate and with token',
    async () => {
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
          const who = socket.authorized ? socket.getPeerCertificate().subject?.CN : req.headers.authorization;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ who }));
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const certPath = join(dir, 'kubectl-cert.yaml');
        const tokenPath = join(dir, 'kubectl-token.yaml');
        await writeKubeconfig(certPath, adminOptions(`https://127.0.0.1:${port}`));
        await writeKubeconfig(tokenPath, {
          server: `https://127.0.0.1:${port}`,
          caPem: pki.caCertPem,
          token: pki.adminToken,
        });
        const run = promisify(execFile);
        const env = { ...process.env, HOME: dir, KUBECONFIG: '' };
        const byCert = await run('/usr/bin/kubectl', ['--kubeconfig', certPath, 'get', '--raw', '/x'], {
          env,
        });
        expect(JSON.parse(byCert.stdout)).toEqual({ who: 'system:admin' });
        const byToken = await run('/usr/bin/kubectl', ['--kubeconfig', tokenPath, 'get', '--raw', '/x'], {
          env,
        });
        expect(JSON.parse(byToken.stdout)).toEqual({ who: `Bearer ${pki.adminToken}` });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});
