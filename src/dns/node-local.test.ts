import { describe, expect, it } from 'vitest';
import { DnsInterfaceError } from './errors.js';
import { type CommandResult, ensureDummyAddress, removeDummy } from './node-local.js';

function runner(results: Record<string, CommandResult>) {
  const calls: string[] = [];
  const run = async (cmd: string, args: readonly string[]) => {
    const line = `${cmd} ${args.join(' ')}`;
    calls.push(line);
    return results[line] ?? { code: 0, stdout: '', stderr: '' };
  };
  return { calls, run };
}

describe('node-local dummy interface', () => {
  it('creates the link, brings it up and adds a /32', async () => {
    const r = runner({});
    expect(await ensureDummyAddress({ ip: '10.43.0.10', runner: r.run })).toEqual({
      dev: 'k8ts-dns0',
      ip: '10.43.0.10',
      dummy: true,
    });
    expect(r.calls).toEqual([
      'ip link add k8ts-dns0 type dummy',
      'ip link set k8ts-dns0 up',
      'ip addr add 10.43.0.10/32 dev k8ts-dns0',
    ]);
  });

  it('is idempotent (existing link and address are fine) and uses /128 for IPv6', async () => {
    const exists = { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' };
    const r = runner({ 'ip link add dns1 type dummy': exists, 'ip addr add fd00::a/128 dev dns1': exists });
    await ensureDummyAddress({ ip: 'fd00::a', ifname: 'dns1', runner: r.run });
    expect(r.calls).toHaveLength(3);
  });

  it('fails with the command and its error', async () => {
    const r = runner({
      'ip link add k8ts-dns0 type dummy': { code: 2, stdout: '', stderr: 'Operation not permitted' },
    });
    await expect(ensureDummyAddress({ ip: '10.43.0.10', runner: r.run })).rejects.toThrow(DnsInterfaceError);
  });

  it('falls back to lo on a kernel without the dummy driver', async () => {
    const r = runner({
      'ip link add k8ts-dns0 type dummy': { code: 2, stdout: '', stderr: 'Error: Unknown device type.' },
    });
    const addr = await ensureDummyAddress({ ip: '10.43.0.10', runner: r.run });
    expect(addr).toEqual({ dev: 'lo', ip: '10.43.0.10', dummy: false });
    expect(r.calls.slice(1)).toEqual(['ip link set lo up', 'ip addr add 10.43.0.10/32 dev lo']);
    await removeDummy(addr, r.run);
    expect(r.calls.at(-1)).toBe('ip addr del 10.43.0.10/32 dev lo');
  });

  it('removes the link', async () => {
    const r = runner({});
    await removeDummy({ dev: 'k8ts-dns0', ip: '10.43.0.10', dummy: true }, r.run);
    expect(r.calls).toEqual(['ip link del k8ts-dns0']);
  });
});
