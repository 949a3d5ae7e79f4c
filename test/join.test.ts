/**
 * Joining nodes (issue 9): a real `k8ts server` on loopback (node components off) and real
 * `k8ts agent` processes in rootless mode (kubelet on a free port, pods on loopback IPs).
 */

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsr } from '../src/core/apiserver/pki/certs.js';
import { type RunningAgent, runAgentToExit, startAgent } from './helpers/agent.js';
import {
  CLI,
  cleanup,
  KUBECTL,
  kubectl,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl');
const id = Math.random().toString(36).slice(2, 7);
// A cluster CIDR of our own: rootless pod IPs (127.<b>.x.y) must not collide with another test's.
const b = 100 + Math.floor(Math.random() * 150);
const clusterCidr = `10.${b}.0.0/16`;

function token(args: string[], dataDir: string): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync(process.execPath, [CLI, 'token', ...args, '--data-dir', dataDir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: `${err.stdout}${err.stderr}` };
  }
}

/** PIDs of the containers an agent's runtime records. */
function containerPids(agent: RunningAgent): number[] {
  const dir = join(agent.dataDir, 'runtime');
  return readdirSync(dir)
    .map((c) => JSON.parse(readFileSync(join(dir, c, 'state.json'), 'utf8')).info.pid as number)
    .sort();
}

