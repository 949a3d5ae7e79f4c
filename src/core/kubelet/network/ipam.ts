/**
 * Pod IPAM on one node: addresses of the node's podCIDR handed out one per pod UID, persisted in
 * `<data-dir>/network/ipam.json` (written atomically on every change) so a restarted kubelet
 * gives every running pod its old address and never hands one address to two pods. The network
 * address, the gateway (first address, the bridge's) and the broadcast address are never given.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatIpv4, parseCidr, parseIpv4 } from '../../controllers/node-ipam-cidr-set.js';
import { KubeletError } from '../errors.js';

export interface IpamState {
  cidr: string;
  /** pod UID -> IP */
  allocations: Record<string, string>;
}

/** The pure allocator: first free address after the last one given (round robin, as host-local). */
export class IpamAllocator {
  readonly cidr: string;
  private readonly base: number;
  private readonly size: number;
  private readonly byUid = new Map<string, string>();
  private readonly used = new Set<string>();
  private last: number;

  constructor(cidr: string, allocations: Record<string, string> = {}) {
    const c = parseCidr(cidr);
    if (!c || c.prefix > 30)
      throw new KubeletError('OPTIONS', `pod CIDR must be an IPv4 network of /30 or larger, got "${cidr}"`);
    this.cidr = cidr;
    this.base = c.base;
    this.size = 2 ** (32 - c.prefix);
    this.last = 1;
    for (const [uid, ip] of Object.entries(allocations)) {
      const n = parseIpv4(ip);
      if (n === undefined || !this.contains(n) || this.used.has(ip)) continue;
      this.byUid.set(uid, ip);
      this.used.add(ip);
    }
  }

  private contains(n: number): boolean {
    const off = (n - this.base) >>> 0;
    return off >= 2 && off < this.size - 1;
  }

  /** The gateway (first usable address). */
  gateway(): string {
    return formatIpv4((this.base + 1) >>> 0);
  }

  /** The address of `uid` (the same one on every call until released). */
  allocate(uid: string): string {
    const have = this.byUid.get(uid);
    if (have) return have;
    const usable = this.size - 3;
    for (let i = 0; i < usable; i++) {
      const off = 2 + ((this.last - 2 + 1 + i + usable) % usable);
      const ip = formatIpv4((this.base + off) >>> 0);
      if (this.used.has(ip)) continue;
      this.last = off;
      this.byUid.set(uid, ip);
      this.used.add(ip);
      return ip;
    }
    throw new KubeletError('IPAM_EXHAUSTED', `no free address left in pod CIDR ${this.cidr}`);
  }

  get(uid: string): string | undefined {
    return this.byUid.get(uid);
  }

  release(uid: string): void {
    const ip = this.byUid.get(uid);
    if (!ip) return;
    this.byUid.delete(uid);
    this.used.delete(ip);
  }

  uids(): string[] {
    return [...this.byUid.keys()];
  }

  state(): IpamState {
    return { cidr: this.cidr, allocations: Object.fromEntries(this.byUid) };
  }
}

/** The allocator backed by its file. */
export class PersistentIpam {
  private readonly path: string;
  private alloc: IpamAllocator | undefined;
  private chain: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Load for `cidr` (allocations of another CIDR are dropped: the node got a new range). */
  init(cidr: string): IpamAllocator {
    let saved: IpamState | undefined;
    if (existsSync(this.path)) {
      try {
        saved = JSON.parse(readFileSync(this.path, 'utf8'));
      } catch {
        saved = undefined;
      }
    }
    this.alloc = new IpamAllocator(cidr, saved?.cidr === cidr ? saved.allocations : {});
    this.save();
    return this.alloc;
  }

  get ready(): boolean {
    return this.alloc !== undefined;
  }

  private must(): IpamAllocator {
    if (!this.alloc) throw new KubeletError('NETWORK', 'the node has no pod CIDR yet');
    return this.alloc;
  }

  /** The address of `uid`; resolves once the file that records it is written. */
  async allocate(uid: string): Promise<string> {
    const a = this.must();
    const had = a.get(uid);
    const ip = a.allocate(uid);
    if (!had) await this.persist();
    return ip;
  }

  get(uid: string): string | undefined {
    return this.alloc?.get(uid);
  }

  async release(uid: string): Promise<void> {
    if (!this.alloc?.get(uid)) return;
    this.alloc.release(uid);
    await this.persist();
  }

  uids(): string[] {
    return this.alloc?.uids() ?? [];
  }

  gateway(): string {
    return this.must().gateway();
  }

  /**
   * Write the current state soon, without blocking the event loop: changes made while a write is
   * in flight share the next one (100 pods at once: a handful of writes instead of 100 sync ones).
   * Resolves once a write that started after this call is on disk.
   */
  private persist(): Promise<void> {
    this.next ??= this.chain.then(async () => {
      this.next = undefined;
      if (!this.alloc) return;
      const tmp = `${this.path}.tmp`;
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(tmp, JSON.stringify(this.alloc.state()));
      await rename(tmp, this.path);
    });
    this.chain = this.next.catch(() => {});
    return this.next;
  }

  private save(): void {
    if (!this.alloc) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.alloc.state()));
    renameSync(tmp, this.path);
  }
}

/**
 * Rootless pod IPs: the podCIDR mapped into 127.0.0.0/8 by replacing its first octet with 127
 * (10.42.3.0/24 -> 127.42.3.0/24; pod 10.42.3.7 is 127.42.3.7). Linux routes all of 127/8 to
 * the loopback interface, so each pod can bind its own address with no setup.
 */
export function loopbackCidr(podCidr: string): string {
  const c = parseCidr(podCidr);
  if (!c) throw new KubeletError('OPTIONS', `not an IPv4 CIDR: "${podCidr}"`);
  const prefix = Math.max(c.prefix, 8);
  const mapped = ((127 << 24) | (c.base & 0x00ffffff)) >>> 0;
  return `${formatIpv4(mapped)}/${prefix}`;
}
