/**
 * ExecRunner with a chunked stdin (a streamed `nft -f` input), against real processes (sh, cat):
 * the chunks arrive in order; the command reads the first ones before the source has made the rest;
 * a source that throws fails the run and the command never sees an end of input; a command that
 * stops reading ends the source. RecordingRunner records a streamed stdin as its text.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecRunner, RecordingRunner, stdinText } from './runner.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'k8ts-runner-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Wait (bounded) until `file` exists; false if it never did. */
async function appears(file: string): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (existsSync(file)) return true;
    await sleep(10);
  }
  return false;
}

describe('ExecRunner with a chunked stdin', () => {
  it('writes the chunks in order, sync and async sources alike', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(500)}\n`);
    const r = await new ExecRunner().run('cat', [], { stdin: lines });
    expect(r).toEqual({ code: 0, stdout: lines.join(''), stderr: '' });
    async function* slow() {
      for (const l of lines.slice(0, 20)) {
        await sleep(1);
        yield l;
      }
    }
    expect((await new ExecRunner().run('cat', [], { stdin: slow() })).stdout).toBe(
      lines.slice(0, 20).join(''),
    );
  });

  it('the command reads the first chunk before the source makes the next', async () => {
    const seen = join(dir, 'seen');
    let read = false;
    async function* src() {
      yield 'first\n';
      // A runner that collected the whole source before writing would never get past this.
      read = await appears(seen);
      yield 'second\n';
    }
    const r = await new ExecRunner().run('sh', ['-c', 'read -r a; : > "$0"; read -r b; echo "$a $b"', seen], {
      stdin: src(),
    });
    expect(read).toBe(true);
    expect(r.stdout).toBe('first second\n');
  });

  it('a source that throws fails the run; the command is killed before it sees an end of input', async () => {
    const eof = join(dir, 'eof');
    async function* src() {
      yield 'add element ...\n';
      await sleep(20);
      throw new Error('render failed');
    }
    // `read` is sh's own: the process that reads is the one the runner kills.
    const run = new ExecRunner().run('sh', ['-c', 'while read -r l; do :; done; : > "$0"', eof], {
      stdin: src(),
    });
    await expect(run).rejects.toThrow('render failed');
    expect(existsSync(eof)).toBe(false);
  });

  it('a command that stops reading ends the source and reports its exit code', async () => {
    let made = 0;
    let closed = false;
    function* src() {
      try {
        // Far more than a pipe holds: the runner must stop pulling once the command is gone.
        for (; made < 10_000; made++) yield `${'y'.repeat(64 * 1024)}\n`;
      } finally {
        closed = true;
      }
    }
    const r = await new ExecRunner().run('sh', ['-c', 'read -r l; echo bad input >&2; exit 3'], {
      stdin: src(),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('bad input\n');
    expect(closed).toBe(true);
    expect(made).toBeLessThan(10_000);
  });

  it('a string stdin is written as before', async () => {
    const out = join(dir, 'out');
    const r = await new ExecRunner().run('sh', ['-c', 'cat > "$0"', out], { stdin: 'a\nb\n' });
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('a\nb\n');
  });
});

describe('RecordingRunner and stdinText', () => {
  it('record a streamed stdin as its whole text', async () => {
    const rec = new RecordingRunner();
    await rec.run('nft', ['-f', '-'], { stdin: ['add table ip t\n', 'add chain ip t c\n'] });
    expect(rec.calls[0]!.stdin).toBe('add table ip t\nadd chain ip t c\n');
    expect(await stdinText(undefined)).toBe('');
    expect(await stdinText('x')).toBe('x');
  });
});
