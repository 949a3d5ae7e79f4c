import { describe, expect, it } from 'vitest';
import { CrashBackoff } from './crash-backoff.js';

describe('CrashBackoff', () => {
  it('first restart immediate, then 10 s doubling to 5 min', () => {
    const b = new CrashBackoff();
    let t = 0;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      // the container exits right away each time
      const finished = t;
      if (b.inBackoff('k', finished, t)) {
        t = b.restartAt('k', finished);
        expect(b.inBackoff('k', finished, t)).toBe(false);
      }
      delays.push(t - finished);
      b.next('k', t);
    }
    expect(delays).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });
  it('resets once the container ran for 10 minutes', () => {
    const b = new CrashBackoff();
    b.next('k', 0);
    b.next('k', 1000);
    b.next('k', 2000);
    expect(b.delay('k')).toBe(40_000);
    const finished = 2000 + 10 * 60_000 + 1;
    expect(b.inBackoff('k', finished, finished)).toBe(false);
    b.next('k', finished);
    expect(b.delay('k')).toBe(10_000);
  });
  it('is per key; forgetPrefix drops a pod', () => {
    const b = new CrashBackoff({ initialMs: 1000, maxMs: 4000 });
    b.next('uid/a', 0);
    b.next('uid/b', 0);
    b.next('other/a', 0);
    b.forgetPrefix('uid/');
    expect(b.delay('uid/a')).toBe(0);
    expect(b.delay('other/a')).toBe(1000);
  });
});
