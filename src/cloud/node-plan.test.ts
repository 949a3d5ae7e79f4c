import type { Node } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { initializePatch, nodeAddresses, TAINT_UNINITIALIZED } from './node-plan.js';
import type { InstanceMetadata } from './provider.js';

const md: InstanceMetadata = {
  providerID: 'aws:///eu-west-1a/i-1',
  instanceType: 'm5.large',
  zone: 'eu-west-1a',
  region: 'eu-west-1',
  nodeAddresses: [
    { type: 'Hostname', address: 'ip-10-0-0-1' },
    { type: 'ExternalIP', address: '54.0.0.1' },
    { type: 'InternalIP', address: '10.0.0.1' },
    { type: 'InternalIP', address: '10.0.0.1' },
  ],
};

describe('node initialization plan', () => {
  it('sets providerID and labels, removes only the uninitialized taint, keeps resourceVersion', () => {
    const node: Node = {
      metadata: { name: 'n', resourceVersion: '7' },
      spec: {
        taints: [
          { key: TAINT_UNINITIALIZED, value: 'true', effect: 'NoSchedule' },
          { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
        ],
      },
    };
    expect(initializePatch(node, md)).toEqual({
      metadata: {
        labels: {
          'topology.kubernetes.io/region': 'eu-west-1',
          'topology.kubernetes.io/zone': 'eu-west-1a',
          'node.kubernetes.io/instance-type': 'm5.large',
        },
        resourceVersion: '7',
      },
      spec: {
        taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
        providerID: 'aws:///eu-west-1a/i-1',
      },
    });
  });

  it('keeps an existing providerID and clears an emptied taint list', () => {
    const node: Node = {
      metadata: { name: 'n' },
      spec: { providerID: 'x', taints: [{ key: TAINT_UNINITIALIZED, effect: 'NoSchedule' }] },
    };
    expect(initializePatch(node, md).spec).toEqual({ taints: null });
  });

  it('orders addresses by type and drops duplicates', () => {
    expect(nodeAddresses(md)).toEqual([
      { type: 'InternalIP', address: '10.0.0.1' },
      { type: 'ExternalIP', address: '54.0.0.1' },
      { type: 'Hostname', address: 'ip-10-0-0-1' },
    ]);
  });
});
