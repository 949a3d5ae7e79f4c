/**
 * Fetching the cluster CA before any trust exists (as a k3s agent does): GET /cacerts without
 * verifying the server's certificate, then check the body against the hash the join token
 * carries. Only after that check does the agent talk to the server, verifying TLS with that CA.
 */
import https from 'node:https';
import { JoinError } from './errors.js';
import { caHash } from './join-token.js';

/** GET <server>/cacerts, TLS unverified (the hash check is what makes it safe). */
export function fetchCaCerts(server: string, opts: { timeoutMs?: number } = {}): Promise<Buffer> {
  const url = new URL('/cacerts', server);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200)
          reject(
            new JoinError('CA_FETCH', `GET ${url} answered ${res.statusCode}: is ${server} a k8ts server?`),
          );
        else resolve(Buffer.concat(chunks));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) =>
      reject(new JoinError('CA_FETCH', `cannot fetch the cluster CA from ${url}: ${e.message}`)),
    );
  });
}

/**
 * fetchCaCerts, retried while the server cannot be reached (it may still be starting: a whole
 * cluster booting at once, or the agent unit starting first); an HTTP answer is final.
 */
export async function fetchCaCertsWaiting(
  server: string,
  opts: { timeoutMs: number; log: (line: string) => void; sleep?: (ms: number) => Promise<void> },
): Promise<Buffer> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + opts.timeoutMs;
  let logged = false;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await fetchCaCerts(server);
    } catch (e) {
      const unreachable = e instanceof JoinError && e.code === 'CA_FETCH' && !/answered \d+/.test(e.message);
      if (!unreachable || Date.now() + delay > deadline) throw e;
      if (!logged) opts.log(`k8ts agent: waiting for the server: ${(e as Error).message}`);
      logged = true;
      await sleep(delay);
    }
  }
}

/** Throw a JoinError naming both hashes unless the bundle hashes to `expected`. */
export function checkCaHash(bundle: Buffer | string, expected: string): void {
  const got = caHash(bundle);
  if (got !== expected.toLowerCase())
    throw new JoinError(
      'CA_HASH_MISMATCH',
      `the server's CA does not match the join token: the server sent a CA with sha256 ${got}, ` +
        `the token pins sha256 ${expected.toLowerCase()} (wrong server, a token of another cluster, or someone in between)`,
    );
}
