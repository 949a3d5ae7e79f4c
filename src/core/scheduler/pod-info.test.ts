import { describe, expect, it } from 'vitest';
import { milliCpu, podInfo, podRequests } from './pod-info.js';
import { testPod } from './test-objects.js';

const c = (cpu: string | undefined, memory?: string, extra: Record<string, unknown> = {}) => ({
  name: 'c',
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
  ...extra,
});

describe('milliCpu', () => {
  it.each([
    ['1', 1000],
    ['250m', 250],
    ['0.5', 500],
    ['1.0001', 1001],
    [2, 2000],
    ['bogus', 0],
  ])('%s -> %d', (q, want) => expect(milliCpu(q)).toBe(want));
});

describe('podRequests', () => {
  it.each([
    ['containers sum', { containers: [c('100m', '1Mi'), c('200m', '2Mi')] }, 300, 3 * 2 ** 20],
    [
      'init container larger than the sum wins',
      { containers: [c('100m')], initContainers: [c('2')] },
      2000,
      0,
    ],
    [
      'init containers take the max, not the sum',
      { containers: [c('100m')], initContainers: [c('500m'), c('700m')] },
      700,
      0,
    ],
    [
      'sidecar adds to containers and to later init containers',
      {
        containers: [c('100m')],
        initContainers: [c('200m', undefined, { restartPolicy: 'Always' }), c('500m')],
      },
      700,
      0,
    ],
    ['overhead is added', { containers: [c('100m')], overhead: { cpu: '50m', memory: '10' } }, 150, 10],
    ['no requests', { containers: [{ name: 'c' }] }, 0, 0],
  ])('%s', (_name, spec, cpu, mem) => {
    const r = podRequests(spec);
    expect(r.milliCpu).toBe(cpu);
    expect(r.memory).toBe(mem);
  });

  it('counts extended resources and ignores pods', () => {
    const r = podRequests({
      containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '2' } } }],
    });
    expect(r.scalar.get('nvidia.com/gpu')).toBe(2);
  });
});

describe('podInfo', () => {
  it('collects scheduling inputs once', () => {
    const p = podInfo(
      testPod('a', {
        cpu: '1',
        hostPort: 8080,
        ownerUid: 'rs-1',
        nodeSelector: { disk: 'ssd' },
        priority: 5,
      }),
    );
    expect(p.key).toBe('default/a');
    expect(p.requests.milliCpu).toBe(1000);
    expect(p.nonZeroMilliCpu).toBe(1000);
    expect(p.nonZeroMemory).toBe(200 * 2 ** 20);
    expect(p.hostPorts).toEqual([{ protocol: 'TCP', hostIP: '0.0.0.0', port: 8080 }]);
    expect(p.ownerUid).toBe('rs-1');
    expect(p.nodeSelector).toEqual({ disk: 'ssd' });
    expect(p.priority).toBe(5);
    expect(p.requiredTerms).toBeUndefined();
  });
});
