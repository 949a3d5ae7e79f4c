/**
 * Running a command in a container with a deadline (exec probes, preStop/postStart exec hooks),
 * and HTTP lifecycle hooks.
 */
import http from 'node:http';
import type { KObj } from '../client/informer.js';
import type { ProbeResult } from './probe-worker.js';
import { resolvePort } from './probers.js';
import type { ContainerRuntime } from './runtime/runtime.js';

/** Run `argv` in the container; ok on exit 0 within `timeoutMs` (the process is killed after it). */
export function execInContainer(
  runtime: ContainerRuntime,
  id: string,
  argv: string[],
  timeoutMs: number,
): Promise<ProbeResult & { output?: string }> {
  return new Promise((resolve) => {
    let child: ReturnType<ContainerRuntime['exec']>['child'];
    try {
      child = runtime.exec(id, argv, { stdin: false }).child;
    } catch (e) {
      resolve({ ok: false, message: (e as Error).message });
      return;
    }
    let out = '';
    const take = (d: Buffer) => {
      if (out.length < 10_240) out += d.toString('utf8');
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, message: `command timed out after ${timeoutMs / 1000}s` });
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: e.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, output: out });
      else
        resolve({
          ok: false,
          message: `command ${JSON.stringify(argv)} exited with ${code ?? signal}: ${out.trim()}`,
          output: out,
        });
    });
  });
}

/** An HTTP GET lifecycle hook: any answer counts as done; errors are reported. */
export function httpHook(
  action: KObj,
  host: string,
  container: KObj,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = resolvePort(action.port, container);
  if (port === undefined)
    return Promise.resolve({ ok: false, message: `invalid port ${String(action.port)}` });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: action.host || host,
        port,
        path: action.path || '/',
        method: 'GET',
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code < 400 ? { ok: true } : { ok: false, message: `HTTP lifecycle hook answered ${code}` });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: 'HTTP lifecycle hook timed out' });
    });
    req.on('error', (e) => resolve({ ok: false, message: e.message }));
    req.end();
  });
}
