/**
 * The Job, TTL-after-finished and CronJob controllers of a real `k8ts server`, driven with the real
 * kubectl. There is no kubelet: the test is a fake one. It binds unbound pods to a Node it created
 * (pods/binding; if the server's scheduler binds first the conflict is harmless), then finishes
 * each bound pod as its Job's mode says: Succeeded (exit 0), Failed (exit 1), or held Running until
 * the test lets it go; and it completes graceful deletes, as a kubelet would.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type TestClient } from './helpers/rest.js';
import {
  cleanup,
  KUBECTL,
  kubectlOk,
  type RunningServer,
  requireTool,
  startServer,
} from './helpers/server.js';
import { waitFor } from './helpers/wait.js';

const have = requireTool(KUBECTL, 'install kubectl (e.g. the kubernetes-client package)');

const NS = 'default';
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const FINALIZER = 'batch.kubernetes.io/job-tracking';

const seconds = () => `${new Date().toISOString().slice(0, 19)}Z`;

type Mode = 'succeed' | 'fail' | 'hold';

/** The fake kubelet: one pass every 150 ms, passes never overlap. */
class FakeKubelet {
  /** Mode per Job name (pods of other Jobs succeed). */
  readonly modes = new Map<string, Mode>();
  private readonly api: TestClient;
  private readonly node: string;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(api: TestClient, node: string) {
    this.api = api;
    this.node = node;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.pass()
        .catch((e) => console.error('fake kubelet:', e))
        .finally(() => {
          this.busy = false;
        });
    }, 150);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async pass(): Promise<void> {
    const pods = (await this.api.json('GET', `/api/v1/namespaces/${NS}/pods`)).items as any[];
    for (const p of pods) {
      const name = p.metadata.name;
      if (p.metadata.deletionTimestamp) {
        if (p.spec.nodeName) {
          await this.api.request('DELETE', `/api/v1/namespaces/${NS}/pods/${name}`, {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            gracePeriodSeconds: 0,
          });
        }
        continue;
      }
      if (!p.spec.nodeName) {
        await this.api.request('POST', `/api/v1/namespaces/${NS}/pods/${name}/binding`, {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace: NS },
          target: { apiVersion: 'v1', kind: 'Node', name: this.node },
        });
        continue;
      }
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const mode = this.modes.get(p.metadata.labels?.[JOB_NAME_LABEL]) ?? 'succeed';
      if (mode === 'hold' && phase === 'Running') continue;
      await this.api.request(
        'PATCH',
        `/api/v1/namespaces/${NS}/pods/${name}/status`,
        { status: podStatus(p, mode) },
        { 'content-type': 'application/merge-patch+json' },
      );
    }
  }
}

function podStatus(pod: any, mode: Mode): object {
  const now = seconds();
  const c = pod.spec.containers[0];
  const base = { name: c.name, image: c.image, imageID: '', restartCount: 0 };
  if (mode === 'hold') {
    return {
      phase: 'Running',
      startTime: now,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: [{ ...base, ready: true, started: true, state: { running: { startedAt: now } } }],
    };
  }
  const exitCode = mode === 'fail' ? 1 : 0;
  return {
    phase: mode === 'fail' ? 'Failed' : 'Succeeded',
    startTime: now,
    conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'PodCompleted' }],
    containerStatuses: [
      {
        ...base,
        ready: false,
        started: false,
        state: {
          terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: now, finishedAt: now },
        },
      },
    ],
  };
}

