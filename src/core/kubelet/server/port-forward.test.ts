import { describe, expect, it } from 'vitest';
import { StreamPairer } from './port-forward.js';
import type { SpdyStream } from './spdy-session.js';

const stream = (id: number, headers: Record<string, string>) =>
  ({
    id,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
  }) as unknown as SpdyStream;

describe('StreamPairer', () => {
  it('pairs error and data streams by requestID, in either order', () => {
    const p = new StreamPairer();
    const e0 = stream(1, { streamtype: 'error', port: '80', requestid: '0' });
    const e1 = stream(3, { streamtype: 'error', port: '443', requestid: '1' });
    const d1 = stream(5, { streamtype: 'data', port: '443', requestid: '1' });
    const d0 = stream(7, { streamtype: 'data', port: '80', requestid: '0' });
    expect(p.add(e0)).toEqual({ kind: 'pending' });
    expect(p.add(e1)).toEqual({ kind: 'pending' });
    expect(p.add(d1)).toEqual({ kind: 'complete', pair: { requestId: '1', port: 443, error: e1, data: d1 } });
    expect(p.pendingIds()).toEqual(['0']);
    expect(p.add(d0)).toEqual({ kind: 'complete', pair: { requestId: '0', port: 80, error: e0, data: d0 } });
    expect(p.pendingIds()).toEqual([]);
  });

  it('pairs by stream id when the client sends no requestID', () => {
    const p = new StreamPairer();
    const e = stream(5, { streamtype: 'error', port: '80' });
    const d = stream(7, { streamtype: 'data', port: '80' });
    p.add(e);
    expect(p.add(d)).toMatchObject({ kind: 'complete', pair: { requestId: '5' } });
  });

  it.each([
    [{ streamtype: 'data' }, '"port" header is required'],
    [{ streamtype: 'data', port: 'http' }, 'unable to parse "http" as a port'],
    [{ streamtype: 'data', port: '70000' }, 'unable to parse "70000" as a port'],
    [{ streamtype: 'stdin', port: '80' }, 'invalid stream type "stdin"'],
  ])('refuses %j', (headers, message) => {
    expect(new StreamPairer().add(stream(1, headers))).toMatchObject({ kind: 'invalid', message });
  });

  it('refuses a second stream of one type, and mismatched ports', () => {
    const p = new StreamPairer();
    p.add(stream(1, { streamtype: 'error', port: '80', requestid: '9' }));
    expect(p.add(stream(3, { streamtype: 'error', port: '80', requestid: '9' }))).toMatchObject({
      kind: 'invalid',
      message: 'duplicate error stream for request 9',
    });
    expect(p.add(stream(5, { streamtype: 'data', port: '81', requestid: '9' }))).toMatchObject({
      kind: 'invalid',
      message: 'request 9 names ports 80 and 81',
    });
    expect(p.drop('9').map((s) => s.id)).toEqual([1]);
  });
});
