/**
 * `k8ts server` startup: clear one-line errors (exit 1) for a taken port, an unusable data dir and a
 * corrupt database, and it never overwrites existing data (state, certificates).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adminClient } from './helpers/rest.js';
import { CLI, cleanup, type RunningServer, startServer } from './helpers/server.js';

function runServer(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'server', '--bind-address', '127.0.0.1', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('k8ts server startup', () => {
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'k8ts-cli-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    for (const d of dirs) cleanup(d);
  });

  it('a taken port: exit 1 with a clear message', async () => {
    const a = await startServer({ dataDir: tmp() });
    servers.push(a);
    const port = new URL(a.url).port;
    const r = runServer(['--data-dir', tmp(), '--https-port', port]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`k8ts: port ${port} on 127.0.0.1 is already in use`);
  });

  it('an unknown --proxy-mode: exit 1 naming the modes', () => {
    const r = runServer(['--data-dir', tmp(), '--proxy-mode', 'ipvs']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('unknown mode "ipvs" (iptables, nftables, userspace)');
  });

  it('k8ts service-proxy: a bad --nodeport-addresses is refused before anything starts', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'service-proxy', '--kubeconfig', '/nonexistent', '--nodeport-addresses', '10.0.0.0/8,eth0'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain(
      'invalid CIDR "eth0" (CIDRs, or the keywords primary, localhost, all)',
    );
  });

  it('a data dir that is a file: exit 1 naming it', () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = runServer(['--data-dir', file, '--https-port', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`k8ts: cannot use data dir ${file}`);
  });

  it('a corrupt database: exit 1, and the file is left as it was', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'db'), { recursive: true });
    const db = join(dir, 'db', 'state.db');
    const garbage = Buffer.from('this is not a sqlite database, but someone may want it back\n'.repeat(100));
    writeFileSync(db, garbage);
    const r = runServer(['--data-dir', dir, '--https-port', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/k8ts: cannot use the database at .*state\.db/);
    expect(readFileSync(db).equals(garbage)).toBe(true);
  });

  it('a second server on the same data dir is refused; a restart keeps data and certificates', async () => {
    const dir = tmp();
    const first = await startServer({ dataDir: dir });
    const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
    const token = readFileSync(join(dir, 'token'), 'utf8');
    const second = runServer(['--data-dir', dir, '--https-port', '0']);
    expect(second.code).toBe(1);
    expect(second.out).toMatch(/k8ts: .*(locked|in use)/i);
    await first.kill('SIGTERM');
    const again = await startServer({ dataDir: dir });
    servers.push(again);
    expect(readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8')).toBe(ca);
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe(token);
  });

  it('repairs the ClusterIP and NodePort allocators from stored Services on restart', async () => {
    const dir = tmp();
    const first = await startServer({ dataDir: dir });
    const c1 = adminClient(first);
    const svc = (name: string, spec: object) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec,
    });
    const a = await c1.json(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }),
    );
    c1.close();
    await first.kill('SIGKILL');
    const second = await startServer({ dataDir: dir });
    servers.push(second);
    const c2 = adminClient(second);
    const port = await c2.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }),
    );
    expect(port.status).toBe(422);
    expect(JSON.parse(port.body).message).toContain(
      'spec.ports[0].nodePort: Invalid value: 31000: provided port is already allocated',
    );
    const ip = await c2.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('c', { clusterIP: a.spec.clusterIP, ports: [{ port: 80 }] }),
    );
    expect(ip.status).toBe(422);
    expect(JSON.parse(ip.body).message).toContain('provided IP is already allocated');
    expect((await c2.request('DELETE', '/api/v1/namespaces/default/services/a')).status).toBe(200);
    const reuse = await c2.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('d', { type: 'NodePort', clusterIP: a.spec.clusterIP, ports: [{ port: 80, nodePort: 31000 }] }),
    );
    expect(reuse.status).toBe(201);
    c2.close();
  });
});
