/**
 * The ingress end to end: a real `k8ts server --rootless` with its kubelet (pods are processes on
 * 127.x addresses answering their pod name and the request path), its ingress component on free
 * ports, and the local cloud provider (status of the LoadBalancer Service). Ingresses are applied
 * with the real kubectl; requests are real HTTP (undici) and TLS handshakes are checked with
 * `openssl s_client -servername` and curl.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertAndKey, createCa, issueLeaf } from '../src/core/apiserver/pki/certs.js';
import { type KubeletCluster, startKubeletCluster, waitFor } from './helpers/kubelet-cluster.js';
import { KUBECTL, requireTool } from './helpers/server.js';

type KObj = Record<string, any>;

const have =
  requireTool(KUBECTL, 'install kubectl') &&
  requireTool('/usr/bin/curl', 'apt-get install curl') &&
  requireTool('/usr/bin/openssl', 'apt-get install openssl');

/** Answers `<pod name> <path>`; SIGTERM ends it at once (what makes the mid-load deletion hard). */
const SERVER_JS =
  "require('http').createServer((q,s)=>s.end(process.env.POD_NAME+' '+q.url)).listen(8080, process.env.POD_IP)";

function pod(name: string, app: string): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'web',
          image: 'node',
          command: [process.execPath, '-e', SERVER_JS],
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          ports: [{ containerPort: 8080, name: 'http' }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
        },
      ],
    },
  };
}

function svc(name: string): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

type P = [pathType: 'Exact' | 'Prefix', path: string, service: string];

function ing(name: string, host: string, paths: P[], extra: KObj = {}): KObj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name },
    spec: {
      rules: [
        {
          host,
          http: {
            paths: paths.map(([pathType, path, service]) => ({
              path,
              pathType,
              backend: { service: { name: service, port: { number: 80 } } },
            })),
          },
        },
      ],
      ...extra,
    },
  };
}

/** The Ingress spec's examples table (and the mixed / trailing-slash cases): paths, request, answer. */
const TABLE: { paths: P[]; request: string; want: string }[] = [
  { paths: [['Prefix', '/', 'a']], request: '/any/thing', want: 'a' },
  { paths: [['Exact', '/foo', 'a']], request: '/foo', want: 'a' },
  { paths: [['Exact', '/foo', 'a']], request: '/bar', want: '404' },
  { paths: [['Exact', '/foo', 'a']], request: '/foo/', want: '404' },
  { paths: [['Exact', '/foo/', 'a']], request: '/foo', want: '404' },
  { paths: [['Prefix', '/foo', 'a']], request: '/foo', want: 'a' },
  { paths: [['Prefix', '/foo', 'a']], request: '/foo/', want: 'a' },
  { paths: [['Prefix', '/foo/', 'a']], request: '/foo', want: 'a' },
  { paths: [['Prefix', '/foo/', 'a']], request: '/foo/', want: 'a' },
  { paths: [['Prefix', '/aaa/bb', 'a']], request: '/aaa/bbb', want: '404' },
  { paths: [['Prefix', '/aaa/bbb', 'a']], request: '/aaa/bbb', want: 'a' },
  { paths: [['Prefix', '/aaa/bbb/', 'a']], request: '/aaa/bbb', want: 'a' },
  { paths: [['Prefix', '/aaa/bbb', 'a']], request: '/aaa/bbb/', want: 'a' },
  { paths: [['Prefix', '/aaa/bbb', 'a']], request: '/aaa/bbb/ccc', want: 'a' },
  { paths: [['Prefix', '/aaa/bbb', 'a']], request: '/aaa/bbbxyz', want: '404' },
  {
    paths: [
      ['Prefix', '/', 'a'],
      ['Prefix', '/aaa', 'b'],
    ],
    request: '/aaa/ccc',
    want: 'b',
  },
  {
    paths: [
      ['Prefix', '/', 'a'],
      ['Prefix', '/aaa', 'b'],
      ['Prefix', '/aaa/bbb', 'c'],
    ],
    request: '/aaa/bbb',
    want: 'c',
  },
  {
    paths: [
      ['Prefix', '/', 'a'],
      ['Prefix', '/aaa', 'b'],
      ['Prefix', '/aaa/bbb', 'c'],
    ],
    request: '/ccc',
    want: 'a',
  },
  { paths: [['Prefix', '/aaa', 'a']], request: '/ccc', want: '404' },
  {
    paths: [
      ['Prefix', '/foo', 'a'],
      ['Exact', '/foo', 'b'],
    ],
    request: '/foo',
    want: 'b',
  },
  {
    paths: [
      ['Prefix', '/foo', 'a'],
      ['Exact', '/foo', 'b'],
    ],
    request: '/foo/',
    want: 'a',
  },
  {
    paths: [
      ['Exact', '/foo/', 'b'],
      ['Prefix', '/foo', 'a'],
    ],
    request: '/foo/',
    want: 'b',
  },
  {
    paths: [
      ['Prefix', '/foo', 'a'],
      ['Exact', '/foo', 'b'],
    ],
    request: '/foo?x=1',
    want: 'b',
  },
];

