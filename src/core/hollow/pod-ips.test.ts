import { describe, expect, it } from 'vitest';
import { PodIpAllocator } from './pod-ips.js';

describe('PodIpAllocator', () => {
  it('hands out host addresses of the podCIDR from .2, stable per pod', () => {
    const a = new PodIpAllocator();
    expect(a.ipFor('p1', '10.42.3.0/24')).toBe('10.42.3.2');
    expect(a.ipFor('p2', '10.42.3.0/24')).toBe('10.42.3.3');
    expect(a.ipFor('p1', '10.42.3.0/24')).toBe('10.42.3.2');
  });

  it('skips addresses of existing pods and reuses released ones', () => {
    const a = new PodIpAllocator();
    a.observe('old', '10.42.3.2');
    expect(a.ipFor('p1', '10.42.3.0/24')).toBe('10.42.3.3');
    a.release('old');
    expect(a.ipFor('p2', '10.42.3.0/24')).toBe('10.42.3.2');
  });

  it('falls back to fake addresses without a podCIDR or when it is full', () => {
    const a = new PodIpAllocator();
    expect(a.ipFor('p1', undefined)).toBe('100.64.0.1');
    // a /30 has one usable pod address (.2): .0 network, .1 gateway, .3 broadcast
    expect(a.ipFor('p2', '10.42.0.0/30')).toBe('10.42.0.2');
    expect(a.ipFor('p3', '10.42.0.0/30')).toBe('100.64.0.2');
  });
});
