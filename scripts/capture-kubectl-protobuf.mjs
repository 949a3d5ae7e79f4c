#!/usr/bin/env node
// Captures the protobuf request bodies that a real kubectl sends for typed `kubectl create ...`
// commands, as fixtures for src/core/api/protobuf/decode.test.ts.
//
// For each case it runs kubectl twice:
//   1. `kubectl create ... --dry-run=client -o json`: the JSON object kubectl would send as JSON,
//      stored as <case>.json (the expected decode);
//   2. `kubectl create ...` against a throwaway HTTPS server started here, which answers discovery
//      (built from src/core/apiserver/discovery.ts), records the POST body and answers 201 with the
//      JSON of step 1; the body is stored as <case>.bin with its content type in index.json.
//
// Run from the repository root: `node scripts/capture-kubectl-protobuf.mjs [path/to/kubectl]`.
// Needs openssl (a throwaway self-signed certificate) and typescript (to load discovery.ts).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'src/core/api/protobuf/fixtures');
const KUBECTL = process.argv[2] ?? 'kubectl';

/** Transpile discovery.ts and resources.ts into a temp dir (same relative layout) and import it. */
async function loadDiscovery(tmp) {
  const files = ['src/core/api/resources.ts', 'src/core/apiserver/discovery.ts'];
  for (const f of files) {
    const js = ts.transpileModule(readFileSync(path.join(ROOT, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = path.join(tmp, 'mod', f.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(path.join(tmp, 'mod', 'package.json'), '{"type":"module"}');
  return import(path.join(tmp, 'mod/src/core/apiserver/discovery.js'));
}

/**
 * A CronJob whose job template touches the decoder's hard cases: pointer fields set to zero
 * (backoffLimit, runAsUser, terminationGracePeriodSeconds, optional: false), Quantities,
 * IntOrStrings, embedded structs flattened into JSON (volume sources, probe handlers,
 * LocalObjectReference), int64 values beyond 2^32, maps.
 */
const RICH_CRONJOB = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'rich', namespace: 'default', uid: '6f1d2c3b-0000-4000-8000-000000000001' },
  spec: {
    schedule: '*/5 * * * *',
    jobTemplate: {
      metadata: { labels: { app: 'rich' }, annotations: { note: 'from template' } },
      spec: {
        backoffLimit: 0,
        parallelism: 2,
        completions: 4,
        activeDeadlineSeconds: 600,
        ttlSecondsAfterFinished: 0,
        suspend: false,
        completionMode: 'Indexed',
        template: {
          metadata: { labels: { app: 'rich' } },
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 0,
            enableServiceLinks: false,
            securityContext: { runAsUser: 0, runAsNonRoot: false, fsGroup: 2000, supplementalGroups: [1, 2, 4294967296] },
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 12884901888 }],
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 10,
                    podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } },
                  },
                ],
              },
            },
            volumes: [
              { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420, optional: false, items: [{ key: 'a', path: 'a.txt' }] } },
              { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
            ],
            containers: [
              {
                name: 'rich',
                image: 'busybox',
                command: ['sleep', '3600'],
                env: [{ name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a', optional: true } } }],
                resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '0.25' } },
                ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
                livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 0, failureThreshold: 3 },
                securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg', readOnly: true }],
              },
            ],
          },
        },
      },
    },
  },
};

/** Discovery of batch/v1 with cronjobs added (k8ts does not serve them; kubectl must resolve one). */
function withCronJobs(disco) {
  const cron = { name: 'cronjobs', singularName: 'cronjob', namespaced: true, kind: 'CronJob', verbs: ['get', 'list'] };
  return {
    ...disco,
    apiResourceList(group, version) {
      const list = disco.apiResourceList(group, version);
      if (list && group === 'batch' && version === 'v1') list.resources.push(cron);
      return list;
    },
    aggregatedDiscovery(which, v) {
      const doc = disco.aggregatedDiscovery(which, v);
      for (const item of doc.items) {
        if (item.metadata.name !== 'batch') continue;
        item.versions[0].resources.push({
          resource: 'cronjobs',
          responseKind: { group: 'batch', version: 'v1', kind: 'CronJob' },
          scope: 'Namespaced',
          singularResource: 'cronjob',
          verbs: cron.verbs,
        });
      }
      return doc;
    },
  };
}

/** The commands captured: fixture name -> kubectl arguments (namespace `default`). */
function cases(tmp) {
  return {
    'deployment': ['create', 'deployment', 'web', '--image=nginx', '--replicas=3', '--port=80'],
    'deployment-zero': ['create', 'deployment', 'idle', '--image=nginx:1.27', '--image=busybox', '--replicas=0'],
    'deployment-dry-run-server': ['create', 'deployment', 'web', '--image=nginx', '--dry-run=server'],
    'configmap': [
      'create',
      'configmap',
      'cfg',
      '--from-literal=a=1',
      '--from-literal=greeting=hello world',
      `--from-file=blob=${path.join(tmp, 'blob.bin')}`,
    ],
    'secret-generic': ['create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=pw=s3cr3t'],
    'service-nodeport': ['create', 'service', 'nodeport', 'web', '--tcp=80:8080', '--node-port=30080'],
    'service-clusterip': ['create', 'service', 'clusterip', 'named', '--tcp=443:https', '--tcp=53:5353'],
    'service-headless': ['create', 'service', 'clusterip', 'headless', '--clusterip=None'],
    'job': ['create', 'job', 'pi', '--image=busybox', '--', 'sh', '-c', 'echo hi'],
    'service-loadbalancer': ['create', 'service', 'loadbalancer', 'lb', '--tcp=80:8080'],
    'service-externalname': ['create', 'service', 'externalname', 'ext', '--external-name=example.com'],
    // kubectl GETs the CronJob below (served only by this capture server) and POSTs a Job built
    // from its template: the one typed create that carries a whole pod spec.
    'job-from-cronjob': ['create', 'job', 'rich-manual', '--from=cronjob/rich'],
    'namespace': ['create', 'namespace', 'dev'],
    'serviceaccount': ['create', 'serviceaccount', 'robot'],
    'ingress': [
      'create',
      'ingress',
      'web',
      '--class=nginx',
      '--rule=foo.com/bar*=svc1:8080,tls=my-cert',
      '--rule=foo.com/exact=svc2:http',
      '--annotation=example.com/a=b',
    ],
  };
}

