import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CriLogWriter,
  LineSplitter,
  MAX_LINE_BYTES,
  parseCriLine,
  readCriLines,
  renderLogs,
} from './cri-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'k8ts-crilog-'));
  dirs.push(d);
  return d;
}

describe('CRI log format', () => {
  it('writes `<RFC3339Nano> <stream> F|P <msg>` lines and parses them back', () => {
    const dir = tmp();
    let t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const w = new CriLogWriter(join(dir, '0.log'), { now: () => t });
    w.write('stdout', false, Buffer.from('hello'));
    w.write('stderr', true, Buffer.from('par'));
    t += 1;
    w.write('stderr', false, Buffer.from('tial'));
    w.close();
    const text = readFileSync(join(dir, '0.log'), 'utf8');
    expect(text.split('\n')[0]).toBe('2026-01-02T03:04:05.678000000Z stdout F hello');
    expect(text.split('\n')[1]).toBe('2026-01-02T03:04:05.678001000Z stderr P par');
    expect(parseCriLine(text.split('\n')[2]!)).toMatchObject({
      stream: 'stderr',
      partial: false,
      message: 'tial',
    });
    expect(renderLogs(readCriLines(join(dir, '0.log')), {})).toBe('hello\npartial\n');
    expect(renderLogs(readCriLines(join(dir, '0.log')), { tailLines: 1, timestamps: true })).toBe(
      '2026-01-02T03:04:05.678001000Z partial\n',
    );
    expect(renderLogs(readCriLines(join(dir, '0.log')), { sinceMs: t })).toBe('tial\n');
    expect(renderLogs(readCriLines(join(dir, '0.log')), { limitBytes: 3 })).toBe('hel');
  });
  it('splits output into lines and cuts long lines into P pieces', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('a\nb')).map(([p, m]) => [p, String(m)])).toEqual([[false, 'a']]);
    expect(s.push(Buffer.from('c\n')).map(([p, m]) => [p, String(m)])).toEqual([[false, 'bc']]);
    const long = s.push(Buffer.alloc(MAX_LINE_BYTES + 10, 'x'));
    expect(long.map(([p, m]) => [p, m.length])).toEqual([[true, MAX_LINE_BYTES]]);
    expect(s.flush().map(([p, m]) => [p, m.length])).toEqual([[false, 10]]);
  });
  it('rotates by size, keeps maxFiles, and reads rotated files first', () => {
    const dir = tmp();
    let t = Date.UTC(2026, 0, 1);
    const w = new CriLogWriter(join(dir, '0.log'), { maxBytes: 100, maxFiles: 3, now: () => (t += 1000) });
    for (let i = 0; i < 20; i++) w.write('stdout', false, Buffer.from(`line-${i}`));
    w.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBe(3);
    expect(files).toContain('0.log');
    const lines = renderLogs(readCriLines(join(dir, '0.log')), {})
      .trim()
      .split('\n');
    expect(lines.at(-1)).toBe('line-19');
    const nums = lines.map((l) => Number(l.slice(5)));
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
  });
});