describe.runIf(have)('Job and CronJob controllers', () => {
  let srv: RunningServer;
  let api: TestClient;
  let kubelet: FakeKubelet;
  const k = (...args: string[]) => kubectlOk(srv, args);
  const getJob = (name: string) => api.json('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`);
  const podsOf = async (job: string) =>
    (
      await api.json(
        'GET',
        `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`${JOB_NAME_LABEL}=${job}`)}`,
      )
    ).items as any[];
  const condition = (obj: any, type: string) =>
    (obj.status?.conditions ?? []).find((c: any) => c.type === type && c.status === 'True');

  beforeAll(async () => {
    srv = await startServer();
    api = adminClient(srv);
    const node = await api.json('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    });
    expect(node.kind).toBe('Node');
    kubelet = new FakeKubelet(api, 'node-1');
    kubelet.start();
    // The CronJob goes first so that its one-minute tick passes while the Job tests run.
    await k(
      'create',
      'cronjob',
      'c',
      '--image=busybox',
      '--schedule=*/1 * * * *',
      '--',
      'sh',
      '-c',
      'exit 0',
    );
  }, 60_000);

  afterAll(async () => {
    kubelet?.stop();
    api?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('kubectl create job runs a pod to completion; kubectl wait sees Complete', async () => {
    await k('create', 'job', 'pi', '--image=busybox', '--', 'sh', '-c', 'exit 0');
    await k('wait', '--for=condition=complete', 'job/pi', '--timeout=60s');
    const job = await getJob('pi');
    expect(job.status.succeeded).toBe(1);
    expect(job.status.active ?? 0).toBe(0);
    expect(job.status.startTime).toBeTruthy();
    expect(job.status.completionTime).toBeTruthy();
    expect(condition(job, 'SuccessCriteriaMet')).toBeTruthy();
    expect(condition(job, 'Complete')).toMatchObject({ reason: 'CompletionsReached' });
    const pods = await podsOf('pi');
    expect(pods).toHaveLength(1);
    const pod = pods[0];
    expect(pod.metadata.name).toMatch(/^pi-[a-z0-9]{5}$/);
    expect(pod.metadata.labels['batch.kubernetes.io/controller-uid']).toBe(job.metadata.uid);
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'Job', name: 'pi', controller: true });
    // Counted, so the tracking finalizer is gone.
    await waitFor('finalizer removed', async () => {
      const [p] = await podsOf('pi');
      return (p.metadata.finalizers ?? []).includes(FINALIZER) ? undefined : true;
    });
    const table = await k('get', 'job', 'pi');
    expect(table).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE/);
    expect(table).toMatch(/\npi\s+Complete\s+1\/1\s/);
  });

  it('completions 3 with parallelism 2 runs 2 pods at a time, 3 in all', async () => {
    kubelet.modes.set('par', 'hold');
    const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: par}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: w, image: busybox, command: [sh, -c, 'exit 0']}]
`;
    await kubectlOk(srv, ['apply', '-f', '-'], { stdin: yaml });
    await waitFor('2 running pods', async () => {
      const pods = await podsOf('par');
      return pods.filter((p) => p.status?.phase === 'Running').length === 2 ? true : undefined;
    });
    const job = await waitFor('status.active 2 and ready 2', async () => {
      const j = await getJob('par');
      return j.status?.active === 2 && j.status?.ready === 2 ? j : undefined;
    });
    expect(job.status.succeeded ?? 0).toBe(0);
    expect(await podsOf('par')).toHaveLength(2);
    kubelet.modes.set('par', 'succeed');
    await k('wait', '--for=condition=complete', 'job/par', '--timeout=60s');
    const done = await getJob('par');
    expect(done.status.succeeded).toBe(3);
    const pods = await podsOf('par');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.status.phase === 'Succeeded')).toBe(true);
  });

  it('an Indexed Job gives each pod its completion index', async () => {
    const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: idx}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: w, image: busybox}]
`;
    await kubectlOk(srv, ['apply', '-f', '-'], { stdin: yaml });
    await k('wait', '--for=condition=complete', 'job/idx', '--timeout=60s');
    const job = await getJob('idx');
    expect(job.status.completedIndexes).toBe('0-2');
    expect(job.status.succeeded).toBe(3);
    const pods = await podsOf('idx');
    const indexes = pods
      .map((p) => p.metadata.annotations['batch.kubernetes.io/job-completion-index'])
      .sort();
    expect(indexes).toEqual(['0', '1', '2']);
    for (const p of pods) {
      const i = p.metadata.annotations['batch.kubernetes.io/job-completion-index'];
      expect(p.metadata.name).toMatch(new RegExp(`^idx-${i}-[a-z0-9]{5}$`));
      expect(p.metadata.labels['batch.kubernetes.io/job-completion-index']).toBe(i);
      expect(p.spec.hostname).toBe(`idx-${i}`);
    }
  });

  it('a failing Job stops at backoffLimit with condition Failed', async () => {
    kubelet.modes.set('bad', 'fail');
    const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: w, image: busybox, command: [sh, -c, 'exit 1']}]
