import type { Node } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { cidrWithin, planRoutes } from './route-plan.js';

const node = (name: string, cidr: string, providerID?: string): Node => ({
  metadata: { name, uid: `uid-${name}` },
  spec: { podCIDR: cidr, ...(providerID ? { providerID } : {}) },
});

describe('route plan', () => {
  it.each([
    ['10.42.1.0/24', '10.42.0.0/16', true],
    ['10.43.1.0/24', '10.42.0.0/16', false],
    ['10.42.0.0/15', '10.42.0.0/16', false],
    ['fd00::/64', '10.42.0.0/16', true],
  ])('cidrWithin(%s, %s) = %s', (a, b, want) => expect(cidrWithin(a, b)).toBe(want));

  it('creates missing, keeps existing, deletes stale, ignores routes outside the cluster CIDR', () => {
    const plan = planRoutes(
      [node('a', '10.42.0.0/24', 'aws:///z/i-a'), node('b', '10.42.1.0/24', 'aws:///z/i-b')],
      [
        { name: 'r1', targetNode: '', targetInstance: 'i-a', destinationCIDR: '10.42.0.0/24' },
        { name: 'r2', targetNode: '', targetInstance: 'i-gone', destinationCIDR: '10.42.7.0/24' },
        { name: 'r3', targetNode: '', targetInstance: 'i-x', destinationCIDR: '192.168.0.0/24' },
        { name: 'r4', targetNode: '', targetInstance: 'i-a', destinationCIDR: '10.42.0.0/24' },
      ],
      { clusterCidr: '10.42.0.0/16' },
    );
    expect(plan.create).toEqual([
      {
        nameHint: 'uid-b',
        targetNode: 'b',
        targetInstance: 'i-b',
        targetProviderID: 'aws:///z/i-b',
        destinationCIDR: '10.42.1.0/24',
      },
    ]);
    expect(plan.remove.map((r) => r.name)).toEqual(['r2', 'r4']);
    expect(plan.routed).toEqual(['a', 'b']);
  });

  it('a node without providerID is targeted by name', () => {
    expect(planRoutes([node('n', '10.42.3.0/24')], []).create[0]?.targetInstance).toBe('n');
  });
});
