/**
 * Finds where a chunked body ends without copying it: the raw path forwards chunked bytes as
 * they are and only needs to know the message boundary (to reuse the connection) and, for
 * HTTP/1.0 clients, the data itself (`onData`).
 */
import { ChunkedFramingError } from '../errors.js';

const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const LINE_START = 6;
const TRAILER = 7;
const END_LF = 8;
const DONE = 9;

/** Incremental chunked-body boundary tracker. */
export class ChunkedTracker {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  /** Data bytes seen so far (the decoded length). */
  decoded = 0;

  /**
   * Feed `buf[start..end)`. Returns the offset just past the end of the body when it ends in
   * this slice, or -1 when it needs more. `onData` gets decoded data slices when given.
   */
  feed(buf: Buffer, start: number, end: number, onData?: (b: Buffer) => void): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case DATA: {
          const n = Math.min(this.remaining, end - i);
          if (onData) onData(buf.subarray(i, i + n));
          this.remaining -= n;
          this.decoded += n;
          i += n;
          if (this.remaining === 0) this.state = DATA_CR;
          continue;
        }
        case SIZE: {
          const c = buf[i]!;
          const v = hex(c);
          if (v >= 0) {
            if (++this.digits > 15) throw new ChunkedFramingError('chunk size too large');
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) throw new ChunkedFramingError(`invalid chunk size byte ${c}`);
          else if (c === 0x0d) this.state = SIZE_LF;
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = EXT;
          else throw new ChunkedFramingError(`invalid chunk size byte ${c}`);
          break;
        }
        case EXT:
          if (buf[i] === 0x0d) this.state = SIZE_LF;
          else if (buf[i] === 0x0a) throw new ChunkedFramingError('bare LF in chunk extension');
          break;
        case SIZE_LF:
          if (buf[i] !== 0x0a) throw new ChunkedFramingError('missing LF after chunk size');
          if (this.size === 0) this.state = LINE_START;
          else {
            this.remaining = this.size;
            this.state = DATA;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case DATA_CR:
          if (buf[i] !== 0x0d) throw new ChunkedFramingError('missing CRLF after chunk data');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== 0x0a) throw new ChunkedFramingError('missing CRLF after chunk data');
          this.state = SIZE;
          break;
        case LINE_START:
          this.state = buf[i] === 0x0d ? END_LF : TRAILER;
          break;
        case TRAILER:
          if (buf[i] === 0x0a) this.state = LINE_START;
          break;
        case END_LF:
          if (buf[i] !== 0x0a) throw new ChunkedFramingError('missing LF at end of chunked body');
          this.state = DONE;
          return i + 1;
        default:
          return i;
      }
      i++;
    }
    return -1;
  }

  get done(): boolean {
    return this.state === DONE;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
