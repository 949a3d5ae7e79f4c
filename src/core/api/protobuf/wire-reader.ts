/**
 * A reader of the protobuf wire format over a byte range: varints, fixed 32/64-bit words and
 * length-delimited fields. It never reads past `end`; every short read throws a TRUNCATED error.
 */
import { ProtobufDecodeError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 0x1_0000_0000;

/** A 64-bit varint as two unsigned 32-bit halves. */
export interface U64 {
  lo: number;
  hi: number;
}

/** Sequential reader over `buf[start, end)`. */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, range: { start?: number; end?: number } = {}) {
    this.buf = buf;
    this.pos = range.start ?? 0;
    this.end = range.end ?? buf.length;
  }

  /** True once every byte of the range has been read. */
  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint of up to 10 bytes, as unsigned 32-bit halves. */
  varint64(): U64 {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end)
        throw new ProtobufDecodeError('TRUNCATED', `truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++] as number;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw new ProtobufDecodeError('BAD_VARINT', `varint longer than 10 bytes ending at byte ${this.pos}`);
  }

  /** An unsigned varint that must fit a safe integer (tags, lengths). */
  uvarint(): number {
    const at = this.pos;
    const { lo, hi } = this.varint64();
    if (hi >= 0x20_0000) throw new ProtobufDecodeError('BAD_VARINT', `varint at byte ${at} is too large`);
    return hi * TWO_32 + lo;
  }

  /** A tag: field number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.uvarint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }

  /** The next `n` bytes as a view into the buffer. */
  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) {
      throw new ProtobufDecodeError(
        'TRUNCATED',
        `field of ${n} bytes at byte ${this.pos} runs past the end (${this.end})`,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length-delimited field's payload. */
  lengthDelimited(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  /** A little-endian 32-bit word (fixed32, sfixed32, float). */
  fixed32(): Uint8Array {
    return this.bytes(4);
  }

  /** A little-endian 64-bit word (fixed64, sfixed64, double). */
  fixed64(): Uint8Array {
    return this.bytes(8);
  }

  /** Skip a field's value of the given wire type. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint64();
    else if (wire === WIRE_FIXED64) this.fixed64();
    else if (wire === WIRE_LEN) this.lengthDelimited();
    else if (wire === WIRE_FIXED32) this.fixed32();
    else throw new ProtobufDecodeError('BAD_WIRE_TYPE', `unsupported wire type ${wire} at byte ${this.pos}`);
  }
}

/** A varint's halves as a signed 64-bit integer: a number when safe, else its decimal string. */
export function int64Of(v: U64): number | string {
  const hi = v.hi | 0;
  const n = hi * TWO_32 + v.lo;
  if (Number.isSafeInteger(n)) return n;
  return ((BigInt(hi) << 32n) + BigInt(v.lo)).toString();
}

/** A varint's halves as an unsigned 64-bit integer: a number when safe, else its decimal string. */
export function uint64Of(v: U64): number | string {
  const n = v.hi * TWO_32 + v.lo;
  if (Number.isSafeInteger(n)) return n;
  return ((BigInt(v.hi) << 32n) + BigInt(v.lo)).toString();
}
