import { describe, expect, it } from 'vitest';
import { createApiserverMetrics, metricsScope, metricsVerb, REQUEST_DURATION_BUCKETS } from './metrics.js';

/** The value of the sample line `name{labels} value` in Prometheus text, or undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(/,(?=[a-z_]+=")/).filter((p) => p !== '');
    if (have.length === wanted.length && wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

const pods = {
  verb: 'LIST',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  scope: 'namespace',
  dryRun: false,
};
const podsLabels = {
  verb: 'LIST',
  dry_run: '',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  scope: 'namespace',
  component: 'apiserver',
};

describe('metricsVerb', () => {
  const cases: Array<[string, boolean, string]> = [
    ['get', false, 'GET'],
    ['list', false, 'LIST'],
    ['watch', false, 'WATCH'],
    ['create', false, 'POST'],
    ['update', false, 'PUT'],
    ['patch', false, 'PATCH'],
    ['patch', true, 'APPLY'],
    ['delete', false, 'DELETE'],
    ['deletecollection', false, 'DELETECOLLECTION'],
    ['GET', false, 'GET'],
    ['WATCHLIST', false, 'WATCH'],
    ['brew', false, 'other'],
  ];
  it.each(cases)('%s (apply %s) -> %s', (verb, apply, expected) => {
    expect(metricsVerb(verb, { apply })).toBe(expected);
  });
});

describe('metricsScope', () => {
  const cases: Array<[Parameters<typeof metricsScope>[0], string]> = [
    [{ resourceRequest: true, namespace: 'default', name: 'web' }, 'namespace'],
    [{ resourceRequest: true, namespace: 'default' }, 'namespace'],
    [{ resourceRequest: true, name: 'node-1' }, 'resource'],
    [{ resourceRequest: true }, 'cluster'],
    [{ resourceRequest: false }, ''],
  ];
  it.each(cases)('%j -> %j', (request, expected) => {
    expect(metricsScope(request)).toBe(expected);
  });
});

describe('createApiserverMetrics', () => {
  it('counts requests by upstream labels and code', async () => {
    const m = createApiserverMetrics();
    m.observeRequest({ ...pods, code: 200, seconds: 0.01 });
    m.observeRequest({ ...pods, code: 200, seconds: 0.3 });
    m.observeRequest({ ...pods, code: 403, seconds: 0.001 });
    m.observeRequest({ ...pods, verb: 'post', scope: 'namespace', dryRun: true, code: 201, seconds: 0.02 });
    const { body, contentType } = await m.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(sample(body, 'apiserver_request_total', { ...podsLabels, code: '200' })).toBe(2);
    expect(sample(body, 'apiserver_request_total', { ...podsLabels, code: '403' })).toBe(1);
    expect(
      sample(body, 'apiserver_request_total', { ...podsLabels, verb: 'POST', dry_run: 'All', code: '201' }),
    ).toBe(1);
    expect(body).toContain('# TYPE apiserver_request_total counter');
  });

  it('keeps counting across reads: each request is counted once, whenever the counter is read', async () => {
    const m = createApiserverMetrics();
    const counts: Array<number | undefined> = [];
    for (const requests of [2, 0, 3, 1]) {
      for (let i = 0; i < requests; i++) m.observeRequest({ ...pods, code: 200, seconds: 0.01 });
      counts.push(sample((await m.render()).body, 'apiserver_request_total', { ...podsLabels, code: '200' }));
    }
    expect(counts).toEqual([2, 2, 5, 6]);
  });

  it('records durations in upstream buckets', async () => {
    const m = createApiserverMetrics();
    m.observeRequest({ ...pods, code: 200, seconds: 0.01 });
    m.observeRequest({ ...pods, code: 200, seconds: 0.3 });
    m.observeRequest({ ...pods, code: 500, seconds: 75 });
    const { body } = await m.render();
    const bucket = (le: string) =>
      sample(body, 'apiserver_request_duration_seconds_bucket', { ...podsLabels, le });
    expect(bucket('0.005')).toBe(0);
    expect(bucket('0.025')).toBe(1);
    expect(bucket('0.4')).toBe(2);
    expect(bucket('60')).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(sample(body, 'apiserver_request_duration_seconds_count', podsLabels)).toBe(3);
    const les = body
      .split('\n')
      .filter((l) => l.startsWith('apiserver_request_duration_seconds_bucket{'))
      .map((l) => /le="([^"]+)"/.exec(l)![1]);
    expect(les).toEqual([...REQUEST_DURATION_BUCKETS.map(String), '+Inf']);
  });

  it('tracks in-flight, long-running requests and watchers', async () => {
    const m = createApiserverMetrics();
    let text = (await m.render()).body;
    expect(sample(text, 'apiserver_current_inflight_requests', { request_kind: 'readOnly' })).toBe(0);
    expect(sample(text, 'apiserver_current_inflight_requests', { request_kind: 'mutating' })).toBe(0);

    m.inflight('mutating', 1);
    m.inflight('mutating', 1);
    m.inflight('mutating', -1);
    m.inflight('readOnly', 1);
    const watch = {
      verb: 'watch',
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      subresource: '',
      scope: 'cluster',
    };
    const done = m.startLongRunning(watch);
    m.startLongRunning(watch);
    m.watchers({ group: 'apps', version: 'v1', kind: 'Deployment' }, 1);
    m.watchers({ group: 'apps', version: 'v1', kind: 'Deployment' }, 1);
    m.watchers({ group: 'apps', version: 'v1', kind: 'Deployment' }, -1);
    text = (await m.render()).body;
    expect(sample(text, 'apiserver_current_inflight_requests', { request_kind: 'mutating' })).toBe(1);
    expect(sample(text, 'apiserver_current_inflight_requests', { request_kind: 'readOnly' })).toBe(1);
    const lrLabels = { ...watch, verb: 'WATCH', component: 'apiserver' };
    expect(sample(text, 'apiserver_longrunning_requests', lrLabels)).toBe(2);
    expect(
      sample(text, 'apiserver_registered_watchers', { group: 'apps', version: 'v1', kind: 'Deployment' }),
    ).toBe(1);

    done();
    done(); // idempotent
    text = (await m.render()).body;
    expect(sample(text, 'apiserver_longrunning_requests', lrLabels)).toBe(1);
  });

  it('exports storage object counts, storage latency and process metrics', async () => {
    const m = createApiserverMetrics();
    m.setStorageObjects('pods', 12);
    m.setStorageObjects('deployments.apps', 3);
    m.setStorageObjects('pods', 11);
    m.observeStorage({ operation: 'list', type: '/registry/pods', seconds: 0.003 });
    const { body } = await m.render();
    expect(sample(body, 'apiserver_storage_objects', { resource: 'pods' })).toBe(11);
    expect(sample(body, 'apiserver_storage_objects', { resource: 'deployments.apps' })).toBe(3);
    expect(
      sample(body, 'etcd_request_duration_seconds_count', { operation: 'list', type: '/registry/pods' }),
    ).toBe(1);
    expect(
      sample(body, 'etcd_request_duration_seconds_bucket', {
        operation: 'list',
        type: '/registry/pods',
        le: '0.005',
      }),
    ).toBe(1);
    expect(body).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(body).toMatch(/^process_start_time_seconds \d/m);
  });

  it('keeps separate registries per instance', async () => {
    const a = createApiserverMetrics();
    const b = createApiserverMetrics();
    a.observeRequest({ ...pods, code: 200, seconds: 0.01 });
    expect(
      sample((await b.render()).body, 'apiserver_request_total', { ...podsLabels, code: '200' }),
    ).toBeUndefined();
    expect(sample((await a.render()).body, 'apiserver_request_total', { ...podsLabels, code: '200' })).toBe(
      1,
    );
  });
});
