import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { udpModes } from '../../test/helpers/dns-upstream.js';
import { listenUdp, type UdpListener } from './udp-batch.js';

/** Send `msgs` from one client socket and collect the replies (until `want` came or 2 s passed). */
async function exchange(port: number, host: string, msgs: Buffer[], want: number): Promise<Buffer[]> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === want) {
        clearTimeout(t);
        resolve();
      }
    });
    s.bind(0, host, () => {
      for (const m of msgs) s.send(m, port, host);
    });
  });
  s.close();
  return got;
}

describe.each(udpModes())('listenUdp (%s)', (mode) => {
  let l: UdpListener | undefined;
  afterEach(() => {
    l?.close();
    l = undefined;
  });

  it('answers every datagram of a burst to its own sender, now or later', async () => {
    // Even-numbered queries are answered at once (inside the batch), odd ones after a delay through
    // keep(); the call's own reply, used after the call, must not send (it belongs to the slot).
    l = await listenUdp(
      { host: '127.0.0.1', port: 0, bufferBytes: 1 << 20, mode },
      (msg, v6, reply, keep) => {
        const text = `re:${msg.toString()}:${v6 ? 6 : 4}`;
        const n = Number(msg.toString().split('-')[1]);
        if (n % 2 === 0) reply(Buffer.from(text));
        else {
          const copy = Buffer.from(text); // the query bytes are only valid during the call
          const later = keep();
          setTimeout(() => {
            if (mode === 'batch') reply(Buffer.from(`stale:${text}`));
            later(copy);
          }, 5);
        }
      },
    );
    expect(l.kind).toBe(mode);
    const clients = await Promise.all(
      [0, 1, 2, 3].map((c) =>
        exchange(
          l!.port,
          '127.0.0.1',
          Array.from({ length: 100 }, (_, i) => Buffer.from(`c${c}-${i}`)),
          100,
        ),
      ),
    );
    clients.forEach((got, c) => {
      expect(got.map((b) => b.toString()).sort()).toEqual(
        Array.from({ length: 100 }, (_, i) => `re:c${c}-${i}:4`).sort(),
      );
    });
  });

  it('serves IPv6 and reports the family', async () => {
    l = await listenUdp({ host: '::1', port: 0, bufferBytes: 1 << 20, mode }, (msg, v6, reply) =>
      reply(Buffer.from(`${msg.toString()}/${v6 ? 6 : 4}`)),
    );
    expect((await exchange(l.port, '::1', [Buffer.from('q')], 1)).map(String)).toEqual(['q/6']);
  });

  it('refuses a port in use with EADDRINUSE', async () => {
    l = await listenUdp({ host: '127.0.0.1', port: 0, bufferBytes: 1 << 20, mode }, () => {});
    await expect(
      listenUdp({ host: '127.0.0.1', port: l.port, bufferBytes: 1 << 20, mode }, () => {}),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('answers large datagrams whole and stops delivering after close', async () => {
    const seen: number[] = [];
    l = await listenUdp({ host: '127.0.0.1', port: 0, bufferBytes: 1 << 20, mode }, (msg, _v6, reply) => {
      seen.push(msg.length);
      reply(Buffer.alloc(3000, msg[0]!));
    });
    const got = await exchange(l.port, '127.0.0.1', [Buffer.alloc(1400, 7)], 1);
    expect(got.map((b) => [b.length, b[2999]])).toEqual([[3000, 7]]);
    const port = l.port;
    l.close();
    l = undefined;
    expect(await exchange(port, '127.0.0.1', [Buffer.from('late')], 1)).toEqual([]);
    expect(seen).toEqual([1400]);
  });
});
