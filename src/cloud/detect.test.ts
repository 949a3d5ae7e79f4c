import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCloudProvider } from './detect.js';
import { Ec2Metadata } from './ec2-metadata.js';
import { type FakeMetadataServer, fakeEc2Metadata, fakeGceMetadata } from './fake-metadata-server.js';
import { GceMetadata } from './gce-metadata.js';

const EC2 = {
  'instance-id': 'i-0123456789abcdef0',
  'instance-type': 'm5.large',
  'placement/availability-zone': 'eu-west-1b',
  'placement/region': 'eu-west-1',
  'local-ipv4': '10.0.1.23',
  'local-hostname': 'ip-10-0-1-23.eu-west-1.compute.internal',
};
const GCE = {
  'project/project-id': 'my-project',
  'instance/zone': 'projects/123456/zones/us-central1-a',
  'instance/name': 'node-1',
  'instance/machine-type': 'projects/123456/machineTypes/e2-standard-2',
  'instance/network-interfaces/0/ip': '10.128.0.5',
  'instance/network-interfaces/0/access-configs/0/external-ip': '34.1.2.3',
};

let servers: FakeMetadataServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A loopback port nothing listens on (connection refused at once). */
async function deadEndpoint(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('cloud auto-detection', () => {
  it('detects EC2 through IMDSv2 (token PUT first, then GETs with the token)', async () => {
    const ec2 = await fakeEc2Metadata(EC2);
    servers.push(ec2);
    const p = await detectCloudProvider({ ec2Endpoint: ec2.url, gceEndpoint: await deadEndpoint() });
    expect(p).toBe('aws');
    expect(ec2.requests[0]).toBe('PUT /latest/api/token');
    expect(ec2.requests).toContain('GET /latest/meta-data/instance-id');
  });

  it('detects GCE through the metadata server', async () => {
    const gce = await fakeGceMetadata(GCE);
    servers.push(gce);
    expect(await detectCloudProvider({ ec2Endpoint: await deadEndpoint(), gceEndpoint: gce.url })).toBe(
      'gce',
    );
  });

  it('falls back to local when nothing answers', async () => {
    const dead = await deadEndpoint();
    expect(await detectCloudProvider({ ec2Endpoint: dead, gceEndpoint: dead })).toBe('local');
  });

  it('falls back to local when a server hangs (timeout)', async () => {
    const hang = createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    try {
      expect(await detectCloudProvider({ ec2Endpoint: url, gceEndpoint: url, timeoutMs: 100 })).toBe('local');
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('an answer without Metadata-Flavor: Google is not GCE (the EC2 fake answers 401 to GCE paths)', async () => {
    const ec2 = await fakeEc2Metadata(EC2);
    servers.push(ec2);
    expect(await detectCloudProvider({ ec2Endpoint: ec2.url, gceEndpoint: ec2.url })).toBe('aws');
  });

  it('reads the EC2 identity', async () => {
    const ec2 = await fakeEc2Metadata(EC2);
    servers.push(ec2);
    const id = await new Ec2Metadata({ endpoint: ec2.url }).identity();
    expect(id).toMatchObject({
      instanceId: 'i-0123456789abcdef0',
      instanceType: 'm5.large',
      availabilityZone: 'eu-west-1b',
      region: 'eu-west-1',
      localIpv4: '10.0.1.23',
    });
    expect(id.publicIpv4).toBeUndefined();
  });

  it('reads the GCE identity', async () => {
    const gce = await fakeGceMetadata(GCE);
    servers.push(gce);
    expect(await new GceMetadata({ endpoint: gce.url }).identity()).toEqual({
      project: 'my-project',
      zone: 'us-central1-a',
      region: 'us-central1',
      name: 'node-1',
      machineType: 'e2-standard-2',
      internalIp: '10.128.0.5',
      externalIp: '34.1.2.3',
    });
  });
});
