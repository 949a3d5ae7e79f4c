import { describe, expect, it } from 'vitest';
import { AllocatorError } from './errors.js';
import { NodePortAllocator, parsePortRange } from './node-port-allocator.js';

function failure(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof AllocatorError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe('parsePortRange', () => {
  const cases: Array<[string, { base: number; size: number } | undefined]> = [
    ['30000-32767', { base: 30000, size: 2768 }],
    ['80', { base: 80, size: 1 }],
    [' 1-65535 ', { base: 1, size: 65535 }],
    ['0-10', undefined],
    ['30000-65536', undefined],
    ['32767-30000', undefined],
    ['30000-', undefined],
    ['a-b', undefined],
    ['1-2-3', undefined],
  ];
  it.each(cases)('%j', (text, expected) => {
    expect(parsePortRange(text)).toEqual(expected);
  });
});

describe('NodePortAllocator.allocateSpecific', () => {
  const outOfRange = 'provided port is not in the valid range. The range of valid ports is 30000-32767';
  // Each row runs against a fresh default allocator that already holds 30080.
  const cases: Array<[number, { code: string; message: string } | undefined]> = [
    [30000, undefined],
    [32767, undefined],
    [31000, undefined],
    [30080, { code: 'ALREADY_ALLOCATED', message: 'provided port is already allocated' }],
    [29999, { code: 'NOT_IN_RANGE', message: outOfRange }],
    [32768, { code: 'NOT_IN_RANGE', message: outOfRange }],
    [30000.5, { code: 'NOT_IN_RANGE', message: outOfRange }],
  ];
  it.each(cases)('%d', (port, expected) => {
    const allocator = new NodePortAllocator();
    allocator.allocateSpecific(30080);
    expect(failure(() => allocator.allocateSpecific(port))).toEqual(expected);
    expect(allocator.has(port)).toBe(expected === undefined || expected.code === 'ALREADY_ALLOCATED');
  });
});

describe('NodePortAllocator.allocate', () => {
  it('hands out every port of a small range once, then reports full', () => {
    const allocator = new NodePortAllocator({ range: '30000-30009' });
    const got = new Set<number>();
    for (let i = 0; i < 10; i++) got.add(allocator.allocate());
    expect([...got].sort()).toEqual([30000, 30001, 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30009]);
    expect(failure(() => allocator.allocate())).toEqual({
      code: 'FULL',
      message: 'failed to allocate a nodePort: range is full',
    });
    allocator.release(30005);
    allocator.release(29000);
    expect(allocator.allocate()).toBe(30005);
  });

  it('keeps the lower band (86 ports of the default range) for explicit requests', () => {
    const allocator = new NodePortAllocator({ random: () => 0 });
    expect(allocator.allocate()).toBe(30086);
    const many = new NodePortAllocator();
    for (let i = 0; i < 500; i++) expect(many.allocate()).toBeGreaterThanOrEqual(30086);
  });

  it('restores snapshots and rebuilds from stored Services', () => {
    const a = new NodePortAllocator();
    const ports = [a.allocate(), a.allocate()];
    const b = new NodePortAllocator();
    b.restore(a.snapshot());
    expect(b.list()).toEqual([...ports].sort((x, y) => x - y));
    expect(failure(() => new NodePortAllocator({ range: '30000-30100' }).restore(a.snapshot()))?.code).toBe(
      'MISMATCHED_RANGE',
    );
    const report = b.rebuild([30000, 30001, 30001, 80, 32767]);
    expect(report).toEqual({ outOfRange: [80], duplicates: [30001] });
    expect(b.list()).toEqual([30000, 30001, 32767]);
  });
});
