import { describe, expect, it } from 'vitest';
import { ProtobufDecodeError } from './errors.js';
import { int64Of, uint64Of, WireReader } from './wire-reader.js';

/** Encode a 64-bit two's-complement varint (test-side encoder). */
function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const b = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? b | 0x80 : b);
  } while (u > 0n);
  return out;
}

describe('WireReader.varint64 + int64Of / uint64Of', () => {
  const cases: { value: bigint; int64: number | string; uint64: number | string }[] = [
    { value: 0n, int64: 0, uint64: 0 },
    { value: 1n, int64: 1, uint64: 1 },
    { value: 300n, int64: 300, uint64: 300 },
    { value: 0xffff_ffffn, int64: 4294967295, uint64: 4294967295 },
    { value: 0x1_0000_0000n, int64: 4294967296, uint64: 4294967296 },
    { value: 2n ** 53n - 1n, int64: Number.MAX_SAFE_INTEGER, uint64: Number.MAX_SAFE_INTEGER },
    { value: 2n ** 53n + 1n, int64: '9007199254740993', uint64: '9007199254740993' },
    { value: 2n ** 63n - 1n, int64: '9223372036854775807', uint64: '9223372036854775807' },
    { value: -1n, int64: -1, uint64: '18446744073709551615' },
    { value: -(2n ** 31n), int64: -2147483648, uint64: '18446744071562067968' },
    { value: -(2n ** 63n), int64: '-9223372036854775808', uint64: '9223372036854775808' },
  ];
  it.each(cases)('$value', ({ value, int64, uint64 }) => {
    const bytes = Uint8Array.from(varint(value));
    const r = new WireReader(bytes);
    const v = r.varint64();
    expect(r.done()).toBe(true);
    expect(int64Of(v)).toEqual(int64);
    expect(uint64Of(v)).toEqual(uint64);
  });
});

describe('WireReader errors', () => {
  const cases: { name: string; bytes: number[]; read: (r: WireReader) => unknown; code: string }[] = [
    { name: 'varint cut short', bytes: [0x96], read: (r) => r.varint64(), code: 'TRUNCATED' },
    { name: 'empty varint', bytes: [], read: (r) => r.uvarint(), code: 'TRUNCATED' },
    {
      name: 'varint of 11 bytes',
      bytes: [...Array(10).fill(0xff), 0x01],
      read: (r) => r.varint64(),
      code: 'BAD_VARINT',
    },
    {
      name: 'length past the end',
      bytes: [0x05, 0x61, 0x62],
      read: (r) => r.lengthDelimited(),
      code: 'TRUNCATED',
    },
    { name: 'fixed64 cut short', bytes: [1, 2, 3], read: (r) => r.fixed64(), code: 'TRUNCATED' },
    { name: 'group wire type', bytes: [], read: (r) => r.skip(3), code: 'BAD_WIRE_TYPE' },
    { name: 'length beyond 2^53', bytes: varint(2n ** 60n), read: (r) => r.uvarint(), code: 'BAD_VARINT' },
  ];
  it.each(cases)('$name', ({ bytes, read, code }) => {
    const r = new WireReader(Uint8Array.from(bytes));
    let err: unknown;
    try {
      read(r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtobufDecodeError);
    expect((err as ProtobufDecodeError).code).toBe(code);
  });

  it('stays inside its range', () => {
    const r = new WireReader(Uint8Array.from([0x02, 0x61, 0x62, 0x63]), { start: 0, end: 2 });
    expect(() => r.lengthDelimited()).toThrow(/runs past the end/);
  });

  it('reads tags', () => {
    const r = new WireReader(Uint8Array.from([...varint((17n << 3n) | 2n), 0x00]));
    expect(r.tag()).toEqual({ field: 17, wire: 2 });
    expect(r.lengthDelimited()).toEqual(new Uint8Array());
    expect(r.done()).toBe(true);
  });
});
