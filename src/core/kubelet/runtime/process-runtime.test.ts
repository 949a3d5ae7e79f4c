import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCriLine } from '../cri-log.js';
import { ProcessRuntime } from './process-runtime.js';
import type { ContainerConfig } from './runtime.js';
import { SpawnHelper } from './spawn-helper.js';

const spawners = SpawnHelper.supported() ? (['helper', 'node'] as const) : (['node'] as const);

describe.each(spawners)('ProcessRuntime (spawner %s)', (spawner) => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-rt-'));
  const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), spawner, pollMs: 200, log: () => {} });
  let n = 0;
  const cfg = (argv: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig => ({
    podUid: 'u1',
    namespace: 'default',
    podName: 'p',
    name: `c${++n}`,
    attempt: 0,
    argv,
    env: { GREETING: 'hello' },
    logPath: join(dir, 'logs', `c${n}`, '0.log'),
    stdin: false,
    sandbox: { privateMounts: false, mounts: [] },
    ...extra,
  });
  const logText = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => `${parseCriLine(l)?.stream}:${parseCriLine(l)?.message}`);
  afterAll(() => {
    for (const c of rt.list()) rt.signal(c.id, 'SIGKILL');
    rt.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['exit 0', 'echo "$GREETING"; echo oops >&2', 0, ['stdout:hello', 'stderr:oops']],
    ['exit 3', 'echo bye; exit 3', 3, ['stdout:bye']],
    ['killed by SIGTERM itself (the wrapper reports it)', 'kill -TERM $$', 143, ['stderr:Terminated']],
  ])(
    '%s: exit code and every output line, even from a process that ends at once',
    async (_n, script, code, lines) => {
      const c = cfg(['sh', '-c', script]);
      const info = await rt.start(c);
      const exit = await rt.wait(info.id);
      expect(exit.exitCode).toBe(code);
      expect(logText(c.logPath)).toEqual(lines);
    },
  );

  it.each([
    ['SIGTERM', 143],
    ['SIGKILL', 137],
  ] as const)('%s to the group ends a running container with %i', async (sig, code) => {
    const info = await rt.start(cfg(['sleep', '60']));
    // Running: the wrapper's child is `sleep` itself. Between the wrapper's fork and that exec the
    // child still has the wrapper's TERM trap, and a signal then is swallowed.
    const isSleep = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    };
    while (
      !readFileSync(`/proc/${info.pid}/task/${info.pid}/children`, 'utf8').trim().split(' ').some(isSleep)
    )
      await new Promise((r) => setTimeout(r, 5));
    rt.signal(info.id, sig);
    expect((await rt.wait(info.id)).exitCode).toBe(code);
    rt.remove(info.id);
    expect(rt.get(info.id)).toBeUndefined();
  });

  it('stdin through attach reaches the process', async () => {
    const c = cfg(['sh', '-c', 'read -r line; echo "got $line"'], { stdin: true });
    const info = await rt.start(c);
    const h = rt.attach(info.id);
    h.stdin!.write('ping\n');
    expect((await rt.wait(info.id)).exitCode).toBe(0);
    expect(logText(c.logPath)).toEqual(['stdout:got ping']);
  });
});
