/**
 * The GCE load balancer reconciler through the real @google-cloud/compute clients (REST transport,
 * no credentials) against the loopback fake of the Compute API: every reconcile path, the exact
 * mutating requests, idempotency, and that nothing foreign is deleted.
 */
import { PassThroughClient } from 'google-auth-library';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForeignResourceError } from '../../errors.js';
import { FakeComputeServer } from './fake-compute-server.js';
import { GceApi } from './gce-api.js';
import { GceLoadBalancer } from './gce-load-balancer.js';

const CLUSTER = 'prod';
const UID = '6f1e2d3c-aaaa-bbbb-cccc-0123456789ab';
const LB = 'a6f1e2d3caaaabbbbcccc0123456789a';
const R = 'regions/us-central1';

let fake: FakeComputeServer;
let api: GceApi;
let lb: GceLoadBalancer;

function node(name: string, zone = 'us-central1-a'): Node {
  return { metadata: { name }, spec: { providerID: `gce://my-project/${zone}/${name}` } };
}
function svc(
  opts: {
    ports?: { port: number; nodePort?: number; protocol?: string }[];
    ann?: Record<string, string>;
    spec?: Service['spec'];
  } = {},
): Service {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: UID, annotations: opts.ann ?? {} },
    spec: {
      type: 'LoadBalancer',
      ports: (opts.ports ?? [{ port: 80, nodePort: 30080 }]).map((p, i) => ({
        name: `p${i}`,
        protocol: 'TCP',
        ...p,
      })),
      ...(opts.spec ?? {}),
    },
  };
}
const NODES = [node('n1'), node('n2', 'us-central1-b')];

beforeEach(async () => {
  fake = await new FakeComputeServer('my-project').start();
  for (const n of ['n1', 'n2', 'n3'])
    fake.put(n === 'n2' ? 'zones/us-central1-b' : 'zones/us-central1-a', 'instances', {
      name: n,
      tags: { items: ['k8s-node'] },
      status: 'RUNNING',
    });
  api = new GceApi({
    apiEndpoint: '127.0.0.1',
    port: fake.port,
    protocol: 'http',
    authClient: new PassThroughClient(),
  });
  lb = new GceLoadBalancer({ api, project: 'my-project', region: 'us-central1' });
});
afterEach(async () => {
  await api.close();
  await fake.stop();
});

const ensure = (s: Service, nodes = NODES) => lb.ensureLoadBalancer(CLUSTER, s, nodes);
async function expectNoop(s: Service, nodes = NODES) {
  fake.takeMutations();
  await ensure(s, nodes);
  expect(fake.takeMutations()).toEqual([]);
}
const res = (scope: string, coll: string, name: string) => fake.get(scope, coll, name);

