/**
 * A tiny authoritative DNS server on loopback (dns-packet, UDP + TCP) for forwarding tests:
 * answers from a table, NXDOMAIN with a SOA otherwise, and can force truncation over UDP.
 */

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { batchAddon } from '../../src/dns/udp-batch.js';

export interface UpstreamRecord {
  name: string;
  type: string;
  ttl?: number;
  data: any;
}

export interface TestUpstream {
  port: number;
  /** Questions received as `proto name type`. */
  log: string[];
  records: UpstreamRecord[];
  /** Answer every UDP query with TC=1 and no records. */
  truncateUdp: boolean;
  close(): Promise<void>;
}

function answer(query: Buffer, t: TestUpstream, tcp: boolean): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions![0]!;
  t.log.push(`${tcp ? 'tcp' : 'udp'} ${question.name.toLowerCase()} ${question.type}`);
  const base = { id: q.id, type: 'response' as const, questions: q.questions };
  if (!tcp && t.truncateUdp)
    return dnsPacket.encode({ ...base, flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_AVAILABLE });
  const name = question.name.toLowerCase();
  const matches = t.records.filter((r) => r.name === name);
  const answers = matches
    .filter((r) => r.type === question.type)
    .map((r) => ({ name: question.name, type: r.type, ttl: r.ttl ?? 300, class: 'IN', data: r.data }) as any);
  const soa = {
    name: name.split('.').slice(-2).join('.'),
    type: 'SOA',
    ttl: 60,
    class: 'IN',
    data: { mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 },
  } as any;
  return dnsPacket.encode({
    ...base,
    // dns-packet takes the rcode from the low bits of flags (3 = NXDOMAIN).
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | (matches.length === 0 ? 3 : 0),
    answers,
    authorities: answers.length === 0 ? [soa] : [],
  } as any);
}

/** Start the upstream on 127.0.0.1 (UDP and TCP on the same free port). */
export async function startTestUpstream(records: UpstreamRecord[] = []): Promise<TestUpstream> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const port = udp.address().port;
    const tcp = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('error', () => {});
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          const res = answer(msg, t, true);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(res.length);
          s.write(Buffer.concat([len, res]));
        }
      });
    });
    const ok = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (!ok) {
      udp.close();
      if (attempt > 20) throw new Error('no free port for the test upstream');
      continue;
    }
    const t: TestUpstream = {
      port,
      log: [],
      records,
      truncateUdp: false,
      close: async () => {
        udp.close();
        await new Promise<void>((r) => tcp.close(() => r()));
      },
    };
    udp.on('message', (msg, rinfo) => {
      try {
        udp.send(answer(msg, t, false), rinfo.port, rinfo.address);
      } catch {
        // malformed: ignore
      }
    });
    return t;
  }
}

/**
 * The UDP I/O modes of the DNS server to test: dgram always, and the recvmmsg/sendmmsg addon
 * when it is built (skipped with a message elsewhere, a failure in CI where it must be built).
 */
export function udpModes(): ('batch' | 'dgram')[] {
  if (batchAddon()) return ['dgram', 'batch'];
  const why = 'src/dns/native is not built: `npm install` builds it (needs g++, make and the Node headers)';
  if (process.env.CI) throw new Error(why);
  console.warn(`skipping the UDP batch mode: ${why}`);
  return ['dgram'];
}
