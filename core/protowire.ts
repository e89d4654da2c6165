/**
 * A shallow protobuf wire-format walker. It never builds objects for fields it is not asked about, so the collectors
 * can validate and split OTLP requests without a full decode/re-encode.
 */
import { err, ok, type Result } from './result.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface FieldRef {
  readonly field: number;
  readonly wire: number;
  /** Offset of the tag's first byte. */
  readonly start: number;
  /** For LEN fields: payload bounds; for others: value bounds. */
  readonly valueStart: number;
  readonly end: number;
}

/** Reads a varint at `pos`; returns [value, nextPos] or null when truncated/overlong. Values above 2^53 lose precision. */
export function readVarint(buf: Uint8Array, pos: number): [number, number] | null {
  let result = 0;
  let shift = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) return null;
    const b = buf[pos++]!;
    result += (b & 0x7f) * shift;
    if (b < 0x80) return [result, pos];
    shift *= 128;
  }
  return null;
}

/**
 * Walks the top-level fields of one message in buf[start, end). Calls visit for each field; stops early when visit
 * returns false. Returns an error describing the first malformation.
 */
export function walk(
  buf: Uint8Array,
  visit: (f: FieldRef) => boolean | void,
  start = 0,
  end = buf.length,
): Result<void, string> {
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const tag = readVarint(buf, pos);
    if (!tag || tag[1] > end) return err(`truncated tag at byte ${pos}`);
    const [key, afterTag] = tag;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) return err(`field number 0 at byte ${tagStart}`);
    let valueStart = afterTag;
    let next: number;
    switch (wire) {
      case WIRE_VARINT: {
        const v = readVarint(buf, afterTag);
        if (!v || v[1] > end) return err(`truncated varint in field ${field} at byte ${afterTag}`);
        next = v[1];
        break;
      }
      case WIRE_I64:
        next = afterTag + 8;
        break;
      case WIRE_I32:
        next = afterTag + 4;
        break;
      case WIRE_LEN: {
        const l = readVarint(buf, afterTag);
        if (!l) return err(`truncated length in field ${field} at byte ${afterTag}`);
        valueStart = l[1];
        next = l[1] + l[0];
        break;
      }
      default:
        return err(`unsupported wire type ${wire} in field ${field} at byte ${tagStart}`);
    }
    if (next > end)
      return err(`field ${field} overruns its message (ends at ${next}, message ends at ${end})`);
    if (visit({ field, wire, start: tagStart, valueStart, end: next }) === false) return ok(undefined);
    pos = next;
  }
  return ok(undefined);
}