describe('GCE L4 load balancer reconcile', () => {
  it('create: instance groups, shared health check, firewalls, backend service, forwarding rule; then a no-op', async () => {
    const status = await ensure(svc());
    expect(fake.takeMutations()).toEqual([
      'POST zones/us-central1-a/instanceGroups',
      'POST zones/us-central1-a/instanceGroups/k8s-ig--prod/addInstances',
      'POST zones/us-central1-b/instanceGroups',
      'POST zones/us-central1-b/instanceGroups/k8s-ig--prod/addInstances',
      `POST ${R}/healthChecks`,
      'POST global/firewalls',
      'POST global/firewalls',
      `POST ${R}/backendServices`,
      `POST ${R}/forwardingRules`,
    ]);
    expect(res('zones/us-central1-a', 'instanceGroups', 'k8s-ig--prod')!.members).toEqual([
      'https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/instances/n1',
    ]);
    expect(res(R, 'healthChecks', 'k8s-prod-node')).toMatchObject({
      type: 'HTTP',
      httpHealthCheck: { port: 10256, requestPath: '/healthz' },
    });
    expect(res('global', 'firewalls', `k8s-fw-${LB}`)).toMatchObject({
      sourceRanges: ['0.0.0.0/0'],
      allowed: [{ IPProtocol: 'tcp', ports: ['80'] }],
      targetTags: ['k8s-node'],
    });
    expect(res('global', 'firewalls', 'k8s-prod-node-http-hc')).toMatchObject({
      sourceRanges: ['130.211.0.0/22', '209.85.152.0/22', '209.85.204.0/22', '35.191.0.0/16'],
      allowed: [{ IPProtocol: 'tcp', ports: ['10256'] }],
    });
    const bs = res(R, 'backendServices', LB)!;
    expect(bs).toMatchObject({ protocol: 'TCP', loadBalancingScheme: 'EXTERNAL', sessionAffinity: 'NONE' });
    expect(bs.backends).toHaveLength(2);
    expect(JSON.parse(bs.description)).toEqual({
      'kubernetes.io/service-name': 'shop/web',
      'kubernetes.io/cluster/prod': 'owned',
    });
    const fr = res(R, 'forwardingRules', LB)!;
    expect(fr).toMatchObject({
      IPProtocol: 'TCP',
      ports: ['80'],
      loadBalancingScheme: 'EXTERNAL',
      backendService: bs.selfLink,
    });
    expect(status).toEqual({ ingress: [{ ip: fr.IPAddress }] });
    expect(await lb.getLoadBalancer(CLUSTER, svc())).toEqual({ exists: true, status });
    await expectNoop(svc());
  });

  it('node added and removed: only instance group membership changes', async () => {
    await ensure(svc(), [node('n1')]);
    fake.takeMutations();
    await lb.updateLoadBalancer(CLUSTER, svc(), [node('n1'), node('n3')]);
    expect(fake.takeMutations()).toEqual([
      'POST zones/us-central1-a/instanceGroups/k8s-ig--prod/addInstances',
    ]);
    await lb.updateLoadBalancer(CLUSTER, svc(), [node('n3')]);
    expect(fake.takeMutations()).toEqual([
      'POST zones/us-central1-a/instanceGroups/k8s-ig--prod/removeInstances',
    ]);
    expect(res('zones/us-central1-a', 'instanceGroups', 'k8s-ig--prod')!.members).toEqual([
      'https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/instances/n3',
    ]);
    await expectNoop(svc(), [node('n3')]);
  });

  it('port change: firewall patched, forwarding rule re-created on the same (ephemeral) IP', async () => {
    const before = await ensure(svc());
    fake.takeMutations();
    const two = svc({ ports: [{ port: 80 }, { port: 443 }] });
    const after = await ensure(two);
    expect(fake.takeMutations()).toEqual([
      'PATCH global/firewalls/k8s-fw-' + LB,
      `POST ${R}/addresses`,
      `DELETE ${R}/forwardingRules/${LB}`,
      `POST ${R}/forwardingRules`,
      `DELETE ${R}/addresses/${LB}`,
    ]);
    expect(after).toEqual(before);
    expect(res(R, 'forwardingRules', LB)!.ports).toEqual(['80', '443']);
    expect(fake.list('addresses')).toEqual([]);
    await expectNoop(two);
  });

  it('annotation change: Local traffic policy health check, then back; internal', async () => {
    await ensure(svc());
    fake.takeMutations();
    const local = svc({ spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: 32100 } });
    await ensure(local);
    expect(fake.takeMutations()).toEqual([
      `POST ${R}/healthChecks`,
      'POST global/firewalls',
      `PATCH ${R}/backendServices/${LB}`,
    ]);
    expect(res(R, 'healthChecks', LB)!.httpHealthCheck).toMatchObject({
      port: 32100,
      requestPath: '/healthz',
    });
    expect(res('global', 'firewalls', `k8s-${LB}-http-hc`)!.allowed).toEqual([
      { IPProtocol: 'tcp', ports: ['32100'] },
    ]);
    await expectNoop(local);
    await ensure(svc());
    expect(fake.takeMutations()).toEqual([
      `PATCH ${R}/backendServices/${LB}`,
      `DELETE ${R}/healthChecks/${LB}`,
      `DELETE global/firewalls/k8s-${LB}-http-hc`,
    ]);
    const internal = svc({ ann: { 'networking.gke.io/load-balancer-type': 'Internal' } });
    const externalIp = res(R, 'forwardingRules', LB)!.IPAddress;
    await ensure(internal);
    expect(fake.takeMutations()).toEqual([
      `PATCH ${R}/backendServices/${LB}`,
      `DELETE ${R}/forwardingRules/${LB}`,
      `POST ${R}/forwardingRules`,
    ]);
    // An external address cannot become internal: the internal rule gets its own.
    expect(res(R, 'forwardingRules', LB)!.IPAddress).not.toBe(externalIp);
    expect(res(R, 'forwardingRules', LB)).toMatchObject({
      loadBalancingScheme: 'INTERNAL',
      network: expect.stringContaining('/global/networks/default'),
    });
    await expectNoop(internal);
    // A port change keeps the internal address too (reserved as INTERNAL for the moment).
    const internalIp = res(R, 'forwardingRules', LB)!.IPAddress;
    const internal2 = svc({
      ann: { 'networking.gke.io/load-balancer-type': 'Internal' },
      ports: [{ port: 80 }, { port: 443 }],
    });
    await ensure(internal2);
    expect(fake.takeMutations()).toEqual([
      `PATCH global/firewalls/k8s-fw-${LB}`,
      `POST ${R}/addresses`,
      `DELETE ${R}/forwardingRules/${LB}`,
      `POST ${R}/forwardingRules`,
      `DELETE ${R}/addresses/${LB}`,
    ]);
    expect(res(R, 'forwardingRules', LB)!.IPAddress).toBe(internalIp);
    await ensure(internal);
    fake.takeMutations();
    // The legacy annotation name works too.
    await expectNoop(svc({ ann: { 'cloud.google.com/load-balancer-type': 'internal' } }));
  });

  it('loadBalancerIP: the forwarding rule uses the requested address', async () => {
    const status = await ensure(svc({ spec: { loadBalancerIP: '203.0.113.77' } }));
    expect(status).toEqual({ ingress: [{ ip: '203.0.113.77' }] });
    expect(fake.list('addresses')).toEqual([]);
  });

  it('TCP and UDP: one reserved address shared by a forwarding rule per protocol', async () => {
    const s = svc({
      ports: [
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ],
    });
    const status = await ensure(s);
    const addr = res(R, 'addresses', LB)!;
    expect(res(R, 'forwardingRules', LB)).toMatchObject({ IPProtocol: 'TCP', IPAddress: addr.address });
    expect(res(R, 'forwardingRules', `${LB}-udp`)).toMatchObject({
      IPProtocol: 'UDP',
      IPAddress: addr.address,
    });
    expect(status).toEqual({ ingress: [{ ip: addr.address }] });
    expect(res('global', 'firewalls', `k8s-fw-${LB}`)!.allowed).toEqual([
      { IPProtocol: 'tcp', ports: ['53'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    await expectNoop(s);
    // UDP dropped: its rule and backend service go, the shared address is released.
    await ensure(svc({ ports: [{ port: 53, protocol: 'TCP' }] }));
    expect(fake.takeMutations()).toEqual([
      'PATCH global/firewalls/k8s-fw-' + LB,
      `DELETE ${R}/forwardingRules/${LB}-udp`,
      `DELETE ${R}/backendServices/${LB}-udp`,
      `DELETE ${R}/addresses/${LB}`,
    ]);
  });

  it('a failure halfway (forwarding rule insert) is finished by the retry without duplicates', async () => {
    fake.failNext(new RegExp(`^POST ${R}/forwardingRules$`));
    await expect(ensure(svc())).rejects.toThrow(/injected failure/);
    fake.takeMutations();
    await ensure(svc());
    expect(fake.takeMutations()).toEqual([`POST ${R}/forwardingRules`]);
    expect(fake.list('backendServices')).toHaveLength(1);
    await expectNoop(svc());
  });

  it('delete: everything of the service and the unused shared health check; a second delete is a no-op', async () => {
    await ensure(svc());
    fake.takeMutations();
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(fake.takeMutations()).toEqual([
      `DELETE ${R}/forwardingRules/${LB}`,
      `DELETE ${R}/backendServices/${LB}`,
      `DELETE global/firewalls/k8s-fw-${LB}`,
      `DELETE ${R}/healthChecks/k8s-prod-node`,
    ]);
    expect(fake.list('forwardingRules')).toEqual([]);
    expect(fake.list('backendServices')).toEqual([]);
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(fake.takeMutations()).toEqual([]);
    expect(await lb.getLoadBalancer(CLUSTER, svc())).toEqual({ exists: false });
  });

  it('the shared health check stays while another service uses it', async () => {
    await ensure(svc());
    const other: Service = {
      ...svc(),
      metadata: { name: 'api', namespace: 'shop', uid: '11111111-2222-3333-4444-555555555555' },
    };
    await ensure(other);
    fake.takeMutations();
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(fake.get(R, 'healthChecks', 'k8s-prod-node')).toBeDefined();
  });

  it("never touches resources without this cluster's ownership", async () => {
    fake.put('global', 'firewalls', { name: `k8s-fw-${LB}`, description: 'hand made', allowed: [] });
    fake.put(R, 'forwardingRules', {
      name: 'someone-else',
      description: '{"kubernetes.io/cluster/other":"owned"}',
    });
    await expect(ensure(svc())).rejects.toBeInstanceOf(ForeignResourceError);
    fake.takeMutations();
    await lb.ensureLoadBalancerDeleted(CLUSTER, svc());
    expect(fake.takeMutations().filter((m) => m.startsWith('DELETE') && !m.includes('healthChecks'))).toEqual(
      [],
    );
    expect(fake.get('global', 'firewalls', `k8s-fw-${LB}`)).toBeDefined();
    expect(fake.get(R, 'forwardingRules', 'someone-else')).toBeDefined();
  });
});
