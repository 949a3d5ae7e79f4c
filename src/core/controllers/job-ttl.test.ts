import type { Job } from 'kubernetes-types/batch/v1.js';
import { describe, expect, it } from 'vitest';
import { ttlRemainingMs } from './job-ttl.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function job(ttl: number | undefined, finished?: { type: string; at: string }, deleting = false): Job {
  return {
    metadata: {
      name: 'j',
      namespace: 'default',
      ...(deleting ? { deletionTimestamp: '2024-05-01T11:00:00Z' } : {}),
    },
    spec: { template: {}, ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }) },
    status: finished
      ? { conditions: [{ type: finished.type, status: 'True', lastTransitionTime: finished.at }] }
      : {},
  };
}

describe('ttlRemainingMs', () => {
  it.each([
    ['no ttl', job(undefined, { type: 'Complete', at: '2024-05-01T11:59:00Z' }), undefined],
    ['not finished', job(10), undefined],
    ['complete, not yet expired', job(100, { type: 'Complete', at: '2024-05-01T11:59:00Z' }), 40_000],
    ['failed, expired', job(10, { type: 'Failed', at: '2024-05-01T11:59:00Z' }), -50_000],
    ['ttl 0: expires at once', job(0, { type: 'Complete', at: '2024-05-01T12:00:00Z' }), 0],
    ['already being deleted', job(0, { type: 'Complete', at: '2024-05-01T11:00:00Z' }, true), undefined],
  ])('%s', (_title, j, want) => {
    expect(ttlRemainingMs(j, NOW)).toBe(want);
  });
});
