/**
 * The REST client every k8ts component uses to reach the cluster: JSON over HTTPS with a client
 * certificate or a bearer token, Status errors as ApiStatusError, and line-delimited watch streams.
 * Informers (informer.ts), the workqueue and leader election build on it. There is no in-process
 * transport yet: the all-in-one server talks HTTPS to itself over loopback (TODO(#3) if it shows in
 * the profiles).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import YAML from 'yaml';

export interface ClientConfig {
  /** `https://host:port` */
  server: string;
  caPem: string;
  certPem?: string | undefined;
  keyPem?: string | undefined;
  token?: string | undefined;
  userAgent?: string | undefined;
  /**
   * Connections for plain requests at most (default 32; watches have their own pool). Each new
   * connection costs a TLS handshake on both sides; a component that writes in bursts to the one
   * API server (the kubelet's status writes, the scheduler's bindings) gains nothing from more
   * than a few, since that server runs them one at a time anyway, and at the start of a 100-pod
   * burst 32+16 fresh handshakes held its first requests ~0.8 s.
   */
  maxSockets?: number | undefined;
}

/** Read the first cluster/user of a kubeconfig file. */
export function loadKubeconfig(path: string): ClientConfig {
  const kc = YAML.parse(readFileSync(path, 'utf8'));
  const ctxName = kc['current-context'];
  const ctx = (kc.contexts ?? []).find((c: any) => c.name === ctxName)?.context ?? kc.contexts?.[0]?.context;
  const cluster =
    (kc.clusters ?? []).find((c: any) => c.name === ctx?.cluster)?.cluster ?? kc.clusters?.[0]?.cluster;
  const user = (kc.users ?? []).find((u: any) => u.name === ctx?.user)?.user ?? kc.users?.[0]?.user ?? {};
  const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);
  return {
    server: cluster.server,
    caPem:
      b64(cluster['certificate-authority-data']) ?? readFileSync(cluster['certificate-authority'], 'utf8'),
    certPem: b64(user['client-certificate-data']),
    keyPem: b64(user['client-key-data']),
    token: user.token,
  };
}

/** A non-2xx answer; `status` is the decoded metav1.Status when the server sent one. */
export class ApiStatusError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly reason: string;
  readonly status: Record<string, any> | undefined;
  constructor(httpStatus: number, status: Record<string, any> | undefined, body: string) {
    super(status?.message ?? `HTTP ${httpStatus}: ${body.slice(0, 200)}`);
    this.name = 'ApiStatusError';
    this.httpStatus = httpStatus;
    this.status = status;
    this.reason = status?.reason ?? 'Unknown';
    this.code = this.reason;
  }
}

export interface RequestOptions {
  body?: unknown;
  /** Accept header (default application/json), e.g. for PartialObjectMetadata. */
  accept?: string | undefined;
  contentType?: string | undefined;
  query?: Record<string, string | number | boolean | undefined> | undefined;
}

export interface WatchHandle {
  stop(): void;
}

export type WatchHandler = (type: string, object: Record<string, any>) => void;

/** What clients of one identity share (derive()). */
export interface RestClientShared {
  /** The parsed CA, client certificate and key. */
  secureContext?: SecureContext | undefined;
}

/** JSON REST client with keep-alive connections. */
export class RestClient {
  private readonly agent: https.Agent;
  /**
   * Watches hold their connection for minutes: they get their own unbounded pool, or a process
   * with more than maxSockets informers would leave no connection for plain requests (which would
   * then wait forever).
   */
  private readonly watchAgent: https.Agent;
  private readonly base: URL;
  private readonly cfg: ClientConfig;

  /**
   * The CA, client certificate and key parsed once: given ca/cert/key instead, every new
   * connection parses them again (tls.connect builds a SecureContext per socket), which a CPU
   * profile of a 100-pod burst showed as ~60 ms in the kubelet and as much in the server's own
   * scheduler client.
   */
  private readonly secureContext: SecureContext;

  constructor(cfg: ClientConfig, shared: RestClientShared = {}) {
    this.cfg = cfg;
    this.base = new URL(cfg.server);
    this.secureContext =
      shared.secureContext ??
      createSecureContext({
        ca: cfg.caPem,
        ...(cfg.certPem && cfg.keyPem ? { cert: cfg.certPem, key: cfg.keyPem } : {}),
      });
    const tls = { secureContext: this.secureContext };
    this.agent = new https.Agent({ keepAlive: true, maxSockets: cfg.maxSockets ?? 32, ...tls });
    this.watchAgent = new https.Agent({ keepAlive: false, ...tls });
  }

  /**
   * A client with the same credentials and its own connection pool (a component that writes in
   * bursts, like the scheduler's bindings, so its requests do not queue behind others').
   */
  derive(opts: { userAgent: string; maxSockets?: number | undefined }): RestClient {
    return new RestClient(
      { ...this.cfg, userAgent: opts.userAgent, maxSockets: opts.maxSockets ?? this.cfg.maxSockets },
      { secureContext: this.secureContext },
    );
  }

  private options(
    method: string,
    path: string,
    query: RequestOptions['query'],
    headers: Record<string, string>,
    agent: https.Agent = this.agent,
  ) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const full = qs.size ? `${path}?${qs}` : path;
    const h: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.cfg.userAgent ?? 'k8ts',
      ...headers,
    };
    if (this.cfg.token) h.authorization = `Bearer ${this.cfg.token}`;
    return {
      agent,
      method,
      hostname: this.base.hostname,
      port: this.base.port,
      path: full,
      headers: h,
    };
  }

  /** One request; resolves with the decoded JSON body, rejects with ApiStatusError on non-2xx. */
  request<T = Record<string, any>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      // Node frames a DELETE body only when told its length (DELETE is not chunked by default).
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (opts.accept) headers.accept = opts.accept;
    return new Promise((resolve, reject) => {
      const req = https.request(this.options(method, path, opts.query, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let parsed: any;
          try {
            parsed = body ? JSON.parse(body) : undefined;
          } catch {
            parsed = undefined;
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(parsed as T);
          else reject(new ApiStatusError(code, parsed?.kind === 'Status' ? parsed : undefined, body));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A watch stream; `onEnd` runs once when it closes for any reason. */
  watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: WatchHandler,
    onEnd: (err?: Error) => void,
    opts: { accept?: string | undefined } = {},
  ): WatchHandle {
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    const req = https.request(
      this.options(
        'GET',
        path,
        { ...query, watch: 'true' },
        opts.accept ? { accept: opts.accept } : {},
        this.watchAgent,
      ),
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => end(new ApiStatusError(res.statusCode ?? 0, safeJson(body), body)));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim()) {
              // A line that does not parse, or a handler that throws, ends this watch (the caller
              // resumes or relists) instead of throwing out of the socket's event handler.
              try {
                const ev = JSON.parse(line);
                onEvent(ev.type, ev.object);
              } catch (e) {
                req.destroy();
                end(e instanceof Error ? e : new Error(String(e)));
                return;
              }
              if (ended) return;
            }
            nl = buf.indexOf('\n');
          }
        });
        res.on('end', () => end());
        res.on('error', (e) => end(e));
      },
    );
    req.on('error', (e) => end(e));
    req.end();
    return {
      stop: () => {
        req.destroy();
        end();
      },
    };
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

function safeJson(s: string): any {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
