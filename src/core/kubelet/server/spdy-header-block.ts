/**
 * SPDY/3 name/value header blocks (draft 3, 2.6.10): a 32-bit count of pairs, then each name and
 * value as a 32-bit length and bytes, several values of one name joined by NUL. On the wire every
 * block of one direction is a continuation of a single zlib stream that starts with the SPDY
 * dictionary.
 *
 * Outgoing blocks are written as zlib "stored" deflate blocks, each followed by the empty stored
 * block a sync flush produces: valid zlib that any inflater (Go's compress/zlib in kubectl) reads,
 * produced synchronously and without state beyond "was the zlib header sent". Header blocks here are a few dozen bytes per stream, so compressing them would save
 * nothing worth an asynchronous deflate stream. Incoming blocks are inflated with one persistent
 * Node inflate stream per connection, as the peer's compressor keeps its window across frames.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';
import { StreamingProtocolError } from './errors.js';
import { adler32, SPDY_DICTIONARY } from './spdy-dictionary.js';

/** Header names (lower-case) to their values, in the order received. */
export type SpdyHeaders = Record<string, string[]>;

/** Encodes headers as an uncompressed name/value block; names are lower-cased as SPDY requires. */
export function encodeNameValueBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).filter(([, v]) => v.length > 0);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed name/value block. Throws on truncation or a duplicate name. */
export function decodeNameValueBlock(buf: Buffer): SpdyHeaders {
  let off = 0;
  const need = (n: number) => {
    if (off + n > buf.length)
      throw new StreamingProtocolError(
        'SPDY_HEADER_BLOCK',
        `header block truncated: need ${n} bytes at offset ${off} of ${buf.length}`,
      );
  };
  need(4);
  const count = buf.readUInt32BE(off);
  off += 4;
  const out: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = buf.readUInt32BE(off);
    off += 4;
    need(nl);
    const name = buf.toString('utf8', off, off + nl).toLowerCase();
    off += nl;
    need(4);
    const vl = buf.readUInt32BE(off);
    off += 4;
    need(vl);
    const value = buf.toString('utf8', off, off + vl);
    off += vl;
    if (name === '') throw new StreamingProtocolError('SPDY_HEADER_BLOCK', 'empty header name');
    if (Object.hasOwn(out, name))
      throw new StreamingProtocolError('SPDY_HEADER_BLOCK', `duplicate header name ${JSON.stringify(name)}`);
    out[name] = value.split('\0');
  }
  return out;
}

/** First value of a header, case-insensitive name. */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers[name.toLowerCase()]?.[0];
}

/** The zlib stream header announcing a preset dictionary: CMF 0x78, FLG with FDICT, DICTID. */
function zlibHeader(): Buffer {
  const h = Buffer.alloc(6);
  h[0] = 0x78; // deflate, 32 KiB window
  h[1] = 0x20; // FDICT; FCHECK 0 makes 0x7820 a multiple of 31
  h.writeUInt32BE(adler32(SPDY_DICTIONARY), 2);
  return h;
}

const MAX_STORED = 0xffff;
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** Compresses the outgoing header blocks of one connection (see the file comment). */
export class HeaderCompressor {
  #started = false;

  /** The bytes to put in a frame for this uncompressed name/value block. */
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#started) {
      parts.push(zlibHeader());
      this.#started = true;
    }
    let off = 0;
    do {
      const len = Math.min(MAX_STORED, block.length - off);
      const hdr = Buffer.alloc(5);
      hdr[0] = 0x00; // BFINAL 0, BTYPE 00 (stored); we are always byte-aligned here
      hdr.writeUInt16LE(len, 1);
      hdr.writeUInt16LE(~len & 0xffff, 3);
      parts.push(hdr, block.subarray(off, off + len));
      off += len;
    } while (off < block.length);
    // An empty stored block, exactly what zlib's Z_SYNC_FLUSH emits: Go's inflater hands out the
    // bytes of a block only when it reaches this marker, without reading past the frame.
    parts.push(SYNC_FLUSH_MARKER);
    return Buffer.concat(parts);
  }
}

/** Inflates the incoming header blocks of one connection, one after another. */
export class HeaderDecompressor {
  #inflate: Inflate | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** The uncompressed name/value block carried by one frame. Calls are served in order. */
  decompress(block: Buffer): Promise<Buffer> {
    const run = this.#queue.then(() => this.#run(block));
    this.#queue = run.catch(() => {});
    return run;
  }

  close(): void {
    this.#inflate?.destroy();
  }

  #run(block: Buffer): Promise<Buffer> {
    if (!this.#inflate) this.#inflate = createInflate({ dictionary: SPDY_DICTIONARY });
    const inflate = this.#inflate;
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (c: Buffer) => chunks.push(c);
      const onError = (e: Error) => {
        inflate.off('data', onData);
        reject(new StreamingProtocolError('SPDY_HEADER_BLOCK', `cannot inflate header block: ${e.message}`));
      };
      inflate.on('data', onData);
      inflate.once('error', onError);
      inflate.write(block);
      inflate.flush(constants.Z_SYNC_FLUSH, () => {
        // Output of this flush may still sit in the readable buffer for a tick.
        setImmediate(() => {
          inflate.off('data', onData);
          inflate.off('error', onError);
          resolve(Buffer.concat(chunks));
        });
      });
    });
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
