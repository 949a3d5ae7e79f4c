/**
 * Where the userspace proxy listens for a ClusterIP in rootless mode, where the ClusterIP itself
 * cannot be bound (no root, no address on any interface). Every address in 127.0.0.0/8 is local
 * on Linux and any user may bind it, so:
 *
 *   ClusterIP a.b.c.d, port p  ->  127.b.c.d, port p            (p >= the unprivileged port start)
 *                              ->  127.b.c.d, port p + 10000    (p below it, e.g. 80 -> 10080)
 *   IPv6 ClusterIP             ->  127.x.y.z from its low 24 bits, same port rule
 *
 * The DNS server in rootless mode answers these addresses for service names (TODO(#5): the DNS
 * issue reads this function), so clients resolve and connect without knowing the mapping.
 */
import { readFileSync } from 'node:fs';
import { parseIp } from './cidr.js';

/** Offset added to privileged ports that cannot be bound without root. */
export const PRIVILEGED_PORT_OFFSET = 10000;

/** The lowest port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start). */
export function unprivilegedPortStart(): number {
  if (process.getuid?.() === 0) return 0;
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024;
  } catch {
    return 1024;
  }
}

/** The loopback address and port standing in for a ClusterIP:port in rootless mode. */
export function rootlessAddress(
  clusterIP: string,
  port: number,
  opts: { unprivilegedPortStart?: number } = {},
): { host: string; port: number } {
  const p = parseIp(clusterIP);
  const low = p ? Number(p.value & 0xffffffn) : 1;
  const host = `127.${(low >> 16) & 255}.${(low >> 8) & 255}.${low & 255}`;
  const start = opts.unprivilegedPortStart ?? unprivilegedPortStart();
  return {
    host: host === '127.0.0.0' ? '127.0.0.1' : host,
    port: port < start ? port + PRIVILEGED_PORT_OFFSET : port,
  };
}
