/**
 * The kubelet scenarios, run in rootless mode (kubelet-rootless.test.ts) and with the node inside
 * a network namespace (kubelet-netns.test.ts): the same manifests, the same expectations.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { type KubeletCluster, waitFor } from './kubelet-cluster.js';
import { KUBECTL } from './server.js';

type KObj = Record<string, any>;

const NODE = process.execPath;
/** A small HTTP server answering its pod name, bound to the pod IP (rootless pods share a network). */
const SERVER_JS =
  "require('http').createServer((q,s)=>s.end(process.env.POD_NAME)).listen(8080, process.env.POD_IP, ()=>console.log('listening on '+process.env.POD_IP))";

const podEnv = [
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
];

function httpContainer(extra: KObj = {}): KObj {
  return {
    name: 'web',
    image: 'node',
    command: [NODE, '-e', SERVER_JS],
    env: podEnv,
    ports: [{ containerPort: 8080, name: 'http' }],
    readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
    ...extra,
  };
}

async function getJson(c: KubeletCluster, args: string[]): Promise<KObj> {
  return JSON.parse(await c.kubectlOk([...args, '-o', 'json']));
}

const ready = (p: KObj) => p.status?.conditions?.find((x: KObj) => x.type === 'Ready')?.status === 'True';

/** The PID of the container's wrapper from the runtime state, and its child (the command). */
function containerPids(
  c: KubeletCluster,
  podName: string,
  container: string,
): { wrapper: number; child: number } | undefined {
  const dir = join(c.agentDir, 'runtime');
  for (const id of readdirSync(dir)) {
    try {
      const s = JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8'));
      if (s.info.podName !== podName || s.info.name !== container) continue;
      const pid: number = s.info.pid;
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      if (kids[0]) return { wrapper: pid, child: Number(kids[0]) };
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function applyPod(c: KubeletCluster, pod: KObj): Promise<void> {
  await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod }));
}

async function waitPod(
  c: KubeletCluster,
  name: string,
  what: string,
  pred: (p: KObj) => boolean,
  timeoutMs = 40_000,
): Promise<KObj> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const p = await getJson(c, ['get', 'pod', name]);
      return pred(p) ? p : undefined;
    },
    timeoutMs,
  );
}

