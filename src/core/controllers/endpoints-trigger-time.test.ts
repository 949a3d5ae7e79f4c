import { describe, expect, it } from 'vitest';
import { pod, service } from './endpoints-fixtures.js';
import { podTriggerTime, TriggerTimeTracker } from './endpoints-trigger-time.js';

const T = (s: string) => Date.parse(`2024-01-01T${s}Z`);
const at = (name: string, time: string) => pod(name, { readySince: `2024-01-01T${time}Z` });

describe('TriggerTimeTracker', () => {
  it('runs a sequence of syncs and reports the earliest change of each', () => {
    const svc = service('web'); // created 2023-12-31
    const t = new TriggerTimeTracker();
    const steps: [string, ReturnType<typeof pod>[], number | undefined][] = [
      [
        'first sync: the earliest of service creation and pod transitions',
        [at('a', '10:00:00')],
        Date.parse('2023-12-31T00:00:00Z'),
      ],
      ['nothing changed', [at('a', '10:00:00')], undefined],
      ['one pod transitioned', [at('a', '10:05:00')], T('10:05:00')],
      ['two changes: the earlier one', [at('a', '10:09:00'), at('b', '10:07:00')], T('10:07:00')],
      ['a pod removed: no trigger from it', [at('b', '10:07:00')], undefined],
    ];
    for (const [name, pods, want] of steps) expect(t.compute(svc, pods), name).toBe(want);
  });

  it('forgets deleted services', () => {
    const t = new TriggerTimeTracker();
    const svc = service('web');
    t.compute(svc, []);
    expect(t.compute(svc, [])).toBeUndefined();
    t.delete('ns', 'web');
    expect(t.compute(svc, [])).toBe(Date.parse('2023-12-31T00:00:00Z'));
  });

  it('podTriggerTime: Ready lastTransitionTime or 0', () => {
    expect(podTriggerTime(at('a', '01:02:03'))).toBe(T('01:02:03'));
    const p = pod('b');
    p.status!.conditions = [];
    expect(podTriggerTime(p)).toBe(0);
  });
});
