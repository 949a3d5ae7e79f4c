/**
 * The real `dig` (bind9-dnsutils) for DNS tests, and polling until an answer shows up.
 */
import { execFile } from 'node:child_process';

export const DIG = '/usr/bin/dig';

export interface DigResult {
  status: string;
  flags: string[];
  /** Answer records as `name ttl class type data`, whitespace collapsed, names lower-cased. */
  answers: string[];
  authority: string[];
  raw: string;
}

/** Run dig against `server:port`; `extra` are dig options such as `+tcp`. */
export function dig(
  at: { host?: string; port: number },
  name: string,
  type = 'A',
  extra: string[] = [],
): Promise<DigResult> {
  const args = [
    `@${at.host ?? '127.0.0.1'}`,
    '-p',
    String(at.port),
    '+time=2',
    '+tries=1',
    '+noall',
    '+comments',
    '+answer',
    '+authority',
    ...extra,
    name,
    type,
  ];
  return new Promise((resolve) => {
    execFile(DIG, args, { timeout: 15_000 }, (_err, stdout) => {
      const raw = String(stdout);
      const status = /status: (\w+)/.exec(raw)?.[1] ?? 'NO-ANSWER';
      const flags = (/;; flags: ([^;]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
      const section = (title: string) => {
        const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(raw);
        return (m?.[1] ?? '')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith(';'))
          .map((l) => {
            const parts = l.split(/\s+/);
            parts[0] = parts[0]!.toLowerCase();
            return parts.join(' ');
          });
      };
      resolve({ status, flags, answers: section('ANSWER'), authority: section('AUTHORITY'), raw });
    });
  });
}

/** Answer data (last field(s) after the type) of each answer record. */
export function data(r: DigResult): string[] {
  return r.answers.map((a) => a.split(' ').slice(4).join(' ')).sort();
}

/** Poll dig until `ok` holds (or fail with the last answer after `timeoutMs`). */
export async function digUntil(
  at: { host?: string; port: number },
  name: string,
  type: string,
  ok: (r: DigResult) => boolean,
  timeoutMs = 10_000,
): Promise<DigResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await dig(at, name, type);
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`dig ${name} ${type} never matched; last:\n${r.raw}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
