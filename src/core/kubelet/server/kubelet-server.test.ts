/**
 * The kubelet streaming server in process, with raw clients: `ws` speaking v4/v5.channel.k8s.io,
 * and this package's own SPDY session as the client side of SPDY/3.1 (kubectl itself is exercised
 * in test/kubelet-streams.test.ts).
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCa, issueLeaf } from '../../apiserver/pki/certs.js';
import { CHANNEL, encodeChannelMessage, encodeCloseSignal } from './channel-protocol.js';
import { type KubeletServer, startKubeletServer } from './kubelet-server.js';
import { SpdySession, type SpdyStream } from './spdy-session.js';
import { TestRuntime } from './test-runtime.js';

let kubelet: KubeletServer;
let runtime: TestRuntime;
let ca: { certPem: string; keyPem: string };
let client: { certPem: string; keyPem: string };
let echo: http.Server;
let echoPort: number;

beforeAll(async () => {
  ca = await createCa({ commonName: 'test-ca' });
  const serving = await issueLeaf(ca, { commonName: 'kubelet', usage: 'server', hosts: ['127.0.0.1'] });
  client = await issueLeaf(ca, {
    commonName: 'kube-apiserver-kubelet-client',
    organizations: ['system:masters'],
    usage: 'client',
  });
  runtime = new TestRuntime({ dir: mkdtempSync(join(tmpdir(), 'k8ts-kubelet-server-')) });
  runtime.addPod({ namespace: 'ns', name: 'p', containers: [{ name: 'c', log: ['a', 'b'] }] });
  kubelet = await startKubeletServer({
    runtime,
    port: 0,
    host: '127.0.0.1',
    tls: { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem },
  });
  echo = http.createServer((req, res) => res.end(`echo ${req.url}`));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
});

afterAll(async () => {
  runtime.close();
  await kubelet.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

const tlsOpts = () => ({ ca: ca.certPem, cert: client.certPem, key: client.keyPem });

/** Runs an exec over WebSocket; returns what arrived per channel. */
function wsExec(path: string, protocol: string, stdin?: string): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${kubelet.port}${path}`, [protocol], tlsOpts());
    const got = new Map<number, string>();
    ws.on('open', () => {
      expect(ws.protocol).toBe(protocol);
      if (stdin !== undefined) {
        ws.send(encodeChannelMessage(CHANNEL.stdin, stdin));
        ws.send(encodeCloseSignal(CHANNEL.stdin));
      }
    });
    ws.on('message', (m: Buffer) => got.set(m[0]!, (got.get(m[0]!) ?? '') + m.subarray(1).toString()));
    ws.on('close', () => resolve(got));
    ws.on('error', reject);
  });
}

/** Upgrades a TLS connection to SPDY/3.1 and returns the client session. */
function spdyConnect(path: string, protocol: string): Promise<{ session: SpdySession; head: string }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: kubelet.port, ...tlsOpts() }, () => {
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: k\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
          `X-Stream-Protocol-Version: ${protocol}\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const head = buf.subarray(0, end).toString();
      const rest = buf.subarray(end + 4);
      if (rest.length) sock.unshift(rest);
      resolve({ session: new SpdySession(sock, { server: false }), head });
    };
    sock.on('data', onData);
    sock.on('error', reject);
  });
}

/**
 * A WebSocket client by hand (masked binary frames out, unmasked frames in): `ws` refuses
 * `SPDY/3.1+portforward.k8s.io` as a subprotocol name, as the kubelet's own server side does.
 */
function wsTunnel(path: string, protocol: string): Promise<{ tunnel: Duplex; head: string }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: kubelet.port, ...tlsOpts() }, () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: k\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    const tunnel = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const mask = randomBytes(4);
        const len = chunk.length;
        const hdr =
          len < 126
            ? Buffer.from([0x82, 0x80 | len])
            : len < 65536
              ? Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff])
              : (() => {
                  const h = Buffer.alloc(10);
                  h[0] = 0x82;
                  h[1] = 0x80 | 127;
                  h.writeBigUInt64BE(BigInt(len), 2);
                  return h;
                })();
        const body = Buffer.from(chunk);
        for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
        sock.write(Buffer.concat([hdr, mask, body]), cb);
      },
      final(cb) {
        sock.end();
        cb();
      },
    });
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (head === undefined) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        resolve({ tunnel, head });
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const opcode = buf[0]! & 0x0f;
        if (opcode === 2 || opcode === 0) tunnel.push(buf.subarray(off, off + len));
        if (opcode === 8) tunnel.push(null);
        buf = buf.subarray(off + len);
      }
    });
    sock.on('end', () => tunnel.push(null));
    sock.on('error', reject);
  });
}

