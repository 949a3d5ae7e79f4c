import { describe, expect, it } from 'vitest';
import { backend, route, StaticRouteTable } from '../testing/static-route-table.js';
import { Balancer, endpointKey } from './balancer.js';

describe('Balancer', () => {
  it('goes round robin per backend key, across table swaps, skipping excluded endpoints', () => {
    const lb = new Balancer({ random: () => 0 });
    const b1 = backend('default/web:80', ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
    const seq = [0, 1, 2, 3].map(() => endpointKey(lb.pick(b1, 'round_robin')!));
    expect(seq).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80']);
    // A new table: a new Backend object with the same key keeps the cursor.
    const b2 = backend('default/web:80', ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
    expect(endpointKey(lb.pick(b2, 'round_robin')!)).toBe('10.0.0.2:80');
    expect(endpointKey(lb.pick(b2, 'round_robin', new Set(['10.0.0.3:80']))!)).toBe('10.0.0.1:80');
    expect(
      lb.pick(b2, 'round_robin', new Set(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'])),
    ).toBeUndefined();
  });

  it('EWMA prefers the endpoint with the lower latency', () => {
    let now = 0;
    const lb = new Balancer({ now: () => now });
    const b = backend('default/web:80', ['10.0.0.1:80', '10.0.0.2:80']);
    for (let i = 0; i < 20; i++) {
      now += 100;
      lb.begin('10.0.0.1:80');
      lb.end('10.0.0.1:80', 200);
      lb.begin('10.0.0.2:80');
      lb.end('10.0.0.2:80', 5);
    }
    const picks = new Set(Array.from({ length: 20 }, () => endpointKey(lb.pick(b, 'ewma')!)));
    expect([...picks]).toEqual(['10.0.0.2:80']);
  });

  it('maps sticky cookies back to endpoints and forgets pruned ones', () => {
    const lb = new Balancer();
    const b = backend('default/web:80', ['10.0.0.1:80', '10.0.0.2:80']);
    const v = lb.cookieFor(b, b.endpoints[1]!);
    expect(lb.byCookie(b, v)).toEqual(b.endpoints[1]);
    const gone = backend('default/web:80', ['10.0.0.1:80']);
    lb.prune(new StaticRouteTable([route({ backend: gone })]));
    expect(lb.byCookie(gone, v)).toBeUndefined();
  });
});
