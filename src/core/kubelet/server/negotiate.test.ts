import { describe, expect, it } from 'vitest';
import { headerList, negotiate, negotiationFailure, upgradeKind } from './negotiate.js';

describe('upgrade negotiation', () => {
  it.each([
    [{ connection: 'Upgrade', upgrade: 'websocket' }, 'websocket'],
    [{ connection: 'keep-alive, Upgrade', upgrade: 'WebSocket' }, 'websocket'],
    [{ connection: 'Upgrade', upgrade: 'SPDY/3.1' }, 'spdy'],
    [{ connection: 'close', upgrade: 'SPDY/3.1' }, undefined],
    [{ connection: 'Upgrade', upgrade: 'h2c' }, undefined],
    [{}, undefined],
  ])('%j -> %s', (headers, kind) => {
    expect(upgradeKind(headers)).toBe(kind);
  });

  it('splits repeated and comma-separated headers', () => {
    expect(headerList(['v4.channel.k8s.io', 'v3.channel.k8s.io, channel.k8s.io'])).toEqual([
      'v4.channel.k8s.io',
      'v3.channel.k8s.io',
      'channel.k8s.io',
    ]);
    expect(headerList(undefined)).toEqual([]);
  });

  it("takes the client's first supported protocol", () => {
    const server = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
    expect(negotiate(['v4.channel.k8s.io', 'v5.channel.k8s.io'], server)).toBe('v4.channel.k8s.io');
    expect(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io'], server)).toBe('v5.channel.k8s.io');
    expect(negotiate(['channel.k8s.io'], server)).toBeUndefined();
    expect(negotiationFailure(['a', 'b'], ['c'])).toBe(
      'unable to upgrade: unable to negotiate protocol: client supports [a b], server accepts [c]',
    );
  });
});
