import { describe, expect, it } from 'vitest';
import type { KObj } from '../client/informer.js';
import { NodeCidrAssigner, nodePodCidr } from './node-ipam-assigner.js';

function node(name: string, cidr?: string): KObj {
  return { metadata: { name }, spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {} };
}

describe('nodePodCidr', () => {
  const cases: [string, KObj, string | undefined][] = [
    ['podCIDRs', { metadata: { name: 'a' }, spec: { podCIDRs: ['10.42.3.0/24'] } }, '10.42.3.0/24'],
    ['podCIDR only', { metadata: { name: 'a' }, spec: { podCIDR: '10.42.4.0/24' } }, '10.42.4.0/24'],
    ['empty spec', { metadata: { name: 'a' }, spec: {} }, undefined],
    ['no spec', { metadata: { name: 'a' } }, undefined],
    ['empty string', { metadata: { name: 'a' }, spec: { podCIDR: '' } }, undefined],
  ];
  it.each(cases)('%s', (_n, n, want) => expect(nodePodCidr(n)).toBe(want));
});

describe('NodeCidrAssigner', () => {
  it('gives distinct /24s and nothing to nodes that have one', () => {
    const a = new NodeCidrAssigner('10.42.0.0/16');
    expect(a.plan(node('n1'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/24' });
    expect(a.plan(node('n2'))).toEqual({ kind: 'assign', cidr: '10.42.1.0/24' });
    expect(a.plan(node('n3', '10.42.9.0/24'))).toEqual({ kind: 'none' });
  });

  it('retries the same reservation until the node shows it (no double allocation)', () => {
    const a = new NodeCidrAssigner('10.42.0.0/16');
    expect(a.plan(node('n1'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/24' });
    expect(a.plan(node('n1'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/24' });
    a.seen(node('n1', '10.42.0.0/24'));
    expect(a.plan(node('n2'))).toEqual({ kind: 'assign', cidr: '10.42.1.0/24' });
  });

  it('rebuilds the used set from existing nodes before allocating (restart)', () => {
    const a = new NodeCidrAssigner('10.42.0.0/16');
    a.seen(node('old-a', '10.42.0.0/24'));
    a.seen(node('old-b', '10.42.1.0/24'));
    expect(a.plan(node('new'))).toEqual({ kind: 'assign', cidr: '10.42.2.0/24' });
  });

  it('releases the CIDR of a deleted node', () => {
    const a = new NodeCidrAssigner('10.42.0.0/30', { nodeMaskSize: 30 });
    expect(a.plan(node('n1'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/30' });
    expect(a.plan(node('n2'))).toEqual({ kind: 'exhausted' });
    a.deleted('n1');
    expect(a.held('n1')).toBeUndefined();
    expect(a.plan(node('n2'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/30' });
  });

  it('adopts a CIDR someone else wrote and frees its own reservation', () => {
    const a = new NodeCidrAssigner('10.42.0.0/23');
    expect(a.plan(node('n1'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/24' });
    a.seen(node('n1', '10.42.1.0/24'));
    expect(a.held('n1')).toBe('10.42.1.0/24');
    expect(a.plan(node('n2'))).toEqual({ kind: 'assign', cidr: '10.42.0.0/24' });
    expect(a.plan(node('n3'))).toEqual({ kind: 'exhausted' });
  });
});
