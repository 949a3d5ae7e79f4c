import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FifoMaker } from './fifo-maker.js';

describe('FifoMaker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-fifo-'));
  const maker = new FifoMaker();
  afterAll(() => {
    maker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates FIFOs with mode 0600, requests answered in order', async () => {
    const a = [join(dir, 'a1'), join(dir, "it's a2")];
    const b = [join(dir, 'b1')];
    await Promise.all([maker.make(a), maker.make(b)]);
    for (const p of [...a, ...b]) {
      const st = statSync(p);
      expect(st.isFIFO()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
    }
  });

  it('rejects when a path exists, and keeps serving', async () => {
    await expect(maker.make([join(dir, 'a1')])).rejects.toThrow(/mkfifo failed/);
    await maker.make([join(dir, 'c1')]);
    expect(statSync(join(dir, 'c1')).isFIFO()).toBe(true);
  });
});