function writeCert(tmp) {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'crt.pem'),
  ], { stdio: 'ignore' });
}

function kubeconfig(port) {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: https://127.0.0.1:${port}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: u',
    '  user:',
    '    token: capture-token',
    'contexts:',
    '- name: x',
    '  context: {cluster: c, user: u, namespace: default}',
    'current-context: x',
    '',
  ].join('\n');
}

/** Which aggregated discovery version the Accept header asks for first, if any. */
function aggregatedVersion(accept) {
  for (const part of (accept ?? '').split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList')) continue;
    if (part.includes('v=v2beta1')) return 'v2beta1';
    if (part.includes('v=v2')) return 'v2';
  }
  return undefined;
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'k8ts-capture-'));
  try {
    const disco = withCronJobs(await loadDiscovery(tmp));
    writeCert(tmp);
    writeFileSync(path.join(tmp, 'blob.bin'), Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]));
    /** The JSON answer of the POST currently expected, and the captured body. */
    const state = { answer: {}, captured: undefined };
    const server = https.createServer(
      { key: readFileSync(path.join(tmp, 'key.pem')), cert: readFileSync(path.join(tmp, 'crt.pem')) },
      (req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const url = new URL(req.url ?? '/', 'https://x');
          const send = (code, body, type = 'application/json') => {
            res.writeHead(code, { 'content-type': type });
            res.end(JSON.stringify(body));
          };
          if (req.method === 'POST') {
            state.captured = { body: Buffer.concat(chunks), contentType: req.headers['content-type'], path: url.pathname + url.search };
            return send(201, state.answer);
          }
          const p = url.pathname;
          if (p === '/apis/batch/v1/namespaces/default/cronjobs/rich') return send(200, RICH_CRONJOB);
          const agg = aggregatedVersion(req.headers.accept);
          if (p === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
          if (p === '/api' && agg) return send(200, disco.aggregatedDiscovery('api', agg), disco.aggregatedContentType(agg));
          if (p === '/api') return send(200, disco.apiVersions('127.0.0.1:6443'));
          if (p === '/apis' && agg) return send(200, disco.aggregatedDiscovery('apis', agg), disco.aggregatedContentType(agg));
          if (p === '/apis') return send(200, disco.apiGroupList());
          const m = /^\/(?:api|apis\/([^/]+))\/([^/]+)$/.exec(p);
          const list = m ? disco.apiResourceList(m[1] ?? '', m[2]) : undefined;
          if (list) return send(200, list);
          send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
        });
      },
    );
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const kc = path.join(tmp, 'kubeconfig');
    writeFileSync(kc, kubeconfig(port));
    const env = { ...process.env, KUBECONFIG: kc, HOME: tmp, KUBECACHEDIR: path.join(tmp, 'cache') };
    const run = (args) =>
      new Promise((resolve, reject) => {
        import('node:child_process').then(({ execFile }) =>
          execFile(KUBECTL, args, { env, encoding: 'utf8' }, (err, stdout, stderr) =>
            err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
          ),
        );
      });
    const version = JSON.parse(await run(['version', '--client', '-o', 'json'])).clientVersion.gitVersion;
    mkdirSync(OUT, { recursive: true });
    const index = {};
    for (const [name, args] of Object.entries(cases(tmp))) {
      const clientArgs = args.filter((a) => !a.startsWith('--dry-run='));
      const dashes = clientArgs.indexOf('--');
      const jsonArgs = [...clientArgs];
      jsonArgs.splice(dashes < 0 ? jsonArgs.length : dashes, 0, '--dry-run=client', '-o', 'json');
      const expected = JSON.parse(await run(jsonArgs));
      state.answer = expected;
      state.captured = undefined;
      await run(args);
      if (!state.captured) throw new Error(`${name}: kubectl sent no POST`);
      writeFileSync(path.join(OUT, `${name}.bin`), state.captured.body);
      writeFileSync(path.join(OUT, `${name}.json`), `${JSON.stringify(expected, null, 2)}\n`);
      index[name] = { args: args.map((a) => a.replace(tmp, '<tmp>')), contentType: state.captured.contentType, path: state.captured.path };
      console.log(`${name}: ${state.captured.contentType} ${state.captured.body.length} bytes ${state.captured.path}`);
    }
    writeFileSync(path.join(OUT, 'index.json'), `${JSON.stringify({ kubectl: version, cases: index }, null, 2)}\n`);
    // the fixtures live under src/, which the repository's formatter checks
    execFileSync(path.join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', OUT], { stdio: 'ignore' });
    server.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
