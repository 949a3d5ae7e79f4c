import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runtimeStateDir } from './state-dir.js';

const SHM = '/dev/shm';
const shmIsTmpfs = (() => {
  try {
    return statfsSync(SHM).type === 0x01021994;
  } catch {
    return false;
  }
})();

describe('runtimeStateDir', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'k8ts-state-dir-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) {
      try {
        const link = join(d, 'runtime');
        if (lstatSync(link).isSymbolicLink()) rmSync(readlinkSync(link), { recursive: true, force: true });
      } catch {}
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('is a real directory in the data dir when no candidate is a tmpfs', () => {
    const d = fresh();
    const notTmpfs = statfsSync(d).type === 0x01021994 ? [] : [d];
    const p = runtimeStateDir(d, { candidates: notTmpfs });
    expect(p).toBe(join(d, 'runtime'));
    expect(lstatSync(p).isDirectory()).toBe(true);
  });

  it.skipIf(!shmIsTmpfs)('links <data-dir>/runtime into the tmpfs, one target per data dir', () => {
    const a = fresh();
    const b = fresh();
    const pa = runtimeStateDir(a, { candidates: [SHM] });
    const pb = runtimeStateDir(b, { candidates: [SHM] });
    expect(lstatSync(pa).isSymbolicLink()).toBe(true);
    const ta = readlinkSync(pa);
    expect(ta.startsWith(join(SHM, 'k8ts', 'runtime-'))).toBe(true);
    expect(readlinkSync(pb)).not.toBe(ta);
    expect(lstatSync(ta).isDirectory()).toBe(true);
    // Same answer on the next start.
    expect(runtimeStateDir(a, { candidates: [SHM] })).toBe(pa);
    expect(readlinkSync(pa)).toBe(ta);
  });

  it.skipIf(!shmIsTmpfs)('recreates the target after a reboot emptied the tmpfs', () => {
    const d = fresh();
    const p = runtimeStateDir(d, { candidates: [SHM] });
    const target = readlinkSync(p);
    rmSync(target, { recursive: true });
    runtimeStateDir(d, { candidates: [SHM] });
    expect(lstatSync(target).isDirectory()).toBe(true);
  });

  it.skipIf(!shmIsTmpfs)('keeps an existing real state directory (containers are adopted from it)', () => {
    const d = fresh();
    mkdirSync(join(d, 'runtime', 'abc'), { recursive: true });
    const p = runtimeStateDir(d, { candidates: [SHM] });
    expect(lstatSync(p).isDirectory()).toBe(true);
    expect(lstatSync(join(p, 'abc')).isDirectory()).toBe(true);
  });
});

describe('runtimeStateDir on a shared tmpfs', () => {
  it.skipIf(!shmIsTmpfs)('skips a candidate whose k8ts directory others can write to', () => {
    const base = mkdtempSync(join(SHM, 'k8ts-state-dir-test-'));
    const d = mkdtempSync(join(tmpdir(), 'k8ts-state-dir-'));
    try {
      mkdirSync(join(base, 'k8ts'), { mode: 0o777 });
      chmodSync(join(base, 'k8ts'), 0o777);
      const p = runtimeStateDir(d, { candidates: [base] });
      expect(lstatSync(p).isDirectory()).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('runtimeStateDir after a reboot', () => {
  it.skipIf(!shmIsTmpfs)('refuses a linked target that someone else made writable', () => {
    const d = mkdtempSync(join(tmpdir(), 'k8ts-state-dir-'));
    try {
      const p = runtimeStateDir(d, { candidates: [SHM] });
      const target = readlinkSync(p);
      chmodSync(target, 0o777);
      expect(() => runtimeStateDir(d, { candidates: [SHM] })).toThrow(/not private/);
      rmSync(target, { recursive: true, force: true });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
