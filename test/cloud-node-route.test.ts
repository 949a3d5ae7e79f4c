/**
 * The cloud node controller and the route controller against a real API server, with the AWS
 * provider on the real SDK clients (transport faked) and the GCE provider on the real Compute
 * client (loopback REST fake): node initialization, deletion of nodes whose instance is gone,
 * pod CIDR routes created, deleted with their node, foreign routes left alone.
 */
import { PassThroughClient } from 'google-auth-library';
import type { Node } from 'kubernetes-types/core/v1.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningCloudControllers,
  startCloudControllerManager,
} from '../src/cloud/cloud-controller-manager.js';
import { TAINT_UNINITIALIZED } from '../src/cloud/node-plan.js';
import { createAwsProvider } from '../src/cloud/providers/aws/aws-provider.js';
import { FakeComputeServer } from '../src/cloud/providers/gce/fake-compute-server.js';
import { createGceProvider } from '../src/cloud/providers/gce/gce-provider.js';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { createReadyNode, setNodeReady, waitFor } from './helpers/cloud.js';
import { FakeAws } from './helpers/fake-aws.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

let server: RunningServer;
let client: RestClient;
let ccm: RunningCloudControllers | undefined;
const UNINIT = [{ key: TAINT_UNINITIALIZED, value: 'true', effect: 'NoSchedule' }];

const getNode = (name: string) => client.request<Node>('GET', `/api/v1/nodes/${name}`);
async function gone(name: string): Promise<true | undefined> {
  try {
    await getNode(name);
    return undefined;
  } catch {
    return true;
  }
}

beforeAll(async () => {
  server = await startServer({ args: ['--disable-controllers'] });
  client = new RestClient(loadKubeconfig(server.kubeconfig));
});
afterEach(async () => {
  ccm?.stop();
  ccm = undefined;
  const nodes = await client.request<{ items: Node[] }>('GET', '/api/v1/nodes');
  for (const n of nodes.items) await client.request('DELETE', `/api/v1/nodes/${n.metadata!.name}`);
});
afterAll(async () => {
  client?.close();
  await server?.kill();
  if (server) cleanup(server.dataDir);
});

