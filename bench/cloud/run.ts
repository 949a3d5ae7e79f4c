/**
 * Cloud controller benchmark:
 *   npx tsc -p tsconfig.json && node dist/bench/cloud/run.js [--services 200] [--concurrency 20] [--write]
 *
 * 1. LoadBalancer provisioning latency with the local provider: a real `k8ts server` child
 *    process (built-in controllers off), the cloud controller manager in this process (as
 *    `k8ts cloud-controller-manager` runs it), LoadBalancer Services created one at a time (50),
 *    then N by `concurrency` clients. Each service's time from the create request to status.loadBalancer seen on a watch,
 *    beside its anchor measured in the same run: the API create round trip of the same services.
 * 2. AWS reconcile cost: SDK calls (all / mutating) per create, per no-op reconcile and per node
 *    added, through the real SDK clients with the transport faked (test/helpers/fake-aws.ts).
 * Prints a Markdown table; `--write` replaces the cloud section of bench/RESULTS.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { startCloudControllerManager } from '../../src/cloud/cloud-controller-manager.js';
import { AwsLoadBalancer } from '../../src/cloud/providers/aws/aws-load-balancer.js';
import { createLocalProvider } from '../../src/cloud/providers/local/local-provider.js';
import { loadKubeconfig, RestClient } from '../../src/core/client/rest-client.js';
import { FakeAws } from '../../test/helpers/fake-aws.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    write: { type: 'boolean', default: false },
  },
});
const SERVICES = Number(values.services);
const CONCURRENCY = Number(values.concurrency);
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function startServer(dir: string): Promise<{ proc: ChildProcess; kubeconfig: string }> {
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--data-dir',
      dir,
      '--https-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--disable-controllers',
      '--disable',
      'kubelet,service-proxy,dns,ingress,cloud-controller',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`server did not start:\n${out}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/listening on/.test(out)) {
        clearTimeout(t);
        res();
      }
    });
    proc.once('exit', (c) => rej(new Error(`server exited ${c}:\n${out}`)));
  });
  return { proc, kubeconfig: join(dir, 'kubeconfig.yaml') };
}

async function localLatency(rows: string[][], SERVICES: number, CONCURRENCY: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-cloud-'));
  const { proc, kubeconfig } = await startServer(dir);
  const client = new RestClient(loadKubeconfig(kubeconfig));
  try {
    const ccm = await startCloudControllerManager(client, {
      provider: createLocalProvider({ pool: '10.200.0.0/20' }),
      clusterName: 'bench',
    });
    const sent = new Map<string, number>();
    const done = new Map<string, number>();
    let allDone: () => void = () => {};
    const finished = new Promise<void>((r) => (allDone = r));
    const watch = client.watch(
      '/api/v1/namespaces/default/services',
      {},
      (_type, obj) => {
        const n = obj.metadata?.name as string;
        if (obj.status?.loadBalancer?.ingress?.length && sent.has(n) && !done.has(n)) {
          done.set(n, performance.now() - sent.get(n)!);
          if (done.size === SERVICES) allDone();
        }
      },
      () => {},
    );
    const createMs: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < SERVICES) {
          const name = `lb-${next++}`;
          const s = performance.now();
          sent.set(name, s);
          await client.request('POST', '/api/v1/namespaces/default/services', {
            body: {
              metadata: { name },
              spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] },
            },
          });
          createMs.push(performance.now() - s);
        }
      }),
    );
    await Promise.race([finished, new Promise((r) => setTimeout(r, 120_000))]);
    const elapsed = (performance.now() - t0) / 1000;
    watch.stop();
    ccm.stop();
    const lat = [...done.values()];
    rows.push([
      `local provider: create -> status.loadBalancer (${SERVICES} services, ${CONCURRENCY} clients)`,
      `p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}; ${lat.length}/${SERVICES} done, ${(lat.length / elapsed).toFixed(0)} services/s`,
      `anchor, same run: API create round trip p50 ${ms(pct(createMs, 50))}, p99 ${ms(pct(createMs, 99))}`,
    ]);
  } finally {
    client.close();
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function awsCalls(rows: string[][]): Promise<void> {
  const aws = new FakeAws();
  try {
    aws.subnets = [
      {
        SubnetId: 'subnet-a',
        VpcId: 'vpc-1',
        AvailabilityZone: 'eu-west-1a',
        Tags: [{ Key: 'kubernetes.io/role/elb', Value: '1' }],
      },
      {
        SubnetId: 'subnet-b',
        VpcId: 'vpc-1',
        AvailabilityZone: 'eu-west-1b',
        Tags: [{ Key: 'kubernetes.io/role/elb', Value: '1' }],
      },
    ];
    const nodes: Node[] = [];
    for (let i = 0; i < 10; i++) {
      const id = `i-${String(i).padStart(17, '0')}`;
      aws.instances.push({
        InstanceId: id,
        PrivateDnsName: `n${i}`,
        PrivateIpAddress: `10.0.0.${i + 10}`,
        InstanceType: 'm5.large',
        AvailabilityZone: 'eu-west-1a',
        VpcId: 'vpc-1',
        SecurityGroupIds: ['sg-1'],
      });
      nodes.push({ metadata: { name: `n${i}` }, spec: { providerID: `aws:///eu-west-1a/${id}` } });
    }
    aws.securityGroups = [
      {
        GroupId: 'sg-1',
        VpcId: 'vpc-1',
        Tags: [{ Key: 'kubernetes.io/cluster/bench', Value: 'owned' }],
        IpPermissions: [],
      },
    ];
    const lb = new AwsLoadBalancer({ elb: aws.elb, ec2: aws.ec2 });
    const svc: Service = {
      metadata: { name: 'web', namespace: 'default', uid: '11111111-2222-3333-4444-555555555555' },
      spec: {
        type: 'LoadBalancer',
        ports: [
          { name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' },
          { name: 'https', port: 443, nodePort: 30443, protocol: 'TCP' },
        ],
      },
    };
    const measure = async (what: string, fn: () => Promise<unknown>) => {
      aws.calls = [];
      const t = performance.now();
      await fn();
      const dt = performance.now() - t;
      const all = aws.calls.length;
      const mut = aws.takeMutations().length;
      rows.push([
        `AWS NLB, 2 ports, 10 nodes: ${what}`,
        `${all} SDK calls, ${mut} mutating`,
        `${ms(dt)} against the in-memory fake (SDK overhead only)`,
      ]);
    };
    await measure('create', () => lb.ensureLoadBalancer('bench', svc, nodes.slice(0, 9)));
    await measure('no-op reconcile', () => lb.ensureLoadBalancer('bench', svc, nodes.slice(0, 9)));
    await measure('node added', () => lb.updateLoadBalancer('bench', svc, nodes));
    await measure('delete', () => lb.ensureLoadBalancerDeleted('bench', svc));
  } finally {
    aws.restore();
  }
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  // One client, one service at a time: the controller's own cost per service, no queueing.
  await localLatency(rows, Math.min(50, SERVICES), 1);
  await localLatency(rows, SERVICES, CONCURRENCY);
  await awsCalls(rows);
  const table = `| measure | result | anchor / note |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`;
  console.log(table);
  if (values.write) {
    const path = join(REPO, 'bench', 'RESULTS.md');
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {}
    const section = `<!-- cloud:start -->\n## Cloud controller manager (issue 8)\n\nCommand: \`npx tsc -p tsconfig.json && node dist/bench/cloud/run.js --write\` (services=${SERVICES}, concurrency=${CONCURRENCY}), run ${new Date().toISOString().slice(0, 16)}Z on this machine (2 vCPU, shared VM; server, controller and clients on the same cores).\n\n${table}\n<!-- cloud:end -->`;
    if (text.includes('<!-- cloud:start -->'))
      text = text.replace(/<!-- cloud:start -->[\s\S]*<!-- cloud:end -->/, section);
    else text = `${text || '# Benchmark results\n'}\n${section}\n`;
    writeFileSync(path, text);
  }
}

await main();
process.exit(0);
