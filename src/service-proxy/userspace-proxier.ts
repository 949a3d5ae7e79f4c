/**
 * userspace mode (rootless, or where iptables is missing): a TCP or UDP listener per ClusterIP:port
 * (on its rootless loopback address by default, see rootless-address.ts) and per NodePort, each
 * picking a ready endpoint round robin (serving terminating ones when none is ready; local ones
 * only for NodePort traffic under externalTrafficPolicy Local), with ClientIP session affinity,
 * a retry on the next endpoint when one refuses, and graceful draining: a removed service port
 * stops accepting at once while its open connections may finish for `drainTimeoutMs`.
 * A port with no endpoint resets new TCP connections at once (the userspace counterpart of REJECT).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { ProxyBackend, SyncRequest, SyncResult } from './backend.js';
import { ListenError } from './errors.js';
import { usableEndpoints } from './iptables-render.js';
import { type EndpointInfo, endpointString, type ServicePortInfo } from './model.js';
import { rootlessAddress } from './rootless-address.js';

export interface UserspaceProxierOptions {
  nodeName: string;
  /** Where a ClusterIP:port listens (default: the rootless loopback mapping). */
  addressFor?: ((clusterIP: string, port: number) => { host: string; port: number }) | undefined;
  /** Address NodePorts listen on (default 0.0.0.0). */
  nodePortHost?: string | undefined;
  /** Map a NodePort to the port opened (tests: 0 for a free one). */
  nodePortFor?: ((nodePort: number) => number) | undefined;
  /** Time a connection to an endpoint may take before the next one is tried (default 2 s). */
  dialTimeoutMs?: number | undefined;
  /** Open connections of a removed service port are cut after this long (default 30 s). */
  drainTimeoutMs?: number | undefined;
  /** A UDP client session with no traffic for this long is closed (default 60 s). */
  udpIdleMs?: number | undefined;
  now?: (() => number) | undefined;
  log?: ((line: string) => void) | undefined;
}

/** Endpoint choice of one service port: round robin with optional ClientIP affinity. */
export class EndpointPicker {
  endpoints: readonly EndpointInfo[] = [];
  affinitySeconds = 0;
  private next = 0;
  private readonly affinity = new Map<string, { ep: string; at: number }>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Endpoints to try in order for this client: the sticky one (if any) first, then round robin. */
  order(clientIP: string): EndpointInfo[] {
    const eps = this.endpoints;
    if (eps.length === 0) return [];
    if (this.affinitySeconds > 0) {
      const a = this.affinity.get(clientIP);
      if (a && this.now() - a.at < this.affinitySeconds * 1000) {
        const i = eps.findIndex((e) => endpointString(e) === a.ep);
        if (i >= 0) return [eps[i]!, ...eps.filter((_, j) => j !== i)];
      }
    }
    const start = this.next++ % eps.length;
    return [...eps.slice(start), ...eps.slice(0, start)];
  }

  /** Record that this client was served by `ep` (refreshes affinity). */
  served(clientIP: string, ep: EndpointInfo): void {
    if (this.affinitySeconds > 0) this.affinity.set(clientIP, { ep: endpointString(ep), at: this.now() });
  }
}

interface Listener {
  key: string;
  kind: 'cluster' | 'nodeport';
  protocol: 'TCP' | 'UDP';
  host: string;
  port: number;
  picker: EndpointPicker;
  tcp?: net.Server;
  udp?: dgram.Socket;
  conns: Set<net.Socket>;
  sessions: Map<string, { sock: dgram.Socket; timer: NodeJS.Timeout }>;
}

export class UserspaceProxier implements ProxyBackend {
  readonly mode = 'userspace' as const;
  private readonly opts: UserspaceProxierOptions;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  /** listener id (`key|cluster` or `key|nodeport`) -> listener */
  private readonly listeners = new Map<string, Listener>();
  private readonly draining = new Set<NodeJS.Timeout>();

  constructor(opts: UserspaceProxierOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((l) => console.error(l));
  }

