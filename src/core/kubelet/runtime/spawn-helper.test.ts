import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { procStartTime } from './process-runtime.js';
import { SpawnHelper, shellQuote } from './spawn-helper.js';

const waitGone = async (pid: number) => {
  for (let i = 0; i < 200 && procStartTime(pid) !== ''; i++) await new Promise((r) => setTimeout(r, 10));
};

describe.skipIf(!SpawnHelper.supported())('SpawnHelper', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-helper-'));
  const helper = new SpawnHelper();
  afterAll(() => {
    helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['plain', 'abc', "'abc'"],
    ['quote', "it's", `'it'\\''s'`],
    ['newline', 'a\nb', `'a'"$nl"'b'`],
  ])('quotes %s', (_n, word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });

  it('creates FIFOs with mode 0600; a failing request fails alone, in its batch and after', async () => {
    const a = [join(dir, 'a1'), join(dir, "it's a2")];
    await Promise.all([helper.make(a), helper.make([join(dir, 'b1')])]);
    for (const p of [...a, join(dir, 'b1')]) {
      expect(statSync(p).isFIFO()).toBe(true);
      expect(statSync(p).mode & 0o777).toBe(0o600);
    }
    writeFileSync(join(dir, 'file'), '');
    const [bad, good] = await Promise.allSettled([
      helper.make([join(dir, 'c1'), join(dir, 'file')]),
      helper.make([join(dir, 'c2')]),
    ]);
    expect(bad.status === 'rejected' && String(bad.reason)).toMatch(/mkfifo failed/);
    expect(good.status).toBe('fulfilled');
    await helper.make([join(dir, 'c3')]);
    expect(statSync(join(dir, 'c3')).isFIFO()).toBe(true);
  });

  it('starts a process with exactly the given env, cwd and argv, in its own session, signals at default', async () => {
    const out = join(dir, 'out.txt');
    const odd = "x'y\nz $HOME `id`";
    const p = await helper.spawn({
      argv: [
        'sh',
        '-c',
        'printf "%s|" "$1" "$ODD" "$(pwd)" "$(tr "\\0" , < /proc/$$/environ)" "$(ps -o pgid= -o sid= -p $$ | tr -s " ")"; exec grep -E "^Sig(Ign|Blk)" /proc/self/status',
        'arg0',
        odd,
      ],
      // The masks are read by the process itself (exec keeps them): a child reading its parent's
      // status races with the shell, which blocks every signal while it forks and waits.
      env: { ODD: odd },
      cwd: dir,
      stdout: out,
      stderr: out,
    });
    expect(p.startTime).toBe(procStartTime(p.pid) || p.startTime);
    await waitGone(p.pid);
    helper.reap();
    const text = readFileSync(out, 'utf8');
    const [arg, env, cwd, environ, ids] = text.split('|');
    expect(arg).toBe(odd);
    expect(env).toBe(odd);
    expect(cwd).toBe(dir);
    expect(environ).toBe(`ODD=${odd},`);
    expect(ids?.trim()).toBe(`${p.pid} ${p.pid}`);
    expect(text).toMatch(/SigBlk:\s+0+\n/);
    expect(text).toMatch(/SigIgn:\s+0+\n/);
  });
});