describe.runIf(have)('k8ts agent joins a cluster', () => {
  let server: RunningServer;
  let port: number;
  const agents: RunningAgent[] = [];
  const node1 = `join-${id}-1`;

  beforeAll(async () => {
    server = await startServer({ args: ['--cluster-cidr', clusterCidr] });
    port = Number(new URL(server.url).port);
  }, 60_000);
  afterAll(async () => {
    for (const a of agents) await a.cleanup();
    await server?.kill('SIGTERM');
    if (server) cleanup(server.dataDir);
  }, 60_000);

  const nodeReady = (name: string) =>
    waitFor(`node ${name} Ready`, async () => {
      const jp = 'jsonpath={.status.conditions[?(@.type=="Ready")].status}';
      return (await kubectlOk(server, ['get', 'node', name, '-o', jp])) === 'True' ? true : undefined;
    });
  const serverToken = () => readFileSync(join(server.dataDir, 'token'), 'utf8').trim();

  it('the server wrote its join token (0600) in the K10 form pinning its CA', async () => {
    const t = serverToken();
    expect(t).toMatch(/^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(statSync(join(server.dataDir, 'token')).mode & 0o777).toBe(0o600);
    const ca = readFileSync(join(server.dataDir, 'pki', 'ca.crt'));
    const hash = execFileSync('sha256sum', { input: ca, encoding: 'utf8' }).split(' ')[0];
    expect(t.slice(3, 67)).toBe(hash);
    await waitFor('the token printed', async () => (server.output().includes(t) ? true : undefined), 10_000);
  });

  it('a bootstrap token may request certificates and nothing more', async () => {
    const bearer = serverToken().split('::')[1]!;
    const ca = readFileSync(join(server.dataDir, 'pki', 'ca.crt'), 'utf8');
    const get = (path: string) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          new URL(path, server.url),
          { ca, headers: { authorization: `Bearer ${bearer}` } },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect((await get('/apis/certificates.k8s.io/v1/certificatesigningrequests')).code).toBe(200);
    const secrets = await get('/api/v1/namespaces/kube-system/secrets');
    expect(secrets.code).toBe(403);
    expect(JSON.parse(secrets.body).message).toMatch(
      /^secrets is forbidden: User "system:bootstrap:[a-z0-9]{6}" cannot list resource "secrets" in API group "" in the namespace "kube-system": a bootstrap token may only create and read CertificateSigningRequests$/,
    );
  });

  it('a wrong token secret is refused with a clear message', async () => {
    const t = serverToken();
    const bad = `${t.slice(0, t.lastIndexOf('.'))}.${'a'.repeat(16)}`;
    const r = await runAgentToExit({ server: server.url, token: bad, nodeName: `join-${id}-bad` });
    expect(r.code).toBe(1);
    expect(r.out).toContain('the join token was refused by the server');
    cleanup(r.dataDir);
  });

  it('a token pinning another CA is refused, naming both hashes', async () => {
    const t = serverToken();
    const other = 'f'.repeat(64);
    const r = await runAgentToExit({
      server: server.url,
      token: `K10${other}::${t.split('::')[1]}`,
      nodeName: `join-${id}-bad`,
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the token pins sha256 ${other}`);
    expect(r.out).toContain(`the server sent a CA with sha256 ${t.slice(3, 67)}`);
    cleanup(r.dataDir);
  });

  it('joins with the server token: node Ready, CSRs approved and issued', async () => {
    const a = await startAgent({
      server: server.url,
      token: serverToken(),
      nodeName: node1,
      args: ['--cluster-cidr', clusterCidr],
    });
    agents.push(a);
    await nodeReady(node1);
    const csr = await kubectlOk(server, ['get', 'csr']);
    const lines = csr.split('\n').filter((l) => l.startsWith('node-csr-'));
    expect(lines).toHaveLength(2);
    expect(csr).toMatch(
      /kubernetes\.io\/kube-apiserver-client-kubelet\s+system:bootstrap:[a-z0-9]{6}\s+<none>\s+Approved,Issued/,
    );
    expect(csr).toMatch(
      new RegExp(`kubernetes\\.io/kubelet-serving\\s+system:node:${node1}\\s+<none>\\s+Approved,Issued`),
    );
    expect(statSync(join(a.dataDir, 'kubelet.kubeconfig')).mode & 0o777).toBe(0o600);
  }, 90_000);

  it('runs a pod on the joined node, and `kubectl logs` reaches its kubelet', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'on-agent' },
      spec: {
        nodeName: node1,
        containers: [
          { name: 'c', image: 'busybox', command: ['sh', '-c', 'echo hello-from-agent; exec sleep 3600'] },
        ],
      },
    };
    await kubectlOk(server, ['apply', '-f', '-'], { stdin: JSON.stringify(pod) });
    await waitFor('pod Running', async () => {
      const s = await kubectlOk(server, ['get', 'pod', 'on-agent', '-o', 'jsonpath={.status.phase}']);
      return s === 'Running' ? s : undefined;
    });
    const logs = await waitFor('logs', async () => {
      const r = await kubectl(server, ['logs', 'on-agent']);
      return r.stdout.includes('hello-from-agent') ? r.stdout : undefined;
    });
    expect(logs).toContain('hello-from-agent');
  }, 60_000);

  it('token create | list | delete, and a created token joins; a deleted one is refused', async () => {
    const created = token(['create', '--ttl', '1h', '--description', 'second node'], server.dataDir);
    expect(created.code).toBe(0);
    const t = created.out.trim();
    expect(t).toMatch(/^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(t.slice(0, 67)).toBe(serverToken().slice(0, 67));
    const tid = t.split('::')[1]!.split('.')[0]!;
    const list = token(['list'], server.dataDir);
    expect(list.out.split('\n')[0]).toMatch(/^TOKEN\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\s+EXTRA GROUPS$/);
    expect(list.out).toMatch(
      new RegExp(`${tid}\\s+(59m|60m|1h)\\s+\\S+Z\\s+authentication,signing\\s+second node`),
    );
    expect(list.out).toMatch(/<forever>\s+<never>/);
    const node2 = `join-${id}-2`;
    const a2 = await startAgent({
      server: server.url,
      token: t,
      nodeName: node2,
      args: ['--cluster-cidr', clusterCidr],
    });
    agents.push(a2);
    expect(token(['delete', tid], server.dataDir).out).toContain(`bootstrap token "${tid}" deleted`);
    expect(token(['list'], server.dataDir).out).not.toContain(tid);
    expect(token(['delete', tid], server.dataDir)).toEqual({
      code: 1,
      out: `k8ts token: bootstrap token "${tid}" not found\n`,
    });
    const r = await runAgentToExit({ server: server.url, token: t, nodeName: `join-${id}-3` });
    expect(r.code).toBe(1);
    expect(r.out).toContain('the join token was refused by the server');
    cleanup(r.dataDir);
    // A node already joined keeps working without the token (its own certificate).
    await a2.stop();
    const again = await startAgent({
      dataDir: a2.dataDir,
      nodeName: node2,
      args: ['--cluster-cidr', clusterCidr],
    });
    agents.splice(agents.indexOf(a2), 1, again);
    expect(again.output()).toContain('using the credentials in');
    expect(again.output()).not.toContain('certificate signing request');
  }, 120_000);

  it('kubectl certificate approve|deny drive requests left to a human; the requester comes from the request', async () => {
    const { csrPem } = await createCsr({ commonName: 'jane', organizations: ['dev'] });
    const obj = (name: string) =>
      JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client',
          expirationSeconds: 3600,
          usages: ['client auth'],
          username: 'mallory',
          groups: ['system:masters'],
        },
      });
    await kubectlOk(server, ['create', '-f', '-'], { stdin: obj(`jane-${id}`) });
    await kubectlOk(server, ['create', '-f', '-'], { stdin: obj(`jane-${id}-no`) });
    const spec = JSON.parse(await kubectlOk(server, ['get', 'csr', `jane-${id}`, '-o', 'jsonpath={.spec}']));
    expect(spec.username).toBe('system:admin');
    expect(spec.groups).toEqual(['system:masters', 'system:authenticated']);
    expect(await kubectlOk(server, ['get', 'csr', `jane-${id}`])).toMatch(/system:admin\s+60m\s+Pending/);
    expect(await kubectlOk(server, ['certificate', 'approve', `jane-${id}`])).toContain('approved');
    expect(await kubectlOk(server, ['certificate', 'deny', `jane-${id}-no`])).toContain('denied');
    await waitFor('issued', async () => {
      const out = await kubectlOk(server, ['get', 'csr', `jane-${id}`]);
      return out.includes('Approved,Issued') ? out : undefined;
    });
    expect(await kubectlOk(server, ['get', 'csr', `jane-${id}-no`])).toMatch(/\sDenied\n/);
    const r = await kubectl(server, ['certificate', 'approve', `jane-${id}-no`]);
    expect(r.stderr).toContain('is already Denied');
    const issued = await kubectlOk(server, [
      'get',
      'csr',
      `jane-${id}`,
      '-o',
      'jsonpath={.status.certificate}',
    ]);
    const cert = new X509Certificate(Buffer.from(issued, 'base64'));
    expect(cert.subject).toBe('O=dev\nCN=jane');
    const hours = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 3_600_000;
    expect(hours).toBeCloseTo(1 + 5 / 60, 1); // one hour asked, plus the 5-minute backdate
  });

  it('two rootless agents on one machine pick their own kubelet and DNS ports', () => {
    const dnsPort = (a: RunningAgent) => /cluster DNS listening on 127\.0\.0\.1:(\d+)/.exec(a.output())?.[1];
    const [a1, a2] = agents;
    expect(dnsPort(a1!)).toBeDefined();
    expect(dnsPort(a2!)).toBeDefined();
    expect(dnsPort(a1!)).not.toBe(dnsPort(a2!));
    expect(a1!.proc.exitCode).toBeNull();
    expect(a2!.proc.exitCode).toBeNull();
  });

  it('--kubeconfig instead of a token (credentials provisioned by hand)', async () => {
    const name = `join-${id}-kc`;
    const a = await startAgent({
      kubeconfig: server.kubeconfig,
      nodeName: name,
      args: ['--cluster-cidr', clusterCidr],
    });
    agents.push(a);
    await nodeReady(name);
    // Its kubelet serving certificate came through a CSR an admin asked for, approved automatically.
    expect(await kubectlOk(server, ['get', 'csr'])).toMatch(
      /kubernetes\.io\/kubelet-serving\s+system:admin\s+<none>\s+Approved,Issued/,
    );
    await a.cleanup();
    agents.splice(agents.indexOf(a), 1);
    await kubectlOk(server, ['delete', 'node', name]);
  }, 60_000);

  it('a second machine may not take a joined node name', async () => {
    const r = await runAgentToExit({ server: server.url, token: serverToken(), nodeName: node1 });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`a node named "${node1}" is already in the cluster`);
    cleanup(r.dataDir);
  });

  it('a server restart disturbs no pod on the agent', async () => {
    const a = agents[0]!;
    const before = containerPids(a);
    expect(before.length).toBeGreaterThan(0);
    await server.kill('SIGKILL');
    server = await startServer({ dataDir: server.dataDir, port, args: ['--cluster-cidr', clusterCidr] });
    // The agent reconnects: its Lease is renewed again and the node stays Ready.
    const renew0 = await kubectlOk(server, [
      'get',
      'lease',
      '-n',
      'kube-node-lease',
      node1,
      '-o',
      'jsonpath={.spec.renewTime}',
    ]);
    await waitFor(
      'lease renewed after the restart',
      async () => {
        const r = await kubectlOk(server, [
          'get',
          'lease',
          '-n',
          'kube-node-lease',
          node1,
          '-o',
          'jsonpath={.spec.renewTime}',
        ]);
        return r !== renew0 ? r : undefined;
      },
      30_000,
    );
    const pod = JSON.parse(await kubectlOk(server, ['get', 'pod', 'on-agent', '-o', 'json']));
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.containerStatuses[0].restartCount).toBe(0);
    expect(containerPids(a)).toEqual(before);
    for (const pid of before) expect(() => process.kill(pid, 0)).not.toThrow();
    expect(a.proc.exitCode).toBeNull();
  }, 90_000);
});
