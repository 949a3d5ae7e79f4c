/**
 * The ingress data plane through real sockets on loopback: a StaticRouteTable (the controller's
 * side is faked, the proxy is real) in front of real upstream HTTP servers; TLS checked with
 * openssl s_client, WebSocket with the ws package.
 */
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createCa, issueLeaf } from '../core/apiserver/pki/certs.js';
import { type IngressDataPlane, startIngressDataPlane } from './data-plane.js';
import type { Route, RouteOptions, TlsCertificate } from './route-table.js';
import { backend, route, StaticRouteTable } from './testing/static-route-table.js';

const OPENSSL = '/usr/bin/openssl';
const hasOpenssl = spawnSync(OPENSSL, ['version']).status === 0;
const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython && process.env.CI)
  throw new Error('the ingress connect-timeout test needs python3 (apt-get install python3)');
if (!hasOpenssl && process.env.CI)
  throw new Error('the ingress TLS tests need openssl (apt-get install openssl)');

interface Upstream {
  name: string;
  server: http.Server | https.Server;
  addr: string;
  requests: number;
}

/** An upstream that answers JSON describing the request; `/slow/<ms>` waits first; `/chunked` streams. */
async function upstream(name: string, tlsCert?: { certPem: string; keyPem: string }): Promise<Upstream> {
  const u: Upstream = { name, server: undefined as unknown as http.Server, addr: '', requests: 0 };
  const handler = (q: http.IncomingMessage, r: http.ServerResponse) => {
    u.requests++;
    let n = 0;
    q.on('data', (d: Buffer) => {
      n += d.length;
    });
    q.on('end', () => {
      if (q.url === '/chunked') {
        r.write('part1-');
        setTimeout(() => r.end('part2'), 5);
        return;
      }
      const slow = /^\/slow\/(\d+)/.exec(q.url ?? '');
      const send = () => {
        if (r.destroyed) return;
        r.setHeader('content-type', 'application/json');
        r.end(JSON.stringify({ name, url: q.url, method: q.method, headers: q.headers, bodyLength: n }));
      };
      if (slow) setTimeout(send, Number(slow[1]));
      else send();
    });
  };
  u.server = tlsCert
    ? https.createServer({ cert: tlsCert.certPem, key: tlsCert.keyPem }, handler)
    : http.createServer(handler);
  await new Promise<void>((res) => u.server.listen(0, '127.0.0.1', res));
  u.addr = `127.0.0.1:${(u.server.address() as net.AddressInfo).port}`;
  return u;
}

async function stop(u: Upstream): Promise<void> {
  u.server.closeAllConnections();
  await new Promise<void>((res) => u.server.close(() => res()));
}

/** A loopback port with nothing listening (connections are refused). */
async function refusedAddr(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return `127.0.0.1:${port}`;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: () => { name: string; url: string; headers: Record<string, string>; bodyLength: number };
}

function request(
  port: number,
  path: string,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: http.Agent;
    chunked?: boolean;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { host: 'app.example.com', ...o.headers };
    if (o.chunked) headers['transfer-encoding'] = 'chunked';
    const q = http.request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers, agent: o.agent ?? false },
      (r) => {
        const parts: Buffer[] = [];
        r.on('data', (d: Buffer) => parts.push(d));
        r.on('end', () => {
          const body = Buffer.concat(parts).toString();
          resolve({ status: r.statusCode!, headers: r.headers, body, json: () => JSON.parse(body) });
        });
        r.on('error', reject);
      },
    );
    q.on('error', reject);
    q.end(o.body);
  });
}

/** The certificate a TLS handshake with `servername` gets, through real openssl s_client. */
async function opensslSubject(port: number, servername: string): Promise<string> {
  // Asynchronous: the proxy under test runs in this process and must keep serving.
  const sni = servername === '' ? ['-noservername'] : ['-servername', servername];
  const child = spawn(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, ...sni], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  await new Promise((res) => child.once('close', res));
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out);
  if (!pem) throw new Error(`openssl s_client got no certificate: ${err}`);
  return new X509Certificate(pem[0]).subject;
}