function run(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(stdin);
  });
}

describe.runIf(have)('ingress end to end (rootless k8ts server, real pods, kubectl)', () => {
  let c: KubeletCluster;
  let http = 0;
  let https = 0;
  let tmp: string;
  let ca: CertAndKey;

  const get = async (host: string, path: string) => {
    const r = await request(`http://127.0.0.1:${http}${path}`, { headers: { host } });
    return { status: r.statusCode, body: await r.body.text() };
  };
  const apply = (objs: KObj[]) =>
    c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));

  beforeAll(async () => {
    c = await startKubeletCluster({
      mode: 'rootless',
      enable: ['ingress', 'cloud-controller'],
      args: ['--ingress-http-port', '0', '--ingress-https-port', '0', '--cloud-provider', 'local'],
    });
    const m = await waitFor(
      'ingress listening',
      async () => /ingress listening on http port (\d+) and https port (\d+)/.exec(c.output()) ?? undefined,
    );
    http = Number(m[1]);
    https = Number(m[2]);
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-ingress-e2e-'));
    ca = await createCa({ commonName: 'ingress-e2e-ca' });
    writeFileSync(join(tmp, 'ca.pem'), ca.certPem);
    for (const h of ['one', 'two']) {
      const leaf = await issueLeaf(ca, {
        commonName: `${h}.example.com`,
        usage: 'server',
        hosts: [`${h}.example.com`],
      });
      writeFileSync(join(tmp, `${h}.crt`), leaf.certPem);
      writeFileSync(join(tmp, `${h}.key`), leaf.keyPem);
      await c.kubectlOk([
        'create',
        'secret',
        'tls',
        `${h}-tls`,
        '--cert',
        join(tmp, `${h}.crt`),
        '--key',
        join(tmp, `${h}.key`),
      ]);
    }
    await apply([
      ...['a', 'b', 'c', 'load'].map(svc),
      pod('a-1', 'a'),
      pod('b-1', 'b'),
      pod('c-1', 'c'),
      pod('load-1', 'load'),
      pod('load-2', 'load'),
      ...TABLE.map((r, i) => ing(`row-${i}`, `row${i}.example.com`, r.paths)),
      ing('tls', 'one.example.com', [['Prefix', '/', 'a']], {
        tls: [
          { hosts: ['one.example.com'], secretName: 'one-tls' },
          { hosts: ['two.example.com'], secretName: 'two-tls' },
        ],
      }),
      ing('tls-two', 'two.example.com', [['Prefix', '/', 'b']]),
      ing('load', 'load.example.com', [['Prefix', '/', 'load']]),
      ing('foreign', 'foreign.example.com', [['Prefix', '/', 'a']], { ingressClassName: 'someone-else' }),
    ]);
    // Every backend has its ready pod behind the ingress.
    for (const [host, pod] of [
      ['row0.example.com', 'a-1'],
      ['row15.example.com', 'b-1'],
      ['row16.example.com', 'c-1'],
    ] as const)
      await waitFor(
        `${host} -> ${pod}`,
        async () => ((await get(host, '/aaa/bbb')).body.startsWith(pod) ? true : undefined),
        60_000,
      );
    await waitFor(
      'both load pods',
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add((await get('load.example.com', '/')).body.split(' ')[0]!);
        return seen.has('load-1') && seen.has('load-2') ? true : undefined;
      },
      60_000,
    );
  }, 180_000);

  afterAll(async () => {
    await c?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('serves the path-matching table of the Ingress spec over real HTTP', async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [i, r] of TABLE.entries()) {
      const res = await get(`row${i}.example.com`, r.request);
      const label = `${r.paths.map((p) => p.join(':')).join(',')} ${r.request}`;
      want.push(`${label} -> ${r.want}`);
      if (res.status === 404) got.push(`${label} -> 404`);
      else {
        expect(res.status).toBe(200);
        // The pod saw the request path unchanged.
        expect(res.body.slice(res.body.indexOf(' ') + 1)).toBe(r.request);
        got.push(`${label} -> ${res.body.split('-')[0]}`);
      }
    }
    expect(got).toEqual(want);
  });

  it('two hosts, two TLS Secrets, chosen by SNI (openssl s_client, curl with the CA)', async () => {
    for (const [host, pod] of [
      ['one.example.com', 'a-1'],
      ['two.example.com', 'b-1'],
    ]) {
      const s = await run(
        [
          'openssl',
          's_client',
          '-connect',
          `127.0.0.1:${https}`,
          '-servername',
          host!,
          '-verify_return_error',
          '-CAfile',
          join(tmp, 'ca.pem'),
        ],
        '',
      );
      expect(s.stdout).toMatch(new RegExp(`subject=\\s*CN\\s*=\\s*${host!.replace(/\./g, '\\.')}`));
      expect(s.stdout).toContain('Verify return code: 0 (ok)');
      const r = await run([
        'curl',
        '-s',
        '-m',
        '5',
        '--cacert',
        join(tmp, 'ca.pem'),
        '--resolve',
        `${host}:${https}:127.0.0.1`,
        `https://${host}:${https}/hello`,
      ]);
      expect(r.stdout).toBe(`${pod} /hello`);
    }
    // A TLS host on plain HTTP is redirected to HTTPS (ssl-redirect defaults to true).
    const plain = await request(`http://127.0.0.1:${http}/x`, { headers: { host: 'one.example.com' } });
    await plain.body.text();
    expect(plain.statusCode).toBe(308);
  });

  it('a rotated Secret is served to new handshakes while a client keeps requesting', async () => {
    const serial = async () => {
      const r = await run([
        'bash',
        '-c',
        `openssl s_client -connect 127.0.0.1:${https} -servername one.example.com </dev/null 2>/dev/null | openssl x509 -noout -serial`,
      ]);
      return r.stdout
        .trim()
        .replace(/^serial=/, '')
        .toUpperCase();
    };
    const before = await serial();
    const leaf = await issueLeaf(ca, {
      commonName: 'one.example.com',
      usage: 'server',
      hosts: ['one.example.com'],
    });
    const want = new X509Certificate(leaf.certPem).serialNumber.toUpperCase();
    expect(want).not.toBe(before);
    writeFileSync(join(tmp, 'one-new.crt'), leaf.certPem);
    writeFileSync(join(tmp, 'one-new.key'), leaf.keyPem);
    // A fresh connection per request: every one is a handshake with whatever certificate is current.
    const agent = new Agent({ connect: { ca: ca.certPem, servername: 'one.example.com' }, pipelining: 0 });
    let stop = false;
    const failures: string[] = [];
    let ok = 0;
    const loop = (async () => {
      while (!stop) {
        try {
          const r = await request(`https://127.0.0.1:${https}/rot`, {
            dispatcher: agent,
            headers: { host: 'one.example.com', connection: 'close' },
          });
          const t = await r.body.text();
          if (r.statusCode === 200 && t === 'a-1 /rot') ok++;
          else failures.push(`${r.statusCode} ${t.slice(0, 100)}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    const yaml = await c.kubectlOk([
      'create',
      'secret',
      'tls',
      'one-tls',
      '--cert',
      join(tmp, 'one-new.crt'),
      '--key',
      join(tmp, 'one-new.key'),
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await c.kubectlOk(['apply', '-f', '-'], yaml);
    await waitFor(
      'new certificate served',
      async () => ((await serial()) === want ? true : undefined),
      30_000,
    );
    const okAtSwap = ok;
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await loop;
    await agent.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(okAtSwap);
  }, 60_000);

  it('writes the k8ts-ingress Service’s address into the status of its Ingresses only', async () => {
    const svcStatus = await waitFor(
      'LoadBalancer status of k8ts-ingress',
      async () => {
        const s = JSON.parse(
          await c.kubectlOk(['get', 'service', '-n', 'kube-system', 'k8ts-ingress', '-o', 'json']),
        );
        return s.status?.loadBalancer?.ingress?.length ? s.status.loadBalancer.ingress : undefined;
      },
      60_000,
    );
    const ips = svcStatus.map((i: KObj) => i.ip ?? i.hostname);
    const st = await waitFor(
      'Ingress status',
      async () => {
        const o = JSON.parse(await c.kubectlOk(['get', 'ingress', 'load', '-o', 'json']));
        return o.status?.loadBalancer?.ingress?.length ? o.status.loadBalancer.ingress : undefined;
      },
      30_000,
    );
    expect(st.map((i: KObj) => i.ip ?? i.hostname)).toEqual(ips);
    // The EndpointSlice of the Service carries the ports really listened on.
    const es = JSON.parse(
      await c.kubectlOk([
        'get',
        'endpointslices',
        '-n',
        'kube-system',
        '-l',
        'kubernetes.io/service-name=k8ts-ingress',
        '-o',
        'json',
      ]),
    );
    expect(es.items[0].ports.map((p: KObj) => p.port).sort()).toEqual([http, https].sort());
    const foreign = JSON.parse(await c.kubectlOk(['get', 'ingress', 'foreign', '-o', 'json']));
    expect(foreign.status?.loadBalancer?.ingress).toBeUndefined();
    expect((await get('foreign.example.com', '/')).status).toBe(404);
  });

  it('loses no retriable request while a pod is deleted under load', async () => {
    let stop = false;
    const failures: string[] = [];
    const seen: string[] = [];
    let ok = 0;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await get('load.example.com', '/');
          if (r.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
          else {
            ok++;
            seen.push(r.body.split(' ')[0]!);
          }
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 1000));
    await c.kubectlOk(['delete', 'pod', 'load-1', '--wait=false']);
    await waitFor(
      'load-1 gone',
      async () => ((await c.kubectl(['get', 'pod', 'load-1'])).code !== 0 ? true : undefined),
      30_000,
    );
    const mark = seen.length;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(new Set(seen.slice(mark))).toEqual(new Set(['load-2']));
  }, 60_000);
});