  /** The address a service port's ClusterIP listener is bound to, if open. */
  address(key: string, kind: 'cluster' | 'nodeport' = 'cluster'): { host: string; port: number } | undefined {
    const l = this.listeners.get(`${key}|${kind}`);
    return l ? { host: l.host, port: l.port } : undefined;
  }

  async sync(req: SyncRequest): Promise<SyncResult> {
    const t0 = performance.now();
    const keys = new Set<string>();
    if (req.full) for (const k of req.state.services.keys()) keys.add(k);
    else for (const s of req.changedServices) for (const k of req.state.portsOf(s)) keys.add(k);
    for (const l of this.listeners.values())
      if (req.full || req.changedServices.has(serviceOf(l.key))) keys.add(l.key);
    for (const key of keys)
      await this.syncPort(key, req.state.services.get(key), req.state.endpoints.get(key) ?? []);
    const ms = performance.now() - t0;
    return {
      full: req.full,
      generateMs: 0,
      applyMs: ms,
      ruleCounts: { listeners: this.listeners.size },
      rulesWritten: {},
    };
  }

  private async syncPort(
    key: string,
    sp: ServicePortInfo | undefined,
    eps: readonly EndpointInfo[],
  ): Promise<void> {
    const wanted = new Map<string, { host: string; port: number; local: boolean }>();
    if (sp && (sp.protocol === 'TCP' || sp.protocol === 'UDP')) {
      const cip = sp.clusterIPs[0];
      if (cip)
        wanted.set('cluster', {
          ...(this.opts.addressFor ?? rootlessAddress)(cip, sp.port),
          local: sp.internalPolicyLocal,
        });
      if (sp.nodePort)
        wanted.set('nodeport', {
          host: this.opts.nodePortHost ?? '0.0.0.0',
          port: this.opts.nodePortFor?.(sp.nodePort) ?? sp.nodePort,
          local: sp.externalPolicyLocal,
        });
    }
    for (const kind of ['cluster', 'nodeport'] as const) {
      const id = `${key}|${kind}`;
      const cur = this.listeners.get(id);
      const w = wanted.get(kind);
      if (
        cur &&
        (!w ||
          cur.protocol !== sp?.protocol ||
          (w.port !== 0 && (cur.host !== w.host || cur.port !== w.port)))
      ) {
        this.listeners.delete(id);
        this.drain(cur);
      }
      if (!w || !sp) continue;
      let l = this.listeners.get(id);
      if (!l) {
        try {
          l = await this.open(key, kind, sp.protocol as 'TCP' | 'UDP', w.host, w.port);
          this.listeners.set(id, l);
        } catch (e) {
          this.log(`k8ts service-proxy: ${sp.name}: ${(e as Error).message}`);
          continue;
        }
      }
      const pool = w.local ? eps.filter((e) => e.nodeName === this.opts.nodeName) : eps;
      l.picker.endpoints = usableEndpoints(pool);
      l.picker.affinitySeconds = sp.affinitySeconds;
    }
  }

