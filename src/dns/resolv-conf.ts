/**
 * The node's resolv.conf: its nameservers are the default upstreams of the forwarder.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Upstream } from './forwarder.js';

/** Nameservers of a resolv.conf text (port 53; scoped IPv6 zones dropped; bad lines skipped). */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, '');
    if (net.isIP(host) === 0) continue;
    out.push({ host, port: 53 });
  }
  return out;
}

/** Nameservers of a resolv.conf file ([] when it cannot be read). */
export function readResolvConf(path = '/etc/resolv.conf'): Upstream[] {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}
