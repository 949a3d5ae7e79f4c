import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JoinError } from './errors.js';
import {
  bearerOf,
  caHash,
  checkTokenId,
  formatJoinToken,
  generateBootstrapToken,
  isBootstrapToken,
  parseJoinToken,
} from './join-token.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const HASH = createHash('sha256').update(CA).digest('hex');

describe('join tokens', () => {
  it('hash the CA bundle bytes as served (sha256 hex)', () => {
    expect(caHash(CA)).toBe(HASH);
    expect(caHash(Buffer.from(CA))).toBe(HASH);
    // One byte more (a missing trailing newline elsewhere) is another hash: bytes, not certificates.
    expect(caHash(`${CA}\n`)).not.toBe(HASH);
  });

  it('generate kubeadm-shaped ids and secrets', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const t = generateBootstrapToken();
      expect(t.id).toMatch(/^[a-z0-9]{6}$/);
      expect(t.secret).toMatch(/^[a-z0-9]{16}$/);
      expect(isBootstrapToken(bearerOf(t))).toBe(true);
      seen.add(t.id);
    }
    expect(seen.size).toBeGreaterThan(45);
  });

  it('format and parse round-trip', () => {
    const t = { id: 'abcdef', secret: '0123456789abcdef' };
    const s = formatJoinToken(t, CA);
    expect(s).toBe(`K10${HASH}::abcdef.0123456789abcdef`);
    expect(parseJoinToken(`  ${s}\n`)).toEqual({ ...t, caHash: HASH });
    expect(
      parseJoinToken(s.toUpperCase().replace('::ABCDEF.0123456789ABCDEF', '::abcdef.0123456789abcdef'))
        .caHash,
    ).toBe(HASH);
  });

  const good = `K10${HASH}::abcdef.0123456789abcdef`;
  const cases: Array<[string, string, string | { id: string; secret: string; caHash?: string }]> = [
    ['bare bootstrap token', 'abcdef.0123456789abcdef', { id: 'abcdef', secret: '0123456789abcdef' }],
    ['full token', good, { id: 'abcdef', secret: '0123456789abcdef', caHash: HASH }],
    ['no K10 prefix', `K11${HASH}::abcdef.0123456789abcdef`, 'must look like K10<sha256 hex of the CA>'],
    ['no separator', `K10${HASH}abcdef.0123456789abcdef`, 'has no "::"'],
    ['short hash', `K10${HASH.slice(1)}::abcdef.0123456789abcdef`, 'is not 64 hex digits'],
    ['non-hex hash', `K10${'g'.repeat(64)}::abcdef.0123456789abcdef`, 'is not 64 hex digits'],
    [
      'k3s user:password form',
      `K10${HASH}::server:secret`,
      'token id of the join token must match [a-z0-9]{6}',
    ],
    ['short secret', `K10${HASH}::abcdef.0123`, 'token secret of the join token must match [a-z0-9]{16}'],
    ['upper-case secret', `K10${HASH}::abcdef.0123456789ABCDEF`, 'token secret of the join token'],
    ['empty', '', 'must look like K10'],
  ];
  it.each(cases)('%s', (_name, input, want) => {
    if (typeof want === 'string') {
      expect(() => parseJoinToken(input)).toThrow(JoinError);
      expect(() => parseJoinToken(input)).toThrow(want);
      // A credential is never echoed back in the error.
      try {
        parseJoinToken(input);
      } catch (e) {
        if (input.length > 8) expect((e as Error).message).not.toContain(input);
      }
    } else expect(parseJoinToken(input)).toEqual(want);
  });

  it('check token ids', () => {
    expect(checkTokenId('abc123')).toBe('abc123');
    for (const bad of ['abc', 'ABC123', 'abc1234', 'abc-12'])
      expect(() => checkTokenId(bad)).toThrow(/invalid token id/);
  });
});
