/**
 * The three probe mechanisms: HTTP GET (success on 200-399; redirects not followed), TCP connect,
 * and exec (exit code 0) through the runtime. gRPC probes are not implemented (TODO(#4)): they
 * report failure with a message saying so.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { KObj } from '../client/informer.js';
import type { ProbeResult } from './probe-worker.js';

/** The container port a probe or lifecycle handler names (number or named port). */
export function resolvePort(port: unknown, container: KObj): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return Number(port);
    const p = ((container.ports ?? []) as KObj[]).find((x) => x.name === port);
    return p?.containerPort;
  }
  return undefined;
}

/** HTTP(S) GET; success is a 2xx/3xx answer within the timeout. */
export function httpProbe(
  action: KObj,
  opts: { host: string; container: KObj; timeoutMs: number },
): Promise<ProbeResult> {
  const port = resolvePort(action.port, opts.container);
  if (port === undefined)
    return Promise.resolve({ ok: false, message: `invalid port ${String(action.port)}` });
  const host: string = action.host || opts.host;
  const scheme = String(action.scheme ?? 'HTTP').toUpperCase();
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const h of (action.httpHeaders ?? []) as KObj[])
    headers[String(h.name).toLowerCase()] = String(h.value);
  const mod = scheme === 'HTTPS' ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(
      {
        host,
        port,
        path: action.path || '/',
        method: 'GET',
        headers,
        timeout: opts.timeoutMs,
        ...(scheme === 'HTTPS' ? { rejectUnauthorized: false } : {}),
        agent: false,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 400) resolve({ ok: true });
        else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({
        ok: false,
        message: `Get "${scheme.toLowerCase()}://${host}:${port}${action.path || '/'}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    });
    req.on('error', (e) =>
      resolve({
        ok: false,
        message: `Get "${scheme.toLowerCase()}://${host}:${port}${action.path || '/'}": ${e.message}`,
      }),
    );
    req.end();
  });
}

/** TCP connect within the timeout. */
export function tcpProbe(
  action: KObj,
  opts: { host: string; container: KObj; timeoutMs: number },
): Promise<ProbeResult> {
  const port = resolvePort(action.port, opts.container);
  if (port === undefined)
    return Promise.resolve({ ok: false, message: `invalid port ${String(action.port)}` });
  const host: string = action.host || opts.host;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, opts.timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` });
    });
  });
}
