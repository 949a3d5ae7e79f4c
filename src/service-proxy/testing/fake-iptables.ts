/**
 * An in-memory iptables for tests: applies `iptables-restore --noflush` inputs with the kernel's
 * rules for them (a `:CHAIN` line creates or flushes, `-A` appends, `-I CHAIN N` inserts, `-X`
 * deletes an empty unreferenced chain, a jump must name an existing chain, everything of one
 * table commits at once or not at all) and answers `iptables-save`. Tests run the proxier against
 * it through a runner, then trace packets through what it holds.
 */
import { type CommandResult, type CommandRunner, type RunOptions, stdinText } from '../runner.js';

const BUILTIN: Record<string, string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'SNAT', 'MARK', 'MASQUERADE']);

export class FakeIptables {
  /** table -> chain -> rules (the text after `-A CHAIN `). */
  readonly tables = new Map<string, Map<string, string[]>>();
  restores = 0;

  constructor() {
    for (const [t, chains] of Object.entries(BUILTIN))
      this.tables.set(t, new Map(chains.map((c) => [c, []])));
  }

  /** Apply a restore input (--noflush); throws (leaving the tables unchanged) on an error. */
  restore(text: string): void {
    let work: Map<string, string[]> | undefined;
    let tableName = '';
    const staged = new Map<string, Map<string, string[]>>();
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        tableName = line.slice(1);
        const cur = this.tables.get(tableName) ?? new Map();
        work = new Map([...cur].map(([c, r]) => [c, [...r]]));
        continue;
      }
      if (!work) throw new Error(`restore: line outside a table: ${line}`);
      if (line === 'COMMIT') {
        for (const [chain, rules] of work)
          for (const r of rules) {
            const target = / -j (\S+)/.exec(` ${r}`)?.[1];
            if (target && !TARGETS.has(target) && !work.has(target))
              throw new Error(`restore: ${chain} jumps to missing chain ${target}`);
          }
        staged.set(tableName, work);
        work = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        const name = line.slice(1).split(' ')[0]!;
        work.set(name, []);
        continue;
      }
      const m = /^-(A|I|X|D)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) throw new Error(`restore: cannot parse ${line}`);
      const [, op, chain, rest = ''] = m;
      const rules = work.get(chain!);
      if (op === 'X') {
        if (!rules) throw new Error(`restore: -X of missing chain ${chain}`);
        if (rules.length) throw new Error(`restore: -X of non-empty chain ${chain}`);
        for (const [c, rs] of work)
          if (rs.some((r) => r.endsWith(`-j ${chain}`) || r.includes(`-j ${chain} `)))
            throw new Error(`restore: -X of ${chain} still referenced from ${c}`);
        work.delete(chain!);
        continue;
      }
      if (!rules) throw new Error(`restore: no chain ${chain}`);
      if (op === 'A') rules.push(rest);
      else if (op === 'I') {
        const im = /^(\d+)\s+(.*)$/.exec(rest);
        const pos = im ? Number(im[1]) - 1 : 0;
        rules.splice(pos, 0, im ? im[2]! : rest);
      } else if (op === 'D') {
        const i = rules.indexOf(rest);
        if (i < 0) throw new Error(`restore: -D of missing rule in ${chain}`);
        rules.splice(i, 1);
      }
    }
    if (work) throw new Error('restore: missing COMMIT');
    for (const [t, chains] of staged) this.tables.set(t, chains);
    this.restores++;
  }

  /** `iptables-save` output. */
  save(): string {
    const out: string[] = [];
    for (const [t, chains] of this.tables) {
      out.push(`*${t}`);
      for (const c of chains.keys())
        out.push(BUILTIN[t]?.includes(c) ? `:${c} ACCEPT [0:0]` : `:${c} - [0:0]`);
      for (const [c, rules] of chains) for (const r of rules) out.push(`-A ${c} ${r}`);
      out.push('COMMIT');
    }
    return `${out.join('\n')}\n`;
  }

  /** Rules of one chain (with `-A CHAIN` stripped). */
  chain(table: string, name: string): string[] | undefined {
    return this.tables.get(table)?.get(name);
  }

  /** Every chain name of a table. */
  chains(table: string): string[] {
    return [...(this.tables.get(table)?.keys() ?? [])];
  }

  /** Add a rule we do not own (to prove the proxy leaves it alone). */
  addForeign(table: string, chain: string, rule: string): void {
    const t = this.tables.get(table)!;
    if (!t.has(chain)) t.set(chain, []);
    t.get(chain)!.push(rule);
  }
}

/** A runner backed by a FakeIptables (restore and save); records every other command. */
export class FakeIptablesRunner implements CommandRunner {
  readonly v4 = new FakeIptables();
  readonly v6 = new FakeIptables();
  readonly other: { cmd: string; args: string[] }[] = [];
  /** Make the next restores fail (exit 1) this many times. */
  failRestores = 0;

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const fake = cmd.startsWith('ip6') ? this.v6 : this.v4;
    if (cmd.endsWith('-restore')) {
      if (this.failRestores > 0) {
        this.failRestores--;
        return { code: 1, stdout: '', stderr: 'iptables-restore: line 1 failed (injected)' };
      }
      try {
        fake.restore(await stdinText(opts.stdin));
        return { code: 0, stdout: '', stderr: '' };
      } catch (e) {
        return { code: 1, stdout: '', stderr: (e as Error).message };
      }
    }
    if (cmd.endsWith('-save')) return { code: 0, stdout: fake.save(), stderr: '' };
    this.other.push({ cmd, args: [...args] });
    return { code: 0, stdout: '', stderr: '' };
  }
}