const readAll = (s: Duplex) =>
  new Promise<string>((resolve) => {
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
  });

describe('exec over WebSocket', () => {
  it('v5: stdin ends with the close signal; stdout, then Success on the error channel', async () => {
    const got = await wsExec(
      '/exec/ns/p/c?command=cat&input=1&output=1&error=1',
      'v5.channel.k8s.io',
      'hello',
    );
    expect(got.get(CHANNEL.stdout)).toBe('hello');
    expect(JSON.parse(got.get(CHANNEL.error)!)).toEqual({ metadata: {}, status: 'Success' });
  });

  it('v4: the exit code as a NonZeroExitCode Status with the ExitCode cause', async () => {
    const got = await wsExec(
      `/exec/ns/p/c?${new URLSearchParams([
        ['command', 'sh'],
        ['command', '-c'],
        ['command', 'echo out; echo err >&2; exit 7'],
        ['output', '1'],
        ['error', '1'],
      ])}`,
      'v4.channel.k8s.io',
    );
    expect(got.get(CHANNEL.stdout)).toBe('out\n');
    expect(got.get(CHANNEL.stderr)).toBe('err\n');
    expect(JSON.parse(got.get(CHANNEL.error)!)).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  it('kills the process when the client goes away', async () => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${kubelet.port}/exec/ns/p/c?command=sleep&command=30&output=1`,
      ['v5.channel.k8s.io'],
      tlsOpts(),
    );
    await new Promise<void>((r) => ws.once('message', () => r()));
    expect(runtime.running.size).toBe(1);
    ws.terminate();
    const deadline = Date.now() + 5000;
    while (runtime.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runtime.running.size).toBe(0);
  });

  it('answers 404 with a Status for a pod the runtime does not know', async () => {
    const err = await new Promise<string>((resolve) => {
      const ws = new WebSocket(
        `wss://127.0.0.1:${kubelet.port}/exec/ns/nope/c?command=true&output=1`,
        ['v5.channel.k8s.io'],
        tlsOpts(),
      );
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(`${res.statusCode} ${JSON.parse(body).message}`));
      });
      ws.on('error', () => {});
    });
    expect(err).toBe('404 pod "nope" does not exist');
  });
});

describe('exec over SPDY/3.1', () => {
  it('negotiates v4, serves the streams, and the error stream carries the exit code', async () => {
    const { session, head } = await spdyConnect(
      '/exec/ns/p/c?command=sh&command=-c&command=cat;exit+2&input=1&output=1&error=1',
      'v4.channel.k8s.io',
    );
    expect(head).toContain('101 Switching Protocols');
    expect(head).toContain('X-Stream-Protocol-Version: v4.channel.k8s.io');
    const open = async (type: string) => {
      const s = session.createStream({ streamtype: [type] });
      await s.replied();
      return s;
    };
    const goAway = new Promise<boolean>((r) => session.once('goAway', () => r(true)));
    const error = await open('error');
    const stdin = await open('stdin');
    const stdout = await open('stdout');
    const stderr = await open('stderr');
    const [out, errText, status] = [readAll(stdout), readAll(stderr), readAll(error)];
    stdin.end('typed');
    expect(await out).toBe('typed');
    expect(await errText).toBe('');
    expect(JSON.parse(await status)).toMatchObject({
      reason: 'NonZeroExitCode',
      details: { causes: [{ message: '2' }] },
    });
    expect(await goAway).toBe(true);
    session.close();
  });

  it('forwards terminal resizes from the resize stream', async () => {
    const { session } = await spdyConnect(
      '/exec/ns/p/c?command=sleep&command=0.3&output=1&tty=1',
      'v4.channel.k8s.io',
    );
    const streams: SpdyStream[] = [];
    for (const t of ['error', 'stdout', 'resize']) {
      const s = session.createStream({ streamtype: [t] });
      await s.replied();
      streams.push(s);
    }
    streams[2]!.write('{"Width":120,"Height":40}\n');
    await readAll(streams[0]!);
    expect(runtime.resizes).toContainEqual({
      ref: { namespace: 'ns', pod: 'p', container: 'c' },
      width: 120,
      height: 40,
    });
    session.close();
  });

  it('refuses a protocol it does not speak with 403, as httpstream does', async () => {
    const { head } = await spdyConnect('/exec/ns/p/c?command=true&output=1', 'channel.k8s.io');
    expect(head).toMatch(/^HTTP\/1.1 403/);
  });
});

