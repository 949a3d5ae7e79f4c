/**
 * A small HTTPS client for tests: raw requests to the API server with the admin credentials from
 * the kubeconfig the server wrote, and a watch reader.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import YAML from 'yaml';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface WatchEventJson {
  type: string;
  object: any;
}

export interface TestClient {
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
  json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any>;
  /** Read watch events until `done` says so or the timeout passes; then close the stream. */
  watchEvents(
    path: string,
    done: (events: WatchEventJson[]) => boolean,
    timeoutMs: number,
  ): Promise<WatchEventJson[]>;
  close(): void;
}

/** A client that authenticates with the kubeconfig's client certificate (or a given token). */
export function adminClient(
  server: { kubeconfig: string; url: string },
  opts: { token?: string; noAuth?: boolean } = {},
): TestClient {
  const kc = YAML.parse(readFileSync(server.kubeconfig, 'utf8'));
  const cluster = kc.clusters[0].cluster;
  const user = kc.users[0].user;
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
  const useCert = !opts.token && !opts.noAuth;
  const agent = new https.Agent({
    keepAlive: true,
    ca,
    ...(useCert
      ? {
          cert: Buffer.from(user['client-certificate-data'], 'base64'),
          key: Buffer.from(user['client-key-data'], 'base64'),
        }
      : {}),
  });
  const base = new URL(server.url);
  const raw = (method: string, path: string, body: unknown, headers: Record<string, string>) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (payload !== undefined) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = String(Buffer.byteLength(payload));
    }
    if (opts.token) h.authorization = `Bearer ${opts.token}`;
    return {
      payload,
      h,
      options: { agent, method, hostname: base.hostname, port: base.port, path, headers: h },
    };
  };
  const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<TestResponse>((resolve, reject) => {
      const { payload, options } = raw(method, path, body, headers);
      const req = https.request(options, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    request,
    async json(method, path, body, headers) {
      const r = await request(method, path, body, headers);
      try {
        return JSON.parse(r.body);
      } catch {
        throw new Error(`not JSON (${r.status}): ${r.body.slice(0, 200)}`);
      }
    },
    watchEvents(path, done, timeoutMs) {
      return new Promise((resolve, reject) => {
        const { options } = raw('GET', path, undefined, {});
        const events: WatchEventJson[] = [];
        let buf = '';
        const req = https.request(options, (res) => {
          res.setEncoding('utf8');
          const finish = () => {
            clearTimeout(timer);
            req.destroy();
            resolve(events);
          };
          const timer = setTimeout(finish, timeoutMs);
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl = buf.indexOf('\n');
            while (nl >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) events.push(JSON.parse(line));
              nl = buf.indexOf('\n');
            }
            if (done(events)) finish();
          });
          res.on('end', finish);
        });
        req.on('error', (e) =>
          (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(events) : reject(e),
        );
        req.end();
      });
    },
    close() {
      agent.destroy();
    },
  };
}
