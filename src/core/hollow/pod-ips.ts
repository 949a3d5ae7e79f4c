/**
 * Pod IPs of hollow nodes, free of I/O: from the node's podCIDR when it has one (host addresses
 * from .2, .1 being the bridge a real node would use), else from a fake range no cluster uses.
 * Addresses seen on existing pods are marked used first, so a restart hands out no duplicates.
 */
import { formatIpv4, parseCidr, parseIpv4 } from '../controllers/node-ipam-cidr-set.js';

/** Shared by every node without a podCIDR (CGNAT space: 100.64.0.0/10). */
const FAKE_BASE = parseIpv4('100.64.0.0')!;
const FAKE_SIZE = 2 ** 22;

export class PodIpAllocator {
  /** ip -> owner (pod uid) */
  private readonly used = new Map<string, string>();
  private readonly byOwner = new Map<string, string>();
  private fakeNext = 1;

  /** Record an IP an existing pod already carries. */
  observe(owner: string, ip: string): void {
    if (this.byOwner.get(owner) === ip) return;
    this.used.set(ip, owner);
    this.byOwner.set(owner, ip);
  }

  /** The IP of `owner`, allocated now if it has none (from podCidr when given and not full). */
  ipFor(owner: string, podCidr: string | undefined): string {
    const held = this.byOwner.get(owner);
    if (held) return held;
    const ip = (podCidr && this.fromCidr(podCidr)) || this.fake();
    this.used.set(ip, owner);
    this.byOwner.set(owner, ip);
    return ip;
  }

  /** Free the IP of a pod that is gone. */
  release(owner: string): void {
    const ip = this.byOwner.get(owner);
    if (!ip) return;
    this.byOwner.delete(owner);
    if (this.used.get(ip) === owner) this.used.delete(ip);
  }

  private fromCidr(cidr: string): string | undefined {
    const c = parseCidr(cidr);
    if (!c || c.prefix > 30) return undefined;
    const size = 2 ** (32 - c.prefix);
    // .0 network, .1 gateway, last broadcast
    for (let i = 2; i < size - 1; i++) {
      const ip = formatIpv4((c.base + i) >>> 0);
      if (!this.used.has(ip)) return ip;
    }
    return undefined;
  }

  private fake(): string {
    for (let n = 0; n < FAKE_SIZE; n++) {
      const i = this.fakeNext;
      this.fakeNext = (this.fakeNext % (FAKE_SIZE - 2)) + 1;
      const ip = formatIpv4((FAKE_BASE + i) >>> 0);
      if (!this.used.has(ip)) return ip;
    }
    throw new Error('hollow nodes: fake pod IP range 100.64.0.0/10 exhausted');
  }
}
