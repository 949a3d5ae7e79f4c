/**
 * The kubelet API's URL space (port 10250) and its query parameters, parsed as the kubelet does:
 *
 *   /healthz, /pods
 *   /containerLogs/{ns}/{pod}/{container}?follow=&previous=&timestamps=&tailLines=&sinceSeconds=&sinceTime=&limitBytes=
 *   /exec/{ns}/{pod}[/{uid}]/{container}?command=..&command=..&input=1&output=1&error=1&tty=1
 *   /attach/{ns}/{pod}[/{uid}]/{container}?input=1&output=1&error=1&tty=1
 *   /portForward/{ns}/{pod}[/{uid}]
 *
 * Pure.
 */
import type { ContainerRef, ExecOptions, LogOptions } from '../streams.js';

export type KubeletRoute =
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'containerLogs'; ref: ContainerRef }
  | { kind: 'exec'; ref: ContainerRef }
  | { kind: 'attach'; ref: ContainerRef }
  | { kind: 'portForward'; pod: { namespace: string; pod: string; uid?: string } };

function segments(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The route of a request path, or undefined (404). */
export function parseKubeletPath(pathname: string): KubeletRoute | undefined {
  const parts = segments(pathname);
  if (!parts || parts.length === 0) return undefined;
  const [head, ...rest] = parts;
  switch (head) {
    case 'healthz':
      return rest.length === 0 ? { kind: 'healthz' } : undefined;
    case 'pods':
      return rest.length === 0 ? { kind: 'pods' } : undefined;
    case 'containerLogs':
      if (rest.length !== 3) return undefined;
      return { kind: 'containerLogs', ref: { namespace: rest[0]!, pod: rest[1]!, container: rest[2]! } };
    case 'exec':
    case 'attach': {
      if (rest.length === 3)
        return { kind: head, ref: { namespace: rest[0]!, pod: rest[1]!, container: rest[2]! } };
      if (rest.length === 4)
        return {
          kind: head,
          ref: { namespace: rest[0]!, pod: rest[1]!, uid: rest[2]!, container: rest[3]! },
        };
      return undefined;
    }
    case 'portForward':
      if (rest.length === 2) return { kind: 'portForward', pod: { namespace: rest[0]!, pod: rest[1]! } };
      if (rest.length === 3)
        return { kind: 'portForward', pod: { namespace: rest[0]!, pod: rest[1]!, uid: rest[2]! } };
      return undefined;
    default:
      return undefined;
  }
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true';
}

/** Exec/attach options from the query (`input`, `output`, `error`, `tty`, `command`). */
export function parseExecQuery(q: URLSearchParams): ExecOptions {
  const tty = flag(q, 'tty');
  return {
    command: q.getAll('command'),
    stdin: flag(q, 'input'),
    stdout: flag(q, 'output'),
    // A TTY merges stderr into stdout; the kubelet drops a stderr request with tty.
    stderr: flag(q, 'error') && !tty,
    tty,
  };
}

export type QueryError = { error: string };

function intParam(q: URLSearchParams, name: string, min: number): number | undefined | QueryError {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) return { error: `${name}: invalid value "${v}": must be an integer` };
  const n = Number(v);
  if (n < min) return { error: `${name}: invalid value ${n}: must be greater than or equal to ${min}` };
  return n;
}

/** PodLogOptions from the query, or the first invalid parameter. */
export function parseLogQuery(q: URLSearchParams): LogOptions | QueryError {
  const opts: LogOptions = {
    follow: flag(q, 'follow'),
    previous: flag(q, 'previous'),
    timestamps: flag(q, 'timestamps'),
  };
  const tail = intParam(q, 'tailLines', 0);
  const since = intParam(q, 'sinceSeconds', 1);
  const limit = intParam(q, 'limitBytes', 1);
  for (const v of [tail, since, limit]) if (typeof v === 'object') return v;
  if (typeof tail === 'number') opts.tailLines = tail;
  if (typeof since === 'number') opts.sinceSeconds = since;
  if (typeof limit === 'number') opts.limitBytes = limit;
  const sinceTime = q.get('sinceTime');
  if (sinceTime) {
    if (Number.isNaN(Date.parse(sinceTime))) return { error: `sinceTime: invalid value "${sinceTime}"` };
    if (opts.sinceSeconds !== undefined)
      return { error: 'at most one of sinceTime or sinceSeconds may be specified' };
    opts.sinceTime = sinceTime;
  }
  return opts;
}