/** Register the scenarios; `cluster()` returns the started cluster. */
export function kubeletScenarios(cluster: () => KubeletCluster): void {
  it('registers the node Ready with capacity, addresses, lease and podCIDR', async () => {
    const c = cluster();
    const node = await waitFor('podCIDR', async () => {
      const n = await getJson(c, ['get', 'node', c.nodeName]);
      return n.spec?.podCIDR ? n : undefined;
    });
    expect(node.status.conditions.find((x: KObj) => x.type === 'Ready').status).toBe('True');
    expect(node.status.capacity.pods).toBe('110');
    // The kubelet API really listens there (the logs/exec scenario goes through it); tests use --kubelet-port 0.
    expect(node.status.daemonEndpoints.kubeletEndpoint.Port).toBeGreaterThan(0);
    expect(node.metadata.labels['kubernetes.io/hostname']).toBe(c.nodeName);
    const lease = await getJson(c, ['get', 'lease', '-n', 'kube-node-lease', c.nodeName]);
    expect(lease.spec.holderIdentity).toBe(c.nodeName);
  }, 60_000);

  it('a Deployment of 3 HTTP servers reaches 3/3 Ready and every pod IP answers', async () => {
    const c = cluster();
    await c.kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [httpContainer()] } },
        },
      }),
    );
    const pods = await waitFor('3 ready pods', async () => {
      const l = await getJson(c, ['get', 'pods', '-l', 'app=web']);
      return l.items.length === 3 && l.items.every(ready) ? (l.items as KObj[]) : undefined;
    });
    const ips = pods.map((p) => p.status.podIP as string);
    expect(new Set(ips).size).toBe(3);
    for (const p of pods) {
      const r = await c.curl(`http://${p.status.podIP}:8080/`);
      expect(r.stdout).toBe(p.metadata.name);
    }
    const table = await c.kubectlOk(['get', 'pods', '-l', 'app=web', '--no-headers']);
    expect(
      table
        .trim()
        .split('\n')
        .filter((l) => /1\/1\s+Running\s+0/.test(l)).length,
    ).toBe(3);
    const dep = await getJson(c, ['get', 'deployment', 'web']);
    expect(dep.status.readyReplicas).toBe(3);
    // The log of the current instance, in the CRI format.
    const p0 = pods[0]!;
    const log = readFileSync(
      join(c.agentDir, 'pods', `default_${p0.metadata.name}_${p0.metadata.uid}`, 'web', '0.log'),
      'utf8',
    );
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F listening on /);
  }, 90_000);

  it('kubectl logs, exec and port-forward reach the pods through the API server and the kubelet API', async () => {
    const c = cluster();
    const pods = (await getJson(c, ['get', 'pods', '-l', 'app=web'])).items as KObj[];
    const p0 = pods[0]!;
    const name: string = p0.metadata.name;
    expect(await c.kubectlOk(['logs', name])).toContain(`listening on ${p0.status.podIP}`);
    expect(await c.kubectlOk(['logs', `deployment/web`, '--tail=1'])).toMatch(/^listening on /);
    const resolv = await c.kubectlOk(['exec', name, '--', 'cat', '/etc/resolv.conf']);
    if (c.mode === 'netns') {
      // The pod's own resolv.conf (ClusterFirst), seen from inside its mount namespace.
      expect(resolv).toContain('nameserver 10.43.0.10');
      expect(resolv).toContain('search default.svc.cluster.local svc.cluster.local cluster.local');
    } else {
      expect(resolv).toMatch(/nameserver /);
    }
    const failed = await c.kubectl(['exec', name, '--', 'sh', '-c', 'echo out; exit 3']);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toBe('out\n');
    // port-forward: kubectl listens on a local port, curl through it reaches the pod's server.
    const local = 20_000 + Math.floor(Math.random() * 20_000);
    const kubeconfig = join(c.dataDir, 'kubeconfig.yaml');
    const r = await c.exec([
      'sh',
      '-c',
      `KUBECONFIG=${kubeconfig} kubectl port-forward pod/${name} ${local}:8080 >/dev/null 2>&1 & pf=$!; ` +
        `for i in $(seq 50); do out=$(curl -s -m 2 http://127.0.0.1:${local}/) && [ -n "$out" ] && break; sleep 0.2; done; ` +
        `kill $pf; echo "$out"`,
    ]);
    expect(r.stdout.trim()).toBe(name);
  }, 90_000);

  it('kubectl logs -f follows a running process to its end', async () => {
    const c = cluster();
    await applyPod(c, {
      metadata: { name: 'ticker' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo one; sleep 2; echo two; sleep 1; echo three; exit 0'],
          },
        ],
      },
    });
    await waitPod(c, 'ticker', 'running', (x) => x.status?.phase === 'Running');
    // Started while the process runs: the later lines arrive through the follow, then it ends.
    const r = await c.kubectl(['logs', '-f', 'ticker']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('one\ntwo\nthree\n');
    const done = await waitPod(c, 'ticker', 'succeeded', (x) => x.status?.phase === 'Succeeded');
    expect(done.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
    expect(done.status.containerStatuses[0].state.terminated.message).toBeUndefined();

    // terminationMessagePolicy FallbackToLogsOnError: a failed container's log tail is its message.
    await applyPod(c, {
      metadata: { name: 'fails' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'seq 1 100; echo "bad thing" >&2; exit 2'],
            terminationMessagePolicy: 'FallbackToLogsOnError',
          },
        ],
      },
    });
    const failed = await waitPod(c, 'fails', 'failed', (x) => x.status?.phase === 'Failed');
    const term = failed.status.containerStatuses[0].state.terminated;
    expect(term.exitCode).toBe(2);
    const lines = (term.message as string).split('\n');
    expect(lines.length).toBe(81); // the last 80 lines, and the empty string after the final newline
    expect(lines.slice(-3)).toEqual(['100', 'bad thing', '']);
    expect(lines[0]).toBe('22');
  }, 60_000);

  it('kubectl exec -it and attach -it get a terminal that follows resizes', async () => {
    const c = cluster();
    const pod = ((await getJson(c, ['get', 'pods', '-l', 'app=web'])).items as KObj[])[0]!;
    // kubectl needs a terminal for -it: it runs under script(1) too, on a 100x40 pty; it sends
    // that size to the kubelet, which sets it on the pod's pty (seen by `stty size` inside).
    const onTerminal = (name: string, size: string, kubectlArgs: string, input: string) => {
      const file = join(c.dataDir, `${name}.sh`);
      writeFileSync(file, `stty ${size}\nexec ${KUBECTL} ${kubectlArgs}\n`);
      return c.exec([
        'sh',
        '-c',
        `(sleep 3; printf '${input}\\r'; sleep 1) | KUBECONFIG=${join(c.dataDir, 'kubeconfig.yaml')} script -qfec "sh ${file}" /dev/null`,
      ]);
    };
    const remote =
      'tty; read -r line; echo "got=$line"; for i in $(seq 50); do s=$(stty size); [ "$s" = "40 100" ] && break; sleep 0.1; done; echo "size=$s"; exit 3';
    const execIt = await onTerminal(
      'exec-it',
      'rows 40 cols 100',
      `exec -it ${pod.metadata.name} -- sh -c '${remote}'`,
      'hello',
    );
    expect(execIt.stdout).toMatch(/\/dev\/pts\/\d+\r\n/);
    expect(execIt.stdout).toContain('got=hello\r\n');
    expect(execIt.stdout).toContain('size=40 100\r\n');
    expect(execIt.code).toBe(3);

    await applyPod(c, {
      metadata: { name: 'console' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            stdin: true,
            tty: true,
            command: ['sh', '-c', 'read -r line; echo "echo=$line"; echo "size=$(stty size)"; exit 0'],
          },
        ],
      },
    });
    await waitPod(c, 'console', 'running', (x) => x.status?.phase === 'Running');
    const attach = await onTerminal('attach-it', 'rows 30 cols 90', 'attach -it console', 'hi');
    expect(attach.stdout).toContain('echo=hi\r\n');
    expect(attach.stdout).toContain('size=30 90\r\n');
    expect(attach.code).toBe(0);
    // The terminal's output is the container's log too.
    expect(await c.kubectlOk(['logs', 'console'])).toContain('echo=hi');
  }, 90_000);

  it('memory and CPU limits: a cgroup per container as root (OOMKilled past the limit), a warning rootless', async () => {
    const c = cluster();
    const limits = { limits: { memory: '100Mi', cpu: '250m' }, requests: { cpu: '100m' } };
    await applyPod(c, {
      metadata: { name: 'limited' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: limits }],
      },
    });
    await waitPod(c, 'limited', 'running', (x) => x.status?.phase === 'Running');
    if (c.mode !== 'netns') {
      const ev = await waitFor('LimitsNotEnforced event', async () => {
        const out = await c.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=limited']);
        return out.includes('LimitsNotEnforced') ? out : undefined;
      });
      expect(ev).toContain('cpu/memory limits are not enforced');
      await c.kubectlOk(['delete', 'pod', 'limited', '--wait=true']);
      return;
    }
    // Root: the wrapper (and so the command) sits in the container's own cgroups with the limits.
    const pids = await waitFor('limited runs', async () => containerPids(c, 'limited', 'main'));
    const groups = readFileSync(`/proc/${pids.child}/cgroup`, 'utf8');
    const path = (ctl: string) => new RegExp(`^\\d+:[^:]*\\b${ctl}\\b[^:]*:(.*)$`, 'm').exec(groups)?.[1];
    const memDir = `/sys/fs/cgroup/memory${path('memory')}`;
    const cpuDir = `/sys/fs/cgroup/cpu${path('cpu')}`;
    expect(memDir).toMatch(new RegExp(`/k8ts-${c.nodeName}/pod[0-9a-f-]+/main$`));
    expect(readFileSync(`${memDir}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(100 * 2 ** 20));
    expect(readFileSync(`${cpuDir}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('25000');
    expect(readFileSync(`${cpuDir}/cpu.shares`, 'utf8').trim()).toBe('102');
    await c.kubectlOk(['delete', 'pod', 'limited', '--wait=true']);
    await waitFor('cgroups removed', async () =>
      !existsSync(memDir) && !existsSync(cpuDir) && !existsSync(dirname(memDir)) ? true : undefined,
    );

    await applyPod(c, {
      metadata: { name: 'hog' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'node',
            command: [NODE, '-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));'],
            resources: { limits: { memory: '100Mi' } },
          },
        ],
      },
    });
    const hog = await waitPod(c, 'hog', 'failed', (x) => x.status?.phase === 'Failed');
    expect(hog.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    await c.kubectlOk(['delete', 'pod', 'hog', '--wait=true']);
  }, 90_000);

  it('inside a pod, service names resolve through the cluster DNS and the search path', async () => {
    const c = cluster();
    if (c.mode !== 'netns') return; // rootless pods use the host resolver (no cluster DNS IP to reach)
    await c.kubectlOk(['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    const svc = await getJson(c, ['get', 'service', 'web']);
    const pod = ((await getJson(c, ['get', 'pods', '-l', 'app=web'])).items as KObj[])[0]!;
    for (const name of ['web', 'web.default', 'web.default.svc.cluster.local']) {
      const out = await waitFor(`getent hosts ${name} in a pod`, async () => {
        const r = await c.kubectl(['exec', pod.metadata.name, '--', 'getent', 'hosts', name]);
        return r.code === 0 ? r.stdout : undefined;
      });
      expect(out.split(/\s+/)[0]).toBe(svc.spec.clusterIP);
    }
    const k = await c.kubectlOk(['exec', pod.metadata.name, '--', 'getent', 'hosts', 'kubernetes.default']);
    expect(k.split(/\s+/)[0]).toBe('10.43.0.1');
    await c.kubectlOk(['delete', 'service', 'web']);
  }, 90_000);

  it('a killed process is restarted with restartCount 1 and lastState 137', async () => {
    const c = cluster();
    await applyPod(c, { metadata: { name: 'crash' }, spec: { containers: [httpContainer()] } });
    await waitPod(c, 'crash', 'ready', ready);
    const pids = containerPids(c, 'crash', 'web');
    expect(pids).toBeDefined();
    process.kill(pids!.child, 'SIGKILL');
    const p = await waitPod(
      c,
      'crash',
      'restarted and ready',
      (x) => x.status?.containerStatuses?.[0]?.restartCount === 1 && ready(x),
    );
    expect(p.status.containerStatuses[0].lastState.terminated).toMatchObject({
      exitCode: 137,
      reason: 'Error',
    });
    const r = await c.curl(`http://${p.status.podIP}:8080/`);
    expect(r.stdout).toBe('crash');
  }, 60_000);

  it('a failing liveness probe restarts the container', async () => {
    const c = cluster();
    await applyPod(c, {
      metadata: { name: 'live' },
      spec: {
        containers: [
          httpContainer({
            livenessProbe: { httpGet: { path: '/', port: 9 }, periodSeconds: 1, failureThreshold: 2 },
          }),
        ],
      },
    });
    await waitPod(c, 'live', 'restarted', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    const ev = await c.kubectlOk([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=live',
      '-o',
      'json',
    ]);
    expect(ev).toContain('Liveness probe failed');
  }, 60_000);

  it('a failing readiness probe makes the pod unready without a restart', async () => {
    const c = cluster();
    await applyPod(c, {
      metadata: { name: 'unready' },
      spec: { containers: [httpContainer({ readinessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1 } })] },
    });
    await waitPod(
      c,
      'unready',
      'running',
      (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined,
    );
    await new Promise((r) => setTimeout(r, 4000));
    const p = await getJson(c, ['get', 'pod', 'unready']);
    expect(ready(p)).toBe(false);
    expect(p.status.phase).toBe('Running');
    expect(p.status.containerStatuses[0]).toMatchObject({ ready: false, restartCount: 0 });
    expect(p.status.conditions.find((x: KObj) => x.type === 'ContainersReady').reason).toBe(
      'ContainersNotReady',
    );
  }, 60_000);

  it('deleting a pod runs preStop, then SIGTERM, then removes it', async () => {
    const c = cluster();
    const dir = join(c.dataDir, 'hooks');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'events'), '');
    await applyPod(c, {
      metadata: { name: 'graceful' },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: [
              'sh',
              '-c',
              'trap "echo term >> $D/events; exit 0" TERM; echo started >> $D/events; while :; do sleep 0.2; done',
            ],
            env: [{ name: 'D', value: dir }],
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> $D/events'] } } },
          },
        ],
      },
    });
    await waitPod(c, 'graceful', 'running', (x) => x.status?.phase === 'Running');
    await waitFor('started', async () =>
      readFileSync(join(dir, 'events'), 'utf8').includes('started') ? true : undefined,
    );
    await c.kubectlOk(['delete', 'pod', 'graceful', '--wait=true', '--timeout=30s']);
    expect(readFileSync(join(dir, 'events'), 'utf8')).toBe('started\nprestop\nterm\n');
    expect(containerPids(c, 'graceful', 'main')).toBeUndefined();
  }, 60_000);

  it('init containers, env from ConfigMap/Secret, volumes and resolv.conf reach the process', async () => {
    const c = cluster();
    await c.kubectlOk(['create', 'configmap', 'cfg', '--from-literal=greeting=hello']);
    await c.kubectlOk(['create', 'secret', 'generic', 'sec', '--from-literal=token=s3cret']);
    const root = c.mode === 'netns';
    const script = root
      ? 'cat /etc/resolv.conf; echo cfg=$(cat /etc/cfg/greeting); echo sec=$(cat /etc/sec/tok); stat -c %a /etc/sec/tok; echo ns=$(cat /etc/info/ns); cat /work/init-was-here; echo env=$GREETING/$TOKEN; sleep 3600'
      : 'cat $K8TS_RESOLV_CONF; echo cfg=$(cat $K8TS_VOLUME_CFG/greeting); echo sec=$(cat $K8TS_VOLUME_SEC/tok); stat -c %a $K8TS_VOLUME_SEC/tok; echo ns=$(cat $K8TS_VOLUME_INFO/ns); cat $K8TS_VOLUME_WORK/init-was-here; echo env=$GREETING/$TOKEN; sleep 3600';
    const initScript = root
      ? 'echo init-ok > /work/init-was-here'
      : 'echo init-ok > $K8TS_VOLUME_WORK/init-was-here';
    await applyPod(c, {
      metadata: { name: 'wired', namespace: 'default' },
      spec: {
        volumes: [
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'sec', secret: { secretName: 'sec', items: [{ key: 'token', path: 'tok', mode: 0o400 }] } },
          {
            name: 'info',
            downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] },
          },
          { name: 'work', emptyDir: {} },
        ],
        initContainers: [
          {
            name: 'init',
            image: 'busybox',
            command: ['sh', '-c', initScript],
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', script],
            env: [
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
            ],
            volumeMounts: [
              { name: 'cfg', mountPath: '/etc/cfg' },
              { name: 'sec', mountPath: '/etc/sec', readOnly: true },
              { name: 'info', mountPath: '/etc/info' },
              { name: 'work', mountPath: '/work' },
            ],
          },
        ],
      },
    });
    const p = await waitPod(c, 'wired', 'running', (x) => x.status?.phase === 'Running');
    expect(p.status.initContainerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    const logPath = join(c.agentDir, 'pods', `default_wired_${p.metadata.uid}`, 'main', '0.log');
    const text = await waitFor('log', async () => {
      try {
        const t = readFileSync(logPath, 'utf8');
        return t.includes('env=') ? t : undefined;
      } catch {
        return undefined;
      }
    });
    const lines = text
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(3).join(' '));
    // ClusterFirst: the cluster search path first (the host's search domains follow).
    expect(lines.find((l) => l.startsWith('search '))).toMatch(
      /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( |$)/,
    );
    expect(lines).toContain('nameserver 10.43.0.10');
    expect(lines).toContain('options ndots:5');
    expect(lines).toContain('cfg=hello');
    expect(lines).toContain('sec=s3cret');
    expect(lines).toContain('400');
    expect(lines).toContain('ns=default');
    expect(lines).toContain('init-ok');
    expect(lines).toContain('env=hello/s3cret');
  }, 60_000);

  it("a changed ConfigMap reaches the running pod's volume (same directory, new file content)", async () => {
    const c = cluster();
    await c.kubectlOk(['create', 'configmap', 'live-cfg', '--from-literal=color=red']);
    await applyPod(c, {
      metadata: { name: 'reader' },
      spec: {
        volumes: [{ name: 'cfg', configMap: { name: 'live-cfg' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'cfg', mountPath: '/etc/live-cfg' }],
          },
        ],
      },
    });
    await waitPod(c, 'reader', 'running', (x) => x.status?.phase === 'Running');
    // Root: the bind mount inside the pod's mount namespace; rootless: the directory from env.
    const file = c.mode === 'netns' ? '/etc/live-cfg/color' : '$K8TS_VOLUME_CFG/color';
    const read = async () => (await c.kubectl(['exec', 'reader', '--', 'sh', '-c', `cat ${file}`])).stdout;
    expect(await read()).toBe('red');
    await c.kubectlOk(['patch', 'configmap', 'live-cfg', '-p', '{"data":{"color":"blue","shape":"round"}}']);
    await waitFor('the new value in the pod', async () => ((await read()) === 'blue' ? true : undefined));
    const shape = await c.kubectl([
      'exec',
      'reader',
      '--',
      'sh',
      '-c',
      `cat ${file.replace('color', 'shape')}`,
    ]);
    expect(shape.stdout).toBe('round');
    await c.kubectlOk(['delete', 'pod', 'reader', '--wait=true']);
  }, 60_000);

  it('restarting the kubelet keeps the pods running with their IPs', async () => {
    const c = cluster();
    const before = (await getJson(c, ['get', 'pods', '-l', 'app=web'])).items as KObj[];
    expect(before.length).toBe(3);
    const key = (p: KObj) =>
      `${p.metadata.name} ${p.status.podIP} ${p.status.containerStatuses[0].containerID} ${p.status.containerStatuses[0].restartCount}`;
    const want = before.map(key).sort();
    await c.restart();
    const after = await waitFor('3 ready pods after restart', async () => {
      const l = await getJson(c, ['get', 'pods', '-l', 'app=web']);
      return l.items.length === 3 && l.items.every(ready) ? (l.items as KObj[]) : undefined;
    });
    expect(after.map(key).sort()).toEqual(want);
    for (const p of after)
      expect((await c.curl(`http://${p.status.podIP}:8080/`)).stdout).toBe(p.metadata.name);
    // A pod created after the restart gets an address no running pod has.
    await applyPod(c, { metadata: { name: 'after-restart' }, spec: { containers: [httpContainer()] } });
    const n = await waitPod(c, 'after-restart', 'ready', ready);
    expect(before.map((p) => p.status.podIP)).not.toContain(n.status.podIP);
  }, 90_000);
}
