/**
 * Shallow splitting of OTLP export requests by resource, without a full decode: each top-level field-1 entry
 * (ResourceSpans / ResourceMetrics / ResourceLogs) is copied byte-for-byte (tag + length + payload) into its own
 * request, which is itself a valid export request of the same type.
 */
import { err, ok, type Result } from '../result.js';
import { walk, WIRE_LEN } from '../protowire.js';

export interface RequestChunk {
  /** A complete export request holding exactly one resource entry. */
  readonly bytes: Uint8Array;
  /** service.name of the entry's resource, or null when absent. */
  readonly service: string | null;
}

export interface SplitOptions {
  /** Upper bound on resource entries in one request (default 10 000). */
  readonly maxChunks?: number;
}

export const DEFAULT_MAX_CHUNKS = 10_000;

const utf8 = new TextDecoder();
const SERVICE_NAME = new TextEncoder().encode('service.name');

function bytesEqual(buf: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}

/** Splits an export request into one request per resource entry. Unknown top-level fields are dropped. */
export function splitByResource(bytes: Uint8Array, opts: SplitOptions = {}): Result<RequestChunk[], string> {
  const max = opts.maxChunks ?? DEFAULT_MAX_CHUNKS;
  const chunks: RequestChunk[] = [];
  let problem: string | null = null;
  const r = walk(bytes, (f) => {
    if (f.field !== 1) return undefined;
    if (f.wire !== WIRE_LEN) {
      problem = `field 1 must be length-delimited, got wire type ${f.wire}`;
      return false;
    }
    if (chunks.length >= max) {
      problem = `request holds more than ${max} resource entries`;
      return false;
    }
    const entry = bytes.slice(f.start, f.end);
    chunks.push({ bytes: entry, service: serviceNameOfEntry(bytes, f.valueStart, f.end) });
    return undefined;
  });
  if (!r.ok) return err(`not a valid OTLP protobuf export request: ${r.error}`);
  if (problem !== null) return err(`not a valid OTLP protobuf export request: ${problem}`);
  return ok(chunks);
}

/**
 * service.name of the resource in one ResourceX payload buf[start, end): ResourceX{resource=1} ->
 * Resource{attributes=1} -> KeyValue{key=1, value=2} -> AnyValue{string_value=1}. Null when absent or malformed.
 */
export function serviceNameOfEntry(buf: Uint8Array, start: number, end: number): string | null {
  let found: string | null = null;
  walk(
    buf,
    (rf) => {
      if (rf.field !== 1 || rf.wire !== WIRE_LEN) return undefined;
      walk(
        buf,
        (af) => {
          if (af.field !== 1 || af.wire !== WIRE_LEN) return undefined;
          let isService = false;
          let value: string | null = null;
          walk(
            buf,
            (kv) => {
              if (kv.wire !== WIRE_LEN) return undefined;
              if (kv.field === 1) isService = bytesEqual(buf, kv.valueStart, kv.end, SERVICE_NAME);
              else if (kv.field === 2) {
                walk(
                  buf,
                  (av) => {
                    if (av.field === 1 && av.wire === WIRE_LEN)
                      value = utf8.decode(buf.subarray(av.valueStart, av.end));
                  },
                  kv.valueStart,
                  kv.end,
                );
              }
              return undefined;
            },
            af.valueStart,
            af.end,
          );
          if (isService && value !== null) {
            found = value;
            return false;
          }
          return undefined;
        },
        rf.valueStart,
        rf.end,
      );
      return found === null ? undefined : false;
    },
    start,
    end,
  );
  return found;
}

/**
 * service.name of the first resource entry of an export request (or of a chunk produced by splitByResource);
 * null when there is none.
 */
export function firstServiceName(request: Uint8Array): string | null {
  let found: string | null = null;
  walk(request, (f) => {
    if (f.field !== 1 || f.wire !== WIRE_LEN) return undefined;
    found = serviceNameOfEntry(request, f.valueStart, f.end);
    return false;
  });
  return found;
}

/** Counts resource entries without copying. */
export function countResources(request: Uint8Array): Result<number, string> {
  let n = 0;
  const r = walk(request, (f) => {
    if (f.field === 1) n++;
  });
  return r.ok ? ok(n) : err(r.error);
}