  private open(
    key: string,
    kind: Listener['kind'],
    protocol: 'TCP' | 'UDP',
    host: string,
    port: number,
  ): Promise<Listener> {
    const l: Listener = {
      key,
      kind,
      protocol,
      host,
      port,
      picker: new EndpointPicker(this.now),
      conns: new Set(),
      sessions: new Map(),
    };
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(new ListenError(`${protocol} ${host}:${port}`, e.message));
      if (protocol === 'TCP') {
        const server = net.createServer((sock) => this.onTcp(l, sock));
        server.once('error', fail);
        server.listen({ host, port, exclusive: true }, () => {
          server.off('error', fail);
          server.on('error', (e) => this.log(`k8ts service-proxy: listener ${host}:${port}: ${e.message}`));
          l.tcp = server;
          l.port = (server.address() as net.AddressInfo).port;
          resolve(l);
        });
      } else {
        const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
        sock.once('error', fail);
        sock.bind(port, host, () => {
          sock.off('error', fail);
          sock.on('error', (e) => this.log(`k8ts service-proxy: listener ${host}:${port}: ${e.message}`));
          sock.on('message', (msg, rinfo) => this.onUdp(l, msg, rinfo));
          l.udp = sock;
          l.port = sock.address().port;
          resolve(l);
        });
      }
    });
  }

  private onTcp(l: Listener, client: net.Socket): void {
    const clientIP = client.remoteAddress ?? '';
    const order = l.picker.order(clientIP);
    if (order.length === 0) {
      client.resetAndDestroy();
      return;
    }
    l.conns.add(client);
    client.on('close', () => l.conns.delete(client));
    client.on('error', () => {});
    client.pause();
    const attempt = (i: number) => {
      const ep = order[i];
      if (!ep || client.destroyed) {
        if (!client.destroyed) client.resetAndDestroy();
        return;
      }
      const upstream = net.connect({ host: ep.ip, port: ep.port });
      upstream.setTimeout(this.opts.dialTimeoutMs ?? 2000);
      const onFail = () => {
        upstream.destroy();
        attempt(i + 1); // refused (or unreachable / timed out): the next endpoint
      };
      upstream.once('error', onFail);
      upstream.once('timeout', onFail);
      upstream.once('connect', () => {
        upstream.off('error', onFail);
        upstream.off('timeout', onFail);
        upstream.setTimeout(0);
        l.picker.served(clientIP, ep);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  private onUdp(l: Listener, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const id = `${rinfo.address}|${rinfo.port}`;
    let s = l.sessions.get(id);
    const idle = this.opts.udpIdleMs ?? 60_000;
    if (!s) {
      const ep = l.picker.order(rinfo.address)[0];
      if (!ep) return;
      l.picker.served(rinfo.address, ep);
      const sock = dgram.createSocket({ type: ep.ip.includes(':') ? 'udp6' : 'udp4' });
      sock.on('error', () => close());
      sock.on('message', (reply) => {
        l.udp?.send(reply, rinfo.port, rinfo.address);
        s?.timer.refresh();
      });
      const close = () => {
        const cur = l.sessions.get(id);
        if (cur) {
          clearTimeout(cur.timer);
          l.sessions.delete(id);
        }
        try {
          sock.close();
        } catch {}
      };
      sock.connect(ep.port, ep.ip);
      s = { sock, timer: setTimeout(close, idle) };
      s.timer.unref();
      l.sessions.set(id, s);
      const sess = s;
      sock.once('connect', () => sess.sock.send(msg));
      return;
    }
    s.timer.refresh();
    try {
      s.sock.send(msg);
    } catch {}
  }

  /** Stop accepting now; let open connections finish for the drain timeout, then cut them. */
  private drain(l: Listener): void {
    l.tcp?.close();
    try {
      l.udp?.close();
    } catch {}
    for (const s of l.sessions.values()) {
      clearTimeout(s.timer);
      try {
        s.sock.close();
      } catch {}
    }
    l.sessions.clear();
    if (l.conns.size === 0) return;
    const t = setTimeout(() => {
      this.draining.delete(t);
      for (const c of l.conns) c.destroy();
    }, this.opts.drainTimeoutMs ?? 30_000);
    t.unref();
    this.draining.add(t);
  }

  async stop(): Promise<void> {
    for (const l of this.listeners.values()) {
      l.tcp?.close();
      for (const c of l.conns) c.destroy();
      try {
        l.udp?.close();
      } catch {}
      for (const s of l.sessions.values()) {
        clearTimeout(s.timer);
        try {
          s.sock.close();
        } catch {}
      }
    }
    this.listeners.clear();
    for (const t of this.draining) clearTimeout(t);
    this.draining.clear();
  }
}

function serviceOf(key: string): string {
  // key = `ns/name[:port]/PROTO`
  const noProto = key.slice(0, key.lastIndexOf('/'));
  const colon = noProto.indexOf(':');
  return colon >= 0 ? noProto.slice(0, colon) : noProto;
}