describe('ingress data plane', () => {
  let a: Upstream;
  let b: Upstream;
  let dp: IngressDataPlane;
  let ca: Awaited<ReturnType<typeof createCa>>;
  const log = new PassThrough();
  let logText = '';
  log.on('data', (d: Buffer) => {
    logText += d.toString();
  });
  const use = (routes: Route[], certs?: Map<string, TlsCertificate>) =>
    dp.update(new StaticRouteTable(routes, certs));
  const web = (options: Partial<RouteOptions> = {}, extra: Partial<Route> = {}) =>
    route({ host: 'app.example.com', backend: backend('default/web:80', [a.addr]), ...extra }, options);

  beforeAll(async () => {
    a = await upstream('a');
    b = await upstream('b');
    ca = await createCa({ commonName: 'test-ca' });
    dp = await startIngressDataPlane({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, accessLog: log });
  });
  afterAll(async () => {
    await dp.close();
    await stop(a);
    await stop(b);
  });
  afterEach(() => {
    logText = '';
  });

  it('proxies to the endpoint with the forwarded headers and an X-Request-ID', async () => {
    use([web()]);
    const r = await request(dp.httpPort, '/hello?x=1', {
      headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-drop', 'x-drop': '1' },
    });
    expect(r.status).toBe(200);
    const seen = r.json();
    expect(seen.name).toBe('a');
    expect(seen.url).toBe('/hello?x=1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-original-forwarded-for']).toBe('203.0.113.9');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('app.example.com');
    expect(seen.headers['x-forwarded-port']).toBe(String(dp.httpPort));
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.headers['x-drop']).toBeUndefined();
    const kept = await request(dp.httpPort, '/', { headers: { 'x-request-id': 'req-42' } });
    expect(kept.json().headers['x-request-id']).toBe('req-42');
    await new Promise((res) => setImmediate(res));
    expect(logText).toMatch(
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/hello\?x=1 HTTP\/1\.1" 200 \d+ "-" "-" \d+ \d+\.\d{3} \[default-web-80\] \[\] 127\.0\.0\.1:\d+ \d+ \d+\.\d{3} 200 [0-9a-f]{32}$/m,
    );
  });

  it('answers 404 when no rule matches and 503 naming the service without endpoints', async () => {
    use([
      web(),
      route({
        host: 'empty.example.com',
        backend: backend('shop/cart:http', [], { unavailableReason: 'service "cart" not found' }),
      }),
    ]);
    const r404 = await request(dp.httpPort, '/', { headers: { host: 'nowhere.example.com' } });
    expect(r404.status).toBe(404);
    expect(r404.body).toContain('no Ingress rule matches host "nowhere.example.com" path "/"');
    const r503 = await request(dp.httpPort, '/', { headers: { host: 'empty.example.com' } });
    expect(r503.status).toBe(503);
    expect(r503.body).toContain(
      'no endpoints available for service "shop/cart" port http (service "cart" not found)',
    );
  });

  it('retries a refused endpoint on another one and answers 502 when every try is refused', async () => {
    const dead = await refusedAddr();
    use([route({ host: 'app.example.com', backend: backend('default/web:80', [dead, a.addr]) })]);
    for (let i = 0; i < 6; i++) {
      const r = await request(dp.httpPort, '/', { method: 'POST', body: 'x'.repeat(100) });
      expect(r.status).toBe(200);
      expect(r.json().bodyLength).toBe(100);
    }
    use([route({ host: 'app.example.com', backend: backend('default/web:80', [dead]) })]);
    const r = await request(dp.httpPort, '/');
    expect(r.status).toBe(502);
    expect(r.body).toMatch(
      /connect\(\) to 127\.0\.0\.1:\d+ failed \(ECONNREFUSED\) for service "default\/web" port 80/,
    );
  });

  it('retries a reset before the response for GET, never for POST (it may have been processed)', async () => {
    const resetter = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
    await new Promise<void>((res) => resetter.listen(0, '127.0.0.1', res));
    const reset = `127.0.0.1:${(resetter.address() as net.AddressInfo).port}`;
    try {
      use([route({ host: 'app.example.com', backend: backend('default/web:80', [reset, a.addr]) })]);
      for (let i = 0; i < 4; i++) expect((await request(dp.httpPort, '/')).status).toBe(200);
      use([route({ host: 'app.example.com', backend: backend('default/web:80', [reset]) })]);
      const post = await request(dp.httpPort, '/', { method: 'POST', body: 'once' });
      expect(post.status).toBe(502);
      expect(post.body).toMatch(
        /upstream 127\.0\.0\.1:\d+ closed the connection before answering \(ECONNRESET\)/,
      );
    } finally {
      await new Promise<void>((res) => resetter.close(() => res()));
    }
  });

  it('answers 504 after proxy-read-timeout', async () => {
    use([web({ readTimeoutMs: 300 })]);
    const r = await request(dp.httpPort, '/slow/3000');
    expect(r.status).toBe(504);
    expect(r.body).toMatch(/upstream 127\.0\.0\.1:\d+ timed out after 300 ms \(proxy-read-timeout\)/);
    expect((await request(dp.httpPort, '/slow/10')).status).toBe(200);
  });

  it.skipIf(!hasPython)(
    'answers 504 after proxy-connect-timeout (python3 makes a listener that never accepts)',
    async () => {
      // listen(0) and no accept(): once its accept queue holds one connection, SYNs are dropped.
      const py = spawn(
        'python3',
        [
          '-c',
          "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0); print(s.getsockname()[1], flush=True); sys.stdin.read()",
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const fillers: net.Socket[] = [];
      try {
        const port = await new Promise<number>((res) =>
          py.stdout.once('data', (d) => res(Number(String(d).trim()))),
        );
        for (;;) {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => {});
          fillers.push(s);
          const connected = await new Promise<boolean>((res) => {
            s.once('connect', () => res(true));
            setTimeout(() => res(false), 200);
          });
          if (!connected) break;
        }
        use([
          route(
            { host: 'app.example.com', backend: backend('default/web:80', [`127.0.0.1:${port}`]) },
            { connectTimeoutMs: 300 },
          ),
        ]);
        const r = await request(dp.httpPort, '/');
        expect(r.status).toBe(504);
        expect(r.body).toMatch(
          /connect\(\) to 127\.0\.0\.1:\d+ timed out after 300 ms \(proxy-connect-timeout\)/,
        );
      } finally {
        for (const s of fillers) s.destroy();
        py.stdin.end();
        py.kill();
      }
    },
  );

  it('answers 413 above proxy-body-size, by Content-Length and by chunked length', async () => {
    use([web({ maxBodyBytes: 1000 })]);
    const before = a.requests;
    const byLength = await request(dp.httpPort, '/', { method: 'POST', body: 'x'.repeat(1001) });
    expect(byLength.status).toBe(413);
    expect(byLength.body).toContain('over the limit of 1000 bytes (proxy-body-size)');
    expect(a.requests).toBe(before);
    const chunked = await request(dp.httpPort, '/', {
      method: 'POST',
      body: 'y'.repeat(5000),
      chunked: true,
    });
    expect(chunked.status).toBe(413);
    const ok = await request(dp.httpPort, '/', { method: 'POST', body: 'z'.repeat(1000), chunked: true });
    expect(ok.status).toBe(200);
    expect(ok.json().bodyLength).toBe(1000);
  });

  it('rewrites with regex captures and keeps the query', async () => {
    use([
      web(
        { rewriteTarget: '/v2/$2' },
        { path: '/api(/|$)(.*)', regex: /^\/api(\/|$)(.*)/i, pathType: 'ImplementationSpecific' },
      ),
    ]);
    expect((await request(dp.httpPort, '/api/users/7?full=1')).json().url).toBe('/v2/users/7?full=1');
    expect((await request(dp.httpPort, '/API')).json().url).toBe('/v2/');
  });

  it('redirects to HTTPS with 308 for TLS hosts and force-ssl-redirect, not over HTTPS', async () => {
    use([
      web({}, { tls: true }),
      route(
        { host: 'plain.example.com', backend: backend('default/web:80', [a.addr]) },
        { forceSslRedirect: true },
      ),
    ]);
    const r = await request(dp.httpPort, '/p?q=1', { method: 'POST', body: 'x' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://app.example.com:${dp.httpsPort}/p?q=1`);
    const forced = await request(dp.httpPort, '/', { headers: { host: 'plain.example.com' } });
    expect(forced.status).toBe(308);
    use([web({ sslRedirect: false }, { tls: true })]);
    expect((await request(dp.httpPort, '/')).status).toBe(200);
    use([web({}, { tls: true })]);
    const overTls = await new Promise<number>((res, rej) =>
      https
        .get(
          {
            host: '127.0.0.1',
            port: dp.httpsPort,
            path: '/',
            servername: 'app.example.com',
            headers: { host: 'app.example.com' },
            rejectUnauthorized: false,
          },
          (x) => {
            x.resume();
            res(x.statusCode!);
          },
        )
        .on('error', rej),
    );
    expect(overTls).toBe(200);
  });

  it('keeps a client on one endpoint with the affinity cookie', async () => {
    use([
      route(
        { host: 'app.example.com', backend: backend('default/web:80', [a.addr, b.addr]) },
        { affinity: { cookieName: 'INGRESSCOOKIE' } },
      ),
    ]);
    const first = await request(dp.httpPort, '/');
    const cookie = String(first.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(/^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; HttpOnly$/);
    const names = new Set<string>();
    for (let i = 0; i < 8; i++)
      names.add(
        (await request(dp.httpPort, '/', { headers: { cookie: `x=1; ${cookie.split(';')[0]}` } })).json()
          .name,
      );
    expect([...names]).toEqual([first.json().name]);
    const spread = new Set<string>();
    for (let i = 0; i < 8; i++) spread.add((await request(dp.httpPort, '/')).json().name);
    expect(spread.size).toBe(2);
  });

  it('sends canary traffic by header, cookie and weight', async () => {
    const canaryRoute = (weight: number) =>
      route({
        host: 'app.example.com',
        backend: backend('default/web:80', [a.addr]),
        canary: {
          backend: backend('default/web-canary:80', [b.addr]),
          weight,
          weightTotal: 100,
          header: 'X-Canary',
          cookie: 'canary',
          ingress: 'default/web-canary',
        },
      });
    use([canaryRoute(0)]);
    const name = async (headers: Record<string, string> = {}) =>
      (await request(dp.httpPort, '/', { headers })).json().name;
    expect(await name()).toBe('a');
    expect(await name({ 'x-canary': 'always' })).toBe('b');
    expect(await name({ cookie: 'canary=always' })).toBe('b');
    use([canaryRoute(100)]);
    expect(await name()).toBe('b');
    expect(await name({ 'x-canary': 'never' })).toBe('a');
    expect(await name({ cookie: 'canary=never' })).toBe('a');
  });

  it('refuses clients outside the allowed source ranges with 403', async () => {
    use([web({ allowSourceRanges: ['10.0.0.0/8', '192.168.1.1'] })]);
    const r = await request(dp.httpPort, '/');
    expect(r.status).toBe(403);
    expect(r.body).toContain('client 127.0.0.1 is not in the allowed source ranges of Ingress default/ing');
    use([web({ allowSourceRanges: ['10.0.0.0/8', '127.0.0.0/8'] })]);
    expect((await request(dp.httpPort, '/')).status).toBe(200);
  });

  it('speaks HTTPS to pods with backend-protocol HTTPS', async () => {
    const ca = await createCa({ commonName: 'pod-ca' });
    const podCert = await issueLeaf(ca, { commonName: 'pod', usage: 'server', hosts: ['127.0.0.1'] });
    const s = await upstream('secure-pod', podCert);
    try {
      use([
        route(
          { host: 'app.example.com', backend: backend('default/web:443', [s.addr]) },
          { backendProtocol: 'HTTPS' },
        ),
      ]);
      const r = await request(dp.httpPort, '/tls');
      expect(r.status).toBe(200);
      expect(r.json().name).toBe('secure-pod');
    } finally {
      await stop(s);
    }
  });

  it('handles HEAD, chunked responses, pipelined requests and HTTP/1.0 clients on one connection', async () => {
    use([web()]);
    const raw = (payload: string) =>
      new Promise<string>((res, rej) => {
        // The last request asks Connection: close (or is HTTP/1.0): the proxy ends the connection.
        const s = net.connect(dp.httpPort, '127.0.0.1', () => s.write(payload));
        let out = '';
        s.on('data', (d) => {
          out += d;
        });
        s.on('end', () => res(out));
        s.on('error', rej);
      });
    const pipelined = await raw(
      'HEAD / HTTP/1.1\r\nHost: app.example.com\r\n\r\n' +
        'GET /chunked HTTP/1.1\r\nHost: app.example.com\r\n\r\n' +
        'POST /p HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 3\r\n\r\nabc' +
        'GET /last HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n',
    );
    const statuses = [...pipelined.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200', '200', '200']);
    expect(pipelined).toContain('part1-');
    expect(pipelined).toContain('part2');
    expect(pipelined).toContain('"bodyLength":3');
    expect(pipelined).toContain('"url":"/last"');
    const http10 = await raw('GET /chunked HTTP/1.0\r\nHost: app.example.com\r\n\r\n');
    expect(http10).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(http10).not.toMatch(/transfer-encoding/i);
    expect(http10.endsWith('\r\n\r\npart1-part2')).toBe(true);
    const bad = await raw(
      'GET / HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    );
    expect(bad).toMatch(/^HTTP\/1\.1 400 Bad Request/);
  });

  it('loses no request while an endpoint is removed under load', async () => {
    const c = await upstream('c');
    use([route({ host: 'app.example.com', backend: backend('default/web:80', [a.addr, c.addr]) })]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let stopLoop = false;
    const results: number[] = [];
    const failures: string[] = [];
    const loop = async () => {
      while (!stopLoop) {
        try {
          results.push((await request(dp.httpPort, '/', { agent })).status);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await new Promise((res) => setTimeout(res, 300));
    // The pod goes away: first the table stops naming it, then its server dies (kills kept-alive sockets).
    use([route({ host: 'app.example.com', backend: backend('default/web:80', [a.addr]) })]);
    await stop(c);
    await new Promise((res) => setTimeout(res, 300));
    // And the other way round: an endpoint dies before the table knows (refused, retried).
    const d = await upstream('d');
    use([route({ host: 'app.example.com', backend: backend('default/web:80', [a.addr, d.addr]) })]);
    await new Promise((res) => setTimeout(res, 200));
    await stop(d);
    await new Promise((res) => setTimeout(res, 300));
    stopLoop = true;
    await Promise.all(loops);
    agent.destroy();
    expect(failures).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((s) => s !== 200)).toEqual([]);
  });

  it('tunnels a WebSocket both ways', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((res) => wss.once('listening', res));
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m}`)));
    try {
      use([
        route({
          host: 'app.example.com',
          backend: backend('default/ws:80', [`127.0.0.1:${(wss.address() as net.AddressInfo).port}`]),
        }),
      ]);
      const ws = new WebSocket(`ws://127.0.0.1:${dp.httpPort}/socket`, {
        headers: { host: 'app.example.com' },
      });
      await new Promise<void>((res, rej) => {
        ws.once('open', () => res());
        ws.once('error', rej);
      });
      const got: string[] = [];
      const done = new Promise<void>((res) =>
        ws.on('message', (m) => {
          got.push(String(m));
          if (got.length === 3) res();
        }),
      );
      for (const m of ['one', 'two', 'x'.repeat(100_000)]) ws.send(m);
      await done;
      expect(got.slice(0, 2)).toEqual(['echo:one', 'echo:two']);
      expect(got[2]).toHaveLength(100_005);
      const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
      ws.close(1000);
      expect(await closed).toBe(1000);
      // The pod side dies mid-tunnel (TCP reset): the client's socket is closed too, not leaked.
      const ws2 = new WebSocket(`ws://127.0.0.1:${dp.httpPort}/socket`, {
        headers: { host: 'app.example.com' },
      });
      await new Promise<void>((res, rej) => {
        ws2.once('open', () => res());
        ws2.once('error', rej);
      });
      const cut = new Promise<number>((res) => ws2.once('close', (code) => res(code)));
      ws2.on('error', () => {});
      for (const c of wss.clients) c.terminate();
      expect(await cut).toBe(1006);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((res) => wss.close(() => res()));
    }
  });

  it('exports the ingress-nginx metrics', async () => {
    use([web()]);
    await request(dp.httpPort, '/');
    const text = await dp.metrics.metrics();
    expect(text).toMatch(
      /nginx_ingress_controller_requests\{ingress="ing",namespace="default",service="web",status="200",method="GET",host="app\.example\.com"\} \d+/,
    );
    for (const name of [
      'nginx_ingress_controller_request_duration_seconds_bucket',
      'nginx_ingress_controller_response_duration_seconds_count',
      'nginx_ingress_controller_request_size_sum',
      'nginx_ingress_controller_response_size_bucket',
    ])
      expect(text).toContain(name);
  });

  describe.skipIf(!hasOpenssl)('TLS by SNI (openssl s_client; apt-get install openssl)', () => {
    const cert = async (host: string, version: string): Promise<TlsCertificate> => {
      const c = await issueLeaf(ca, { commonName: `${host} ${version}`, usage: 'server', hosts: [host] });
      return { key: `default/${host}-tls`, version, certPem: c.certPem, keyPem: c.keyPem };
    };

    it('chooses the certificate by SNI, the fake one when none matches', async () => {
      const certs = new Map([
        ['one.example.com', await cert('one.example.com', 'v1')],
        ['*.two.example.com', await cert('*.two.example.com', 'v1')],
      ]);
      use([web()], certs);
      expect(await opensslSubject(dp.httpsPort, 'one.example.com')).toContain('CN=one.example.com v1');
      expect(await opensslSubject(dp.httpsPort, 'x.two.example.com')).toContain('CN=*.two.example.com v1');
      expect(await opensslSubject(dp.httpsPort, 'other.example.com')).toContain(
        'CN=Kubernetes Ingress Controller Fake Certificate',
      );
    });

    it('serves a rotated Secret to new handshakes while a client keeps requesting', async () => {
      const host = 'rot.example.com';
      const v1 = await cert(host, 'v1');
      const v2 = await cert(host, 'v2');
      const r = route({ host, backend: backend('default/web:80', [a.addr]), tls: true });
      use([r], new Map([[host, v1]]));
      const kept = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
      const seen = new Set<string>();
      const failures: string[] = [];
      let statuses = 0;
      let stopLoop = false;
      const get = (agent: https.Agent | false) =>
        new Promise<void>((res) => {
          https
            .get(
              {
                host: '127.0.0.1',
                port: dp.httpsPort,
                servername: host,
                headers: { host },
                agent,
                rejectUnauthorized: false,
              },
              (x) => {
                seen.add((x.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN);
                if (x.statusCode === 200) statuses++;
                else failures.push(`status ${x.statusCode}`);
                x.resume();
                x.on('end', res);
              },
            )
            .on('error', (err) => {
              failures.push(String(err));
              res();
            });
        });
      const loop = async (agent: https.Agent | false) => {
        while (!stopLoop) await get(agent);
      };
      const loops = [loop(false), loop(kept)];
      await new Promise((res) => setTimeout(res, 300));
      use([r], new Map([[host, v2]]));
      await new Promise((res) => setTimeout(res, 300));
      stopLoop = true;
      await Promise.all(loops);
      kept.destroy();
      expect(failures).toEqual([]);
      expect(statuses).toBeGreaterThan(10);
      expect([...seen].sort()).toEqual([`${host} v1`, `${host} v2`]);
      expect(await opensslSubject(dp.httpsPort, host)).toContain(`CN=${host} v2`);
    });
  });
});
