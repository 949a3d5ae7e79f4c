import { describe, expect, it } from 'vitest';
import { HttpHeadError } from '../errors.js';
import {
  connectionHas,
  connectionTokens,
  H_CONNECTION,
  headerName,
  headerValue,
  keptLines,
  MAX_HEAD_BYTES,
  parseHead,
} from './http-head.js';

const req = (s: string) => parseHead(Buffer.from(s, 'latin1'), 0, 'request');
const res = (s: string) => parseHead(Buffer.from(s, 'latin1'), 0, 'response');

describe('parseHead', () => {
  it('parses a request head and stops at the blank line', () => {
    const text =
      'POST /a?b=1 HTTP/1.1\r\nHost: x.example.com\r\nContent-Length: 3\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\nabc';
    const h = req(text)!;
    expect(h.method).toBe('POST');
    expect(h.target).toBe('/a?b=1');
    expect(h.minor).toBe(1);
    expect(h.host).toBe('x.example.com');
    expect(h.contentLength).toBe(3);
    expect(h.end).toBe(text.length - 3);
    expect(connectionHas(h, 'upgrade')).toBe(true);
    expect(h.upgrade).toBe('websocket');
    expect(headerValue(h, 'content-length')).toBe('3');
  });

  it('returns undefined while the head is incomplete', () => {
    expect(req('GET / HTTP/1.1\r\nHost: a\r\n')).toBeUndefined();
  });

  it('parses status lines, with and without a reason', () => {
    const h = res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')!;
    expect([h.status, h.reason, h.chunked]).toEqual([200, 'OK', true]);
    const bare = res('HTTP/1.0 204 \r\n\r\n')!;
    expect([bare.status, bare.minor]).toEqual([204, 0]);
    // A response with both: Transfer-Encoding wins (RFC 9112 6.3).
    const both = res('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n')!;
    expect([both.chunked, both.contentLength]).toEqual([true, -1]);
  });

  it.each([
    [
      'conflicting Content-Length',
      'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      400,
    ],
    ['Content-Length not a number', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n', 400],
    [
      'both TE and CL (smuggling)',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
    ['TE other than chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', 400],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\n', 505],
    ['bad request line', 'GET\r\nHost: a\r\n\r\n', 400],
  ])('refuses %s', (_name, text, status) => {
    let err: unknown;
    try {
      req(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpHeadError);
    expect((err as HttpHeadError).status).toBe(status);
  });

  it('answers 431 for a head over the limit, complete or not', () => {
    const big = `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n`;
    expect(() => req(big)).toThrow(/too large/);
    expect(() => req(`${big}\r\n`)).toThrow(/too large/);
  });

  it('keeps header lines as written, minus the dropped ones', () => {
    const h = res(
      'HTTP/1.1 200 OK\r\nServer: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nDate:  d  \r\n\r\n',
    )!;
    expect(h.hasHop).toBe(true);
    expect(connectionTokens(h)).toEqual(['x-hop']);
    expect(keptLines(h, (k, i) => k === H_CONNECTION || headerName(h, i).toLowerCase() === 'x-hop')).toBe(
      'Server: x\r\nDate:  d  \r\n',
    );
    expect(keptLines(h, () => false)).toBe(
      'Server: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nDate:  d  \r\n',
    );
    expect(headerValue(h, 'date')).toBe('d');
    const plain = res('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTrailer: x\r\n\r\n')!;
    expect(plain.hasHop).toBe(false);
  });

  it.each([
    ['bare LF', 'GET / HTTP/1.1\nHost: a\r\n\r\n'],
    ['bare LF in a header', 'GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a\0\r\n\r\n'],
  ])('refuses %s', (_name, text) => expect(() => req(text)).toThrow(HttpHeadError));

  it('accepts HTTP/1.0 without Host', () => {
    expect(req('GET / HTTP/1.0\r\n\r\n')!.minor).toBe(0);
  });
});
