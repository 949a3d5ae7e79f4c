/** Read the machine facts the Node reports (CPU, memory, disk of the data dir, PIDs, identity). */
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, release, totalmem } from 'node:os';
import type { MachineInfo } from './node-status.js';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(read('/etc/os-release'));
  return m?.[1] ?? 'Linux';
}

/** Measure the machine now (cheap: a few small /proc reads and one statfs). */
export function readMachineInfo(dataDir: string): MachineInfo {
  const meminfo = read('/proc/meminfo');
  const avail = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
  let diskBytes = 0;
  let diskAvailableBytes = 0;
  try {
    const s = statfsSync(dataDir);
    diskBytes = s.blocks * s.bsize;
    diskAvailableBytes = s.bavail * s.bsize;
  } catch {
    // not measurable: no disk pressure reported
  }
  // /proc/loadavg: "0.00 0.01 0.05 1/234 5678": the 4th field's denominator is the thread count.
  const threads = Number(/\s\d+\/(\d+)\s/.exec(read('/proc/loadavg'))?.[1] ?? 0);
  const machineId = read('/etc/machine-id').trim() || 'unknown';
  return {
    cpus: cpus().length,
    memoryBytes: totalmem(),
    memoryAvailableBytes: avail ? Number(avail[1]) * 1024 : totalmem(),
    diskBytes,
    diskAvailableBytes,
    processes: threads,
    pidMax: Number(read('/proc/sys/kernel/pid_max').trim()) || 32768,
    arch: arch(),
    kernelVersion: release(),
    osImage: osImage(),
    machineId,
    bootId: read('/proc/sys/kernel/random/boot_id').trim() || 'unknown',
  };
}
