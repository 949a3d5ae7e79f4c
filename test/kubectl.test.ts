/**
 * The real kubectl (v1.32 at /usr/bin/kubectl) against a real `k8ts server` started by the test.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  KUBECTL,
  kubectl,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';

const have = requireTool(
  KUBECTL,
  'install kubectl (e.g. the kubernetes-client package or the Google Cloud SDK)',
);

const DEPLOY = (image: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 8080, name: http}]
        env: [{name: A, value: "1"}${extra}]
`;

describe.runIf(have)('kubectl against k8ts server', () => {
  let srv: RunningServer;
  let tmp: string;
  beforeAll(async () => {
    srv = await startServer();
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-kubectl-'));
  });
  afterAll(async () => {
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
    if (tmp) cleanup(tmp);
  });

  const file = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };

  it('version, api-resources, cluster-info', async () => {
    const v = JSON.parse(await kubectlOk(srv, ['version', '-o', 'json']));
    expect(v.serverVersion.major).toBe('1');
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const ar = await kubectlOk(srv, ['api-resources']);
    for (const line of [
      /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/m,
      /^pods\s+po\s+v1\s+true\s+Pod/m,
      /^leases\s+coordination.k8s.io\/v1\s+true\s+Lease/m,
    ])
      expect(ar).toMatch(line);
    const ci = await kubectlOk(srv, ['cluster-info']);
    expect(ci).toContain(`Kubernetes control plane is running at ${srv.url}`);
  });

  it('creates, and applies client-side twice with a change', async () => {
    const p = file('d.yaml', DEPLOY('nginx:1.25'));
    expect(await kubectlOk(srv, ['apply', '-f', p])).toContain('deployment.apps/web created');
    expect(await kubectlOk(srv, ['apply', '-f', p])).toContain('deployment.apps/web unchanged');
    writeFileSync(p, DEPLOY('nginx:1.26', ', {name: B, value: "2"}'));
    expect(await kubectlOk(srv, ['apply', '-f', p])).toContain('deployment.apps/web configured');
    const d = JSON.parse(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'json']));
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    expect(d.spec.template.spec.containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(d.metadata.generation).toBe(2);
    // Removing B from the manifest removes it from the object (three-way merge via last-applied).
    writeFileSync(p, DEPLOY('nginx:1.26'));
    await kubectlOk(srv, ['apply', '-f', p]);
    const d2 = JSON.parse(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'json']));
    expect(d2.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    // Defaults were applied by the server.
    expect(d2.spec.strategy.type).toBe('RollingUpdate');
    expect(d2.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  it('server-side apply: conflict with another manager, then --force-conflicts', async () => {
    const p = file(
      'ssa.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata: {name: ssa}
data: {a: "1", b: "2"}
`,
    );
    expect(await kubectlOk(srv, ['apply', '--server-side', '-f', p])).toContain(
      'configmap/ssa serverside-applied',
    );
    await kubectlOk(srv, ['patch', 'configmap', 'ssa', '--type=merge', '-p', '{"data":{"a":"changed"}}']);
    const r = await kubectl(srv, ['apply', '--server-side', '-f', p]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/conflict/i);
    expect(r.stderr).toContain('.data.a');
    const forced = await kubectlOk(srv, ['apply', '--server-side', '--force-conflicts', '-f', p]);
    expect(forced).toContain('serverside-applied');
    const cm = JSON.parse(await kubectlOk(srv, ['get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields']));
    expect(cm.data).toEqual({ a: '1', b: '2' });
    expect(
      cm.metadata.managedFields.some(
        (m: { manager: string; operation: string }) => m.manager === 'kubectl' && m.operation === 'Apply',
      ),
    ).toBe(true);
  });

  it('get: -o wide, yaml, json, jsonpath, -l, -A, --field-selector', async () => {
    const wide = await kubectlOk(srv, ['get', 'deploy', '-o', 'wide']);
    expect(wide).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/m);
    expect(wide).toMatch(/^web\s+\d+\/2\s+\d+\s+\d+\s+\S+\s+web\s+nginx:1.26\s+app=web/m);
    const y = await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'yaml']);
    expect(y).toContain('kind: Deployment');
    expect(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
    expect(await kubectlOk(srv, ['get', 'deploy', '-l', 'tier=front', '-o', 'name'])).toBe(
      'deployment.apps/web\n',
    );
    expect(await kubectlOk(srv, ['get', 'deploy', '-l', 'tier in (back)', '-o', 'name'])).toBe('');
    const all = await kubectlOk(srv, ['get', 'svc', '-A']);
    expect(all).toMatch(/^default\s+kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP/m);
    const ns = await kubectlOk(srv, [
      'get',
      'ns',
      '--field-selector',
      'metadata.name=kube-system',
      '-o',
      'name',
    ]);
    expect(ns).toBe('namespace/kube-system\n');
    const bad = await kubectl(srv, ['get', 'pods', '--field-selector', 'spec.bogus=1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field label not supported');
  });

  it('get -w prints changes as they happen', async () => {
    await kubectlOk(srv, ['create', 'configmap', 'watched', '--from-literal=k=v']);
    const watch = kubectl(
      srv,
      ['get', 'cm', 'watched', '-w', '--output-watch-events', '--request-timeout=4s'],
      { timeoutMs: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    await kubectlOk(srv, ['label', 'cm', 'watched', 'seen=yes']);
    const out = await watch;
    expect(out.stdout).toMatch(/ADDED\s+watched/);
    expect(out.stdout).toMatch(/MODIFIED\s+watched/);
  });

  it('describe, label, annotate, scale', async () => {
    await kubectlOk(srv, ['label', 'deploy', 'web', 'team=net']);
    await kubectlOk(srv, ['annotate', 'deploy', 'web', 'note=hello']);
    await kubectlOk(srv, ['scale', 'deploy', 'web', '--replicas=5']);
    const d = JSON.parse(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'json']));
    expect(d.metadata.labels.team).toBe('net');
    expect(d.metadata.annotations.note).toBe('hello');
    expect(d.spec.replicas).toBe(5);
    const desc = await kubectlOk(srv, ['describe', 'deploy', 'web']);
    expect(desc).toMatch(/^Name:\s+web$/m);
    expect(desc).toMatch(/^Replicas:\s+5 desired/m);
    expect(desc).toMatch(/team=net/);
    const overwrite = await kubectl(srv, ['label', 'deploy', 'web', 'team=other']);
    expect(overwrite.code).not.toBe(0);
    expect(overwrite.stderr).toContain("'team' already has a value (net)");
  });

  it('patch: strategic, merge, json', async () => {
    await kubectlOk(srv, [
      'patch',
      'deploy',
      'web',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}',
    ]);
    let d = JSON.parse(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'json']));
    expect(d.spec.template.spec.containers).toHaveLength(1);
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.27');
    expect(d.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    await kubectlOk(srv, [
      'patch',
      'deploy',
      'web',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"team":null}}}',
    ]);
    d = JSON.parse(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'json']));
    expect(d.metadata.labels.team).toBeUndefined();
    await kubectlOk(srv, [
      'patch',
      'deploy',
      'web',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":3}]',
    ]);
    expect(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
    const failing = await kubectl(srv, [
      'patch',
      'deploy',
      'web',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/spec/paused","value":true}]',
    ]);
    expect(failing.code).not.toBe(0);
    expect(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
  });

  it('edit with EDITOR set to a script', async () => {
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/replicas: 3/replicas: 4/" "$1"\n');
    chmodSync(editor, 0o755);
    const out = await kubectlOk(srv, ['edit', 'deploy', 'web'], {
      env: { EDITOR: editor, KUBE_EDITOR: editor },
    });
    expect(out).toContain('deployment.apps/web edited');
    expect(await kubectlOk(srv, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('4');
  });

  it('explain uses the OpenAPI documents', async () => {
    const out = await kubectlOk(srv, ['explain', 'deployment.spec.template.spec.containers.ports']);
    expect(out).toContain('containerPort');
    expect(out).toMatch(/FIELD:\s+ports/);
  });

  it('services get a ClusterIP and NodePort; conflicts are refused', async () => {
    await kubectlOk(srv, ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080']);
    const svc = JSON.parse(await kubectlOk(srv, ['get', 'svc', 'np', '-o', 'json']));
    expect(svc.spec.clusterIP).toMatch(/^10\.43\./);
    expect(svc.spec.ports[0].nodePort).toBe(30080);
    const dup = await kubectl(srv, [
      'create',
      'service',
      'nodeport',
      'np2',
      '--tcp=80:8080',
      '--node-port=30080',
    ]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('provided port is already allocated');
    await kubectlOk(srv, ['delete', 'svc', 'np']);
    await kubectlOk(srv, ['create', 'service', 'nodeport', 'np3', '--tcp=80:8080', '--node-port=30080']);
  });

  it('delete with --cascade=foreground --wait', async () => {
    const out = await kubectlOk(srv, [
      'delete',
      'deploy',
      'web',
      '--cascade=foreground',
      '--wait',
      '--timeout=20s',
    ]);
    expect(out).toContain('deployment.apps "web" deleted');
    const r = await kubectl(srv, ['get', 'deploy', 'web']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('deployments.apps "web" not found');
  });
});