describe('port-forward', () => {
  const forward = async (session: SpdySession, requestId: string) => {
    const headers = { port: [String(echoPort)], requestid: [requestId] };
    const error = session.createStream({ ...headers, streamtype: ['error'] });
    await error.replied();
    error.end();
    const data = session.createStream({ ...headers, streamtype: ['data'] });
    await data.replied();
    const reply = readAll(data);
    const errors = readAll(error);
    data.end(`GET /${requestId} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    return { reply: await reply, errors: await errors };
  };

  it('over SPDY/3.1: pairs the streams and splices to the port', async () => {
    const { session } = await spdyConnect('/portForward/ns/p', 'portforward.k8s.io');
    const [a, b] = await Promise.all([forward(session, '0'), forward(session, '1')]);
    expect(a.reply).toMatch(/^HTTP\/1.1 200 OK[\s\S]*echo \/0$/);
    expect(b.reply).toMatch(/echo \/1$/);
    expect(a.errors).toBe('');
    session.close();
  });

  it('over a WebSocket tunnel (SPDY/3.1+portforward.k8s.io), and reports a refused port on the error stream', async () => {
    const { tunnel, head } = await wsTunnel('/portForward/ns/p', 'SPDY/3.1+portforward.k8s.io');
    expect(head).toMatch(/^HTTP\/1.1 101/);
    expect(head).toContain('Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io');
    const session = new SpdySession(tunnel, { server: false });
    const ok = await forward(session, '7');
    expect(ok.reply).toMatch(/echo \/7$/);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const error = session.createStream({ port: [String(deadPort)], requestid: ['8'], streamtype: ['error'] });
    await error.replied();
    const data = session.createStream({ port: [String(deadPort)], requestid: ['8'], streamtype: ['data'] });
    await data.replied();
    expect(await readAll(error)).toMatch(
      new RegExp(
        `^error forwarding port ${deadPort} to pod ns/p: dial tcp4 127.0.0.1:${deadPort}: connect ECONNREFUSED`,
      ),
    );
    session.close();
  });

  it('closes the pod connection when the client connection drops', async () => {
    const net = await import('node:net');
    const closed = new Promise<void>((resolve) => {
      const srv = net.createServer((c) => {
        c.resume();
        c.on('close', () => {
          srv.close();
          resolve();
        });
      });
      srv.listen(0, '127.0.0.1', async () => {
        const port = (srv.address() as AddressInfo).port;
        const { session } = await spdyConnect('/portForward/ns/p', 'portforward.k8s.io');
        const headers = { port: [String(port)], requestid: ['0'] };
        const error = session.createStream({ ...headers, streamtype: ['error'] });
        await error.replied();
        const data = session.createStream({ ...headers, streamtype: ['data'] });
        await data.replied();
        data.write('x');
        setTimeout(() => session.destroy(), 100);
      });
    });
    await closed;
  });
});

describe('plain requests and access', () => {
  const get = (path: string, withCert = true) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: kubelet.port,
            path,
            agent: false,
            ca: ca.certPem,
            ...(withCert ? { cert: client.certPem, key: client.keyPem } : {}),
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
        .on('error', reject);
    });

  it('serves /healthz and /containerLogs; exec without an upgrade is a 400', async () => {
    expect((await get('/healthz')).body).toBe('ok');
    const logs = await get('/containerLogs/ns/p/c?tailLines=1');
    expect(logs.status).toBe(200);
    expect(logs.body).toContain('b\n');
    expect(logs.body).not.toContain('a\n');
    const exec = await get('/exec/ns/p/c?command=true&output=1');
    expect(exec.status).toBe(400);
    expect(exec.body).toContain('Upgrade request required');
    expect((await get('/nope')).status).toBe(404);
  });

  it('401 without a client certificate', async () => {
    expect((await get('/healthz', false)).status).toBe(401);
  });
});
