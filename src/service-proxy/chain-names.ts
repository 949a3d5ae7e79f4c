/**
 * Stable chain names, as upstream derives them: a prefix and the first 16 characters of the
 * base32 (RFC 4648) SHA-256 of the service port name + lowercase protocol (+ endpoint for
 * KUBE-SEP-). The same service port therefore always gets the same chain on every node and across
 * restarts, which is what lets a partial sync leave unchanged chains alone.
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const cache = new Map<string, string>();

/** First 16 base32 characters of sha256(input). */
export function hash16(input: string): string {
  const digest = createHash('sha256').update(input).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; out.length < 16; i++) {
    value = (value << 8) | digest[i]!;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

function cached(prefix: string, input: string): string {
  const key = prefix + input;
  let name = cache.get(key);
  if (name === undefined) {
    // A bounded memo: rendering 100,000 endpoints would otherwise hash each one on every full sync.
    if (cache.size > 1_000_000) cache.clear();
    name = prefix + hash16(input);
    cache.set(key, name);
  }
  return name;
}

/** Chain of a service port's cluster policy: KUBE-SVC-<hash>. */
export function svcChain(name: string, protocol: string): string {
  return cached('KUBE-SVC-', name + protocol.toLowerCase());
}

/** Chain of a service port's local policy (local endpoints only): KUBE-SVL-<hash>. */
export function svlChain(name: string, protocol: string): string {
  return cached('KUBE-SVL-', name + protocol.toLowerCase());
}

/** Chain of a service port's external destinations (NodePort, externalIPs, LB IPs): KUBE-EXT-<hash>. */
export function extChain(name: string, protocol: string): string {
  return cached('KUBE-EXT-', name + protocol.toLowerCase());
}

/** Chain checking loadBalancerSourceRanges: KUBE-FW-<hash>. */
export function fwChain(name: string, protocol: string): string {
  return cached('KUBE-FW-', name + protocol.toLowerCase());
}

/** Chain of one endpoint of one service port: KUBE-SEP-<hash>. */
export function sepChain(name: string, protocol: string, endpoint: string): string {
  return cached('KUBE-SEP-', name + protocol.toLowerCase() + endpoint);
}

/** Prefixes of the per-service chains this proxy owns: stale ones with these prefixes are deleted. */
export const OWNED_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'] as const;

/** True for a per-service chain name this proxy owns. */
export function isOwnedServiceChain(chain: string): boolean {
  return OWNED_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}
