import { describe, expect, it } from 'vitest';
import { containerArgv, expandVars, resolveEnv } from './env.js';
import { ConfigRefError } from './errors.js';
import { serviceEnv, serviceEnvForPod } from './service-env.js';

const pod = {
  metadata: {
    name: 'p',
    namespace: 'ns',
    uid: 'u-1',
    labels: { app: 'web', tier: 'a"b' },
    annotations: { x: 'y' },
  },
  spec: {
    nodeName: 'n1',
    serviceAccountName: 'sa',
    containers: [
      { name: 'c', resources: { limits: { cpu: '1500m', memory: '64Mi' }, requests: { cpu: '250m' } } },
    ],
  },
};
const cm = { data: { A: 'a', B: 'b' }, binaryData: { BIN: Buffer.from('bin').toString('base64') } };
const secret = { data: { PASS: Buffer.from('s3cret').toString('base64') } };
const svc = (ns: string, name: string, ip: string, ports: object[]) => ({
  metadata: { namespace: ns, name },
  spec: { clusterIP: ip, ports },
});
const ctx = {
  configMap: (_ns: string, n: string) => (n === 'cm' ? cm : undefined),
  secret: (_ns: string, n: string) => (n === 'sec' ? secret : undefined),
  services: [
    svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    svc('ns', 'my-db', '10.43.0.9', [{ name: 'pg', port: 5432, protocol: 'TCP' }]),
    svc('ns', 'headless', 'None', [{ port: 80 }]),
    svc('other', 'elsewhere', '10.43.0.7', [{ port: 80 }]),
  ],
  podIP: '10.42.0.5',
  hostIP: '192.0.2.1',
  nodeAllocatable: { cpu: '4', memory: '8Gi' },
};

describe('expandVars', () => {
  it.each([
    ['$(A)-x', 'a-x'],
    ['$$(A)', '$(A)'],
    ['$(MISSING)', '$(MISSING)'],
    ['a$', 'a$'],
    ['$(A', '$(A'],
    ['$$$(A)', '$a'],
  ])('%s -> %s', (input, want) => {
    expect(expandVars(input, (n) => (n === 'A' ? 'a' : undefined))).toBe(want);
  });
});

describe('service env', () => {
  it('writes docker-link style variables', () => {
    expect(
      Object.fromEntries(
        serviceEnv(svc('ns', 'my-db', '10.43.0.9', [{ name: 'pg', port: 5432, protocol: 'TCP' }])),
      ),
    ).toEqual({
      MY_DB_SERVICE_HOST: '10.43.0.9',
      MY_DB_SERVICE_PORT: '5432',
      MY_DB_SERVICE_PORT_PG: '5432',
      MY_DB_PORT: 'tcp://10.43.0.9:5432',
      MY_DB_PORT_5432_TCP: 'tcp://10.43.0.9:5432',
      MY_DB_PORT_5432_TCP_PROTO: 'tcp',
      MY_DB_PORT_5432_TCP_PORT: '5432',
      MY_DB_PORT_5432_TCP_ADDR: '10.43.0.9',
    });
  });
  it('takes the namespace services and default/kubernetes, skips headless and other namespaces', () => {
    const env = serviceEnvForPod('ns', ctx.services);
    expect(env.get('KUBERNETES_SERVICE_HOST')).toBe('10.43.0.1');
    expect(env.get('MY_DB_SERVICE_HOST')).toBe('10.43.0.9');
    expect([...env.keys()].some((k) => k.startsWith('HEADLESS') || k.startsWith('ELSEWHERE'))).toBe(false);
  });
  it('enableServiceLinks=false keeps only the kubernetes service', () => {
    const env = serviceEnvForPod('ns', ctx.services, { enableServiceLinks: false });
    expect(env.has('MY_DB_SERVICE_HOST')).toBe(false);
    expect(env.get('KUBERNETES_SERVICE_PORT')).toBe('443');
  });
});

describe('resolveEnv', () => {
  it('resolves every source, later wins, $(VAR) expands', () => {
    const c = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'sec' } }],
      env: [
        { name: 'PLAIN', value: 'v' },
        { name: 'REF', value: '$(PLAIN)-$(CM_A)-$(MY_DB_SERVICE_PORT)' },
        { name: 'CM_A', value: 'override' },
        { name: 'KEY', valueFrom: { configMapKeyRef: { name: 'cm', key: 'B' } } },
        { name: 'BIN', valueFrom: { configMapKeyRef: { name: 'cm', key: 'BIN' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'PASS' } } },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
      ],
    };
    const env = resolveEnv(pod, c, ctx);
    expect(Object.fromEntries(env)).toMatchObject({
      CM_A: 'override',
      CM_B: 'b',
      PASS: 's3cret',
      PLAIN: 'v',
      REF: 'v-a-5432',
      KEY: 'b',
      BIN: 'bin',
      PW: 's3cret',
      NAME: 'p',
      NS: 'ns',
      UID: 'u-1',
      APP: 'web',
      NODE: 'n1',
      SA: 'sa',
      IP: '10.42.0.5',
      HOST: '192.0.2.1',
      CPU: '2',
      CPU_M: '250',
      MEM_MI: '64',
    });
    expect(env.has('OPT')).toBe(false);
  });
  it('limits.cpu without a limit falls back to node allocatable', () => {
    const env = resolveEnv(
      pod,
      {
        name: 'x',
        env: [{ name: 'C', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', containerName: 'x' } } }],
      },
      ctx,
    );
    expect(env.get('C')).toBe('4');
  });
  it.each([
    [{ envFrom: [{ configMapRef: { name: 'nope' } }] }, 'configmap "nope" not found'],
    [
      { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey' } } }] },
      "couldn't find key nokey in Secret ns/sec",
    ],
    [
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nokey' } } }] },
      "couldn't find key nokey in ConfigMap ns/cm",
    ],
  ])('missing reference is a ConfigRefError (%#)', (c, msg) => {
    expect(() => resolveEnv(pod, { name: 'c', ...c }, ctx)).toThrow(ConfigRefError);
    expect(() => resolveEnv(pod, { name: 'c', ...c }, ctx)).toThrow(msg);
  });
  it('argv expands $(VAR) in command and args; no command -> undefined', () => {
    const env = new Map([['PORT', '8080']]);
    expect(containerArgv({ command: ['srv', '--port=$(PORT)'], args: ['$$(PORT)'] }, env)).toEqual([
      'srv',
      '--port=8080',
      '$(PORT)',
    ]);
    expect(containerArgv({ args: ['x'] }, env)).toBeUndefined();
  });
});