`;
    await kubectlOk(srv, ['apply', '-f', '-'], { stdin: yaml });
    // The replacement waits out the 10 s pod-failure backoff, as upstream's.
    await k('wait', '--for=condition=failed', 'job/bad', '--timeout=60s');
    const job = await getJob('bad');
    expect(job.status.failed).toBe(2);
    expect(job.status.succeeded ?? 0).toBe(0);
    expect(condition(job, 'FailureTarget')).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(condition(job, 'Failed')).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expect(job.status.completionTime).toBeUndefined();
    expect(await podsOf('bad')).toHaveLength(2);
    expect(await k('get', 'job', 'bad')).toMatch(/\nbad\s+Failed\s+0\/1\s/);
  }, 60_000);

  it('ttlSecondsAfterFinished deletes the finished Job and its pods', async () => {
    const yaml = `apiVersion: batch/v1
kind: Job
metadata: {name: short}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: w, image: busybox}]
`;
    await kubectlOk(srv, ['apply', '-f', '-'], { stdin: yaml });
    await k('wait', '--for=condition=complete', 'job/short', '--timeout=60s');
    await waitFor('job deleted', async () => {
      const r = await api.request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/short`);
      return r.status === 404 ? true : undefined;
    });
    await waitFor('pods deleted', async () => ((await podsOf('short')).length === 0 ? true : undefined));
  });

  it('a CronJob: its template runs with create job --from, and the controller schedules it', async () => {
    const table = await k('get', 'cronjob', 'c');
    expect(table).toMatch(/^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE/);
    expect(table).toMatch(/\nc\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d+\s/);
    const cj = await api.json('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/c`);
    expect(cj.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    await k('create', 'job', '--from=cronjob/c', 'manual');
    await k('wait', '--for=condition=complete', 'job/manual', '--timeout=60s');
    // The tick: at most a minute after creation (the other tests took part of it).
    const scheduled = await waitFor(
      'lastScheduleTime',
      async () => {
        const o = await api.json('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/c`);
        return o.status?.lastScheduleTime ? o : undefined;
      },
      75_000,
    );
    const t = Date.parse(scheduled.status.lastScheduleTime);
    expect(t % 60_000).toBe(0);
    const jobName = `c-${t / 60_000}`;
    const job = await waitFor('the scheduled Job', async () => {
      const r = await api.request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${jobName}`);
      return r.status === 200 ? JSON.parse(r.body) : undefined;
    });
    expect(job.metadata.ownerReferences[0]).toMatchObject({ kind: 'CronJob', name: 'c', controller: true });
    expect(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(
      scheduled.status.lastScheduleTime,
    );
    await k('wait', '--for=condition=complete', `job/${jobName}`, '--timeout=60s');
    const done = await getJob(jobName);
    // Its completion takes it off the active list and becomes the last success.
    const after = await waitFor('the Job off the active list', async () => {
      const o = await api.json('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/c`);
      const active = (o.status?.active ?? []).map((r: any) => r.name);
      return active.includes(jobName) ? undefined : o;
    });
    expect(Date.parse(after.status.lastSuccessfulTime)).toBeGreaterThanOrEqual(
      Date.parse(done.status.completionTime),
    );
    expect(await k('get', 'cronjob', 'c')).toMatch(/\nc\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d+\s+\d+s\s/);
  }, 110_000);
});
