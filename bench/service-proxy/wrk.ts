/** wrk output -> requests/s, p50/p99 (ms) and errors; shared by the service-proxy data-path benches. */
export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Parse `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const unit = (v: string, u: string) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    return m ? unit(m[1]!, m[2]!) : Number.NaN;
  };
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50: pct('50'),
    p99: pct('99'),
    errors: Number(errs?.[1] ?? 0) + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0),
  };
}

/** The median of a list of numbers. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A results table row: median requests/s and latencies over rounds, total errors. */
export function wrkRow(name: string, rs: WrkResult[], note: string): string {
  return `| ${name} | ${median(rs.map((r) => r.rps)).toFixed(0)} req/s | p50 ${median(rs.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(2)} ms | ${rs.reduce((s, r) => s + r.errors, 0)} | ${note} |`;
}
