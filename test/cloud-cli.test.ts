/**
 * The wiring: `k8ts server --cloud-provider local --lb-pool ...` runs the service controller
 * in-process, and `k8ts cloud-controller-manager --kubeconfig ...` runs it standalone; kubectl
 * shows the address as EXTERNAL-IP. Every process started here is killed by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/cloud.js';
import { CLI, cleanup, kubectlOk, type RunningServer, startServer } from './helpers/server.js';

const servers: RunningServer[] = [];
const procs: ChildProcess[] = [];
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const s of servers) {
    await s.kill();
    cleanup(s.dataDir);
  }
});

async function externalIp(server: RunningServer, name: string): Promise<string> {
  return waitFor(`EXTERNAL-IP of ${name}`, async () => {
    const out = await kubectlOk(server, [
      'get',
      'svc',
      name,
      '-o',
      'jsonpath={.status.loadBalancer.ingress[*].ip}',
    ]);
    return out.trim() || undefined;
  });
}

describe('cloud controller wiring', () => {
  it('k8ts server --cloud-provider local --lb-pool gives LoadBalancer services an address', async () => {
    const server = await startServer({
      components: ['cloud-controller'],
      args: ['--disable-controllers', '--cloud-provider', 'local', '--lb-pool', '192.0.2.50/32'],
    });
    servers.push(server);
    await waitFor(
      'cloud controller started',
      async () => /cloud controllers running \(provider local: service\)/.test(server.output()) || undefined,
    );
    await kubectlOk(server, ['create', 'service', 'loadbalancer', 'web', '--tcp=80:8080']);
    expect(await externalIp(server, 'web')).toBe('192.0.2.50');
    const wide = await kubectlOk(server, ['get', 'svc', 'web']);
    expect(wide).toMatch(/web\s+LoadBalancer\s+\S+\s+192\.0\.2\.50\s+80:\d+\/TCP/);
  });

  it('--disable cloud-controller runs none; k8ts cloud-controller-manager runs it standalone', async () => {
    const server = await startServer({ args: ['--disable-controllers', '--cloud-provider', 'local'] });
    servers.push(server);
    await kubectlOk(server, ['create', 'service', 'loadbalancer', 'api', '--tcp=443:8443']);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.output()).not.toMatch(/cloud controllers running/);
    const ccm = spawn(
      process.execPath,
      [
        CLI,
        'cloud-controller-manager',
        '--kubeconfig',
        server.kubeconfig,
        '--cloud-provider',
        'local',
        '--lb-pool',
        '192.0.2.60-192.0.2.61',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(ccm);
    let out = '';
    ccm.stdout!.on('data', (d) => (out += d));
    ccm.stderr!.on('data', (d) => (out += d));
    expect(await externalIp(server, 'api')).toBe('192.0.2.60');
    expect(out).toMatch(/cloud controllers running \(provider local: service\)/);
    // It holds the leader Lease (a second instance would wait on it).
    const holder = await kubectlOk(server, [
      'get',
      'lease',
      '-n',
      'kube-system',
      'cloud-controller-manager',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]);
    expect(holder).toMatch(/_[0-9a-f]{8}$/);
    const fin = await kubectlOk(server, ['get', 'svc', 'api', '-o', 'jsonpath={.metadata.finalizers}']);
    expect(fin).toContain('service.kubernetes.io/load-balancer-cleanup');
    await kubectlOk(server, ['delete', 'svc', 'api', '--timeout=20s']);
  });
});