describe('AWS node and route controllers', () => {
  it('initializes a tainted node from its EC2 instance and deletes it once the instance is gone', async () => {
    const aws = new FakeAws();
    try {
      aws.instances = [
        {
          InstanceId: 'i-0abc000000000001',
          PrivateDnsName: 'ip-10-0-1-10.eu-west-1.compute.internal',
          PrivateIpAddress: '10.0.1.10',
          PublicIpAddress: '54.1.2.3',
          InstanceType: 'm5.large',
          AvailabilityZone: 'eu-west-1a',
          VpcId: 'vpc-1',
        },
      ];
      const provider = await createAwsProvider({ elb: aws.elb, ec2: aws.ec2, region: 'eu-west-1' });
      ccm = await startCloudControllerManager(client, {
        provider,
        clusterName: 'prod',
        node: { monitorPeriodMs: 100, baseDelayMs: 50 },
      });
      const name = 'ip-10-0-1-10.eu-west-1.compute.internal';
      await createReadyNode(client, name, { taints: UNINIT });
      const n = await waitFor('initialized', async () => {
        const x = await getNode(name);
        return (x.spec?.taints ?? []).length === 0 ? x : undefined;
      });
      expect(n.spec?.providerID).toBe('aws:///eu-west-1a/i-0abc000000000001');
      expect(n.metadata?.labels).toMatchObject({
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': 'eu-west-1a',
        'node.kubernetes.io/instance-type': 'm5.large',
      });
      expect(n.status?.addresses).toEqual([
        { type: 'InternalIP', address: '10.0.1.10' },
        { type: 'ExternalIP', address: '54.1.2.3' },
        { type: 'InternalDNS', address: name },
        { type: 'Hostname', address: name },
      ]);
      // A Ready node is never deleted, even if the cloud says its instance is gone.
      aws.instances = [];
      await new Promise((r) => setTimeout(r, 400));
      expect(await gone(name)).toBeUndefined();
      await setNodeReady(client, name, false);
      await waitFor('node deleted', () => gone(name));
    } finally {
      aws.restore();
    }
  });

  it('routes each node podCIDR through the cluster route table; deletes the route with the node', async () => {
    const aws = new FakeAws();
    try {
      aws.routeTables = [
        {
          RouteTableId: 'rtb-1',
          VpcId: 'vpc-1',
          Tags: [{ Key: 'kubernetes.io/cluster/prod', Value: 'owned' }],
          Routes: [
            { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' },
            { DestinationCidrBlock: '192.168.0.0/24', InstanceId: 'i-0ffffffffffffff1' },
          ],
        },
        { RouteTableId: 'rtb-other', VpcId: 'vpc-1', Tags: [], Routes: [] },
      ];
      const provider = await createAwsProvider({ elb: aws.elb, ec2: aws.ec2, region: 'eu-west-1' });
      ccm = await startCloudControllerManager(client, {
        provider,
        clusterName: 'prod',
        configureRoutes: true,
        clusterCidr: '10.42.0.0/16',
        controllers: ['route'],
        route: { periodMs: 200 },
      });
      for (const [i, name] of ['r1', 'r2'].entries()) {
        await client.request('POST', '/api/v1/nodes', {
          body: {
            metadata: { name },
            spec: { podCIDR: `10.42.${i}.0/24`, providerID: `aws:///eu-west-1a/i-0abc00000000000${i}` },
          },
        });
      }
      const routes = () =>
        (aws.routeTables[0]!.Routes ?? [])
          .map((r) => `${r.DestinationCidrBlock}>${r.InstanceId ?? r.GatewayId}`)
          .sort();
      await waitFor('two routes', async () => (routes().length === 4 ? true : undefined));
      expect(routes()).toEqual([
        '10.0.0.0/16>local',
        '10.42.0.0/24>i-0abc000000000000',
        '10.42.1.0/24>i-0abc000000000001',
        '192.168.0.0/24>i-0ffffffffffffff1',
      ]);
      const cond = await waitFor('NetworkUnavailable=False', async () => {
        const n = await getNode('r1');
        return n.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
      });
      expect(cond).toMatchObject({ status: 'False', reason: 'RouteCreated' });
      await client.request('DELETE', '/api/v1/nodes/r2');
      await waitFor('route of r2 deleted', async () => (routes().length === 3 ? true : undefined));
      // The route outside the cluster CIDR (not ours) stays, and nothing else was touched.
      expect(routes()).toContain('192.168.0.0/24>i-0ffffffffffffff1');
      expect(aws.routeTables[1]!.Routes).toEqual([]);
    } finally {
      aws.restore();
    }
  });
});

describe('GCE node and route controllers', () => {
  let fake: FakeComputeServer;
  beforeAll(async () => {
    fake = await new FakeComputeServer('my-project').start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  const gce = () =>
    createGceProvider({
      project: 'my-project',
      zone: 'us-central1-a',
      apiEndpoint: '127.0.0.1',
      port: fake.port,
      protocol: 'http',
      authClient: new PassThroughClient(),
    });

  it('initializes a tainted node from its instance and deletes it once the instance is gone', async () => {
    fake.put('zones/us-central1-a', 'instances', {
      name: 'g1',
      zone: 'https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a',
      machineType:
        'https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-a/machineTypes/e2-standard-4',
      networkInterfaces: [{ networkIP: '10.128.0.7', accessConfigs: [{ natIP: '34.9.8.7' }] }],
      status: 'RUNNING',
    });
    ccm = await startCloudControllerManager(client, {
      provider: await gce(),
      clusterName: 'prod',
      node: { monitorPeriodMs: 100, baseDelayMs: 50 },
    });
    await createReadyNode(client, 'g1', { taints: UNINIT });
    const n = await waitFor('initialized', async () => {
      const x = await getNode('g1');
      return (x.spec?.taints ?? []).length === 0 ? x : undefined;
    });
    expect(n.spec?.providerID).toBe('gce://my-project/us-central1-a/g1');
    expect(n.metadata?.labels).toMatchObject({
      'topology.kubernetes.io/region': 'us-central1',
      'topology.kubernetes.io/zone': 'us-central1-a',
      'node.kubernetes.io/instance-type': 'e2-standard-4',
    });
    expect(n.status?.addresses).toEqual([
      { type: 'InternalIP', address: '10.128.0.7' },
      { type: 'ExternalIP', address: '34.9.8.7' },
      { type: 'Hostname', address: 'g1' },
    ]);
    fake.store.delete('zones/us-central1-a/instances/g1');
    await setNodeReady(client, 'g1', false);
    await waitFor('node deleted', () => gone('g1'));
  });

  it('creates a route per podCIDR and deletes it with its node; foreign routes stay', async () => {
    fake.put('global', 'routes', {
      name: 'default-route-x',
      destRange: '0.0.0.0/0',
      nextHopGateway: 'global/gateways/default-internet-gateway',
    });
    fake.put('global', 'routes', {
      name: 'k8s-other-x',
      destRange: '10.42.9.0/24',
      nextHopInstance: 'zones/us-central1-a/instances/z9',
      description: '{"kubernetes.io/cluster/other":"owned"}',
    });
    ccm = await startCloudControllerManager(client, {
      provider: await gce(),
      clusterName: 'prod',
      configureRoutes: true,
      clusterCidr: '10.42.0.0/16',
      controllers: ['route'],
      route: { periodMs: 200 },
    });
    await client.request('POST', '/api/v1/nodes', {
      body: {
        metadata: { name: 'g2' },
        spec: { podCIDR: '10.42.2.0/24', providerID: 'gce://my-project/us-central1-b/g2' },
      },
    });
    const ours = () => fake.list('routes').filter((r) => r.description?.includes('cluster/prod'));
    const r = await waitFor('route', async () => ours()[0]);
    expect(r).toMatchObject({
      destRange: '10.42.2.0/24',
      nextHopInstance:
        'https://www.googleapis.com/compute/v1/projects/my-project/zones/us-central1-b/instances/g2',
      network: 'https://www.googleapis.com/compute/v1/projects/my-project/global/networks/default',
    });
    await client.request('DELETE', '/api/v1/nodes/g2');
    await waitFor('route deleted', async () => (ours().length === 0 ? true : undefined));
    expect(
      fake
        .list('routes')
        .map((x) => x.name)
        .sort(),
    ).toEqual(['default-route-x', 'k8s-other-x']);
  });
});
