/**
 * Triage of an OTLP protobuf export request, for partial success: the request is split per resource entry (as
 * splitByResource does) and every entry is checked on its own — the resource, scope and scope-list messages are
 * walked, spans / log records / data points are framed and counted (their own fields are not walked) — with a
 * shallow walk; nothing is decoded into objects.
 *
 * - The request's own framing is broken (or field 1 is not length-delimited): nothing can be trusted, the whole
 *   request is invalid (err).
 * - Some entries are malformed: those entries are rejected, with the number of items they hold (what could be
 *   framed, at least 1) and the reason; the others are accepted as they are.
 *
 * Pure: no I/O.
 */
import { err, ok, type Result } from '../core/result.js';
import { walk, WIRE_LEN, type FieldRef } from '../core/protowire.js';
import { DEFAULT_MAX_CHUNKS, serviceNameOfEntry, type RequestChunk } from '../core/otlp/split.js';
import type { OtlpSignal } from '../core/otlp/json.js';

export interface RejectedEntry {
  /** Position of the entry among the request's resource entries (0-based). */
  readonly index: number;
  readonly service: string | null;
  /** Spans, log records or data points the entry holds (as far as they could be framed; at least 1). */
  readonly items: number;
  readonly reason: string;
}

export interface Triage {
  readonly accepted: RequestChunk[];
  /** Spans / log records / data points in the accepted entries. */
  readonly acceptedItems: number;
  readonly rejected: RejectedEntry[];
}

/** What the partial_success of an Export*ServiceResponse calls the items of each signal. */
export const ITEM_NAME: Record<OtlpSignal, string> = {
  traces: 'spans',
  metrics: 'data points',
  logs: 'log records',
};

// Metric{gauge=5, sum=7, histogram=9, exponential_histogram=10, summary=11}, each holding data_points=1.
const METRIC_DATA_FIELDS = new Set([5, 7, 9, 10, 11]);

class Malformed extends Error {}

/** Walks buf[f.valueStart, f.end) as a message; throws Malformed (with `what`) when it is not one. */
function sub(buf: Uint8Array, f: FieldRef, what: string, visit: (g: FieldRef) => void): void {
  if (f.wire !== WIRE_LEN) throw new Malformed(`${what} must be length-delimited, got wire type ${f.wire}`);
  const r = walk(
    buf,
    (g) => {
      visit(g);
    },
    f.valueStart,
    f.end,
  );
  if (!r.ok) throw new Malformed(`${what}: ${r.error}`);
}

const noop = (): void => undefined;

/**
 * Checks one resource entry (the payload of top-level field 1) and counts its items. Every item the scope framing
 * delimits is counted, also the malformed ones (their own bytes may be garbage); the first malformation found is
 * thrown (Malformed) once the entry has been walked as far as its framing allows. `counted.n` holds the count in both
 * cases.
 */
function checkEntry(buf: Uint8Array, entry: FieldRef, signal: OtlpSignal, counted: { n: number }): void {
  const scopeName =
    signal === 'traces' ? 'scope_spans' : signal === 'metrics' ? 'scope_metrics' : 'scope_logs';
  const itemName = signal === 'traces' ? 'span' : 'log_record';
  let first: Malformed | null = null;
  /**
   * Counts an item and checks its framing (length-delimited, inside its parent). Its own fields are not walked: that
   * would cost as much as the rest of the hot path together; the decoding stages dead-letter a garbled span. A bad
   * item is remembered, not thrown, so the rest are still counted.
   */
  const item = (f: FieldRef, what: string): void => {
    counted.n++;
    if (f.wire !== WIRE_LEN)
      first ??= new Malformed(`${what} must be length-delimited, got wire type ${f.wire}`);
  };
  sub(buf, entry, 'resource entry', (f) => {
    if (f.field === 1) sub(buf, f, 'resource', noop);
    else if (f.field === 2) {
      sub(buf, f, scopeName, (s) => {
        if (s.field === 1) sub(buf, s, 'scope', noop);
        else if (s.field === 2) {
          if (signal !== 'metrics') {
            item(s, itemName);
            return;
          }
          // Items of a metric are its data points: count them inside every data container.
          sub(buf, s, 'metric', (m) => {
            if (!METRIC_DATA_FIELDS.has(m.field)) return;
            // data containers are walked to count their points (metrics are few next to spans and log records)
            sub(buf, m, `metric data (field ${m.field})`, (d) => {
              if (d.field === 1) item(d, 'data point');
            });
          });
        }
      });
    }
  });
  if (first) throw first;
}

/** Splits and checks an export request; see the module comment for what is rejected how. */
export function triageExportRequest(
  signal: OtlpSignal,
  bytes: Uint8Array,
  opts: { readonly maxChunks?: number } = {},
): Result<Triage, string> {
  const max = opts.maxChunks ?? DEFAULT_MAX_CHUNKS;
  const accepted: RequestChunk[] = [];
  const rejected: RejectedEntry[] = [];
  let acceptedItems = 0;
  let problem: string | null = null;
  let index = 0;
  const r = walk(bytes, (f) => {
    if (f.field !== 1) return undefined; // unknown top-level fields are legal protobuf; they are dropped
    if (f.wire !== WIRE_LEN) {
      problem = `field 1 must be length-delimited, got wire type ${f.wire}`;
      return false;
    }
    if (index >= max) {
      problem = `request holds more than ${max} resource entries`;
      return false;
    }
    const service = serviceNameOfEntry(bytes, f.valueStart, f.end);
    const counted = { n: 0 };
    try {
      checkEntry(bytes, f, signal, counted);
      accepted.push({ bytes: bytes.slice(f.start, f.end), service });
      acceptedItems += counted.n;
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      rejected.push({ index, service, items: Math.max(1, counted.n), reason: e.message });
    }
    index++;
    return undefined;
  });
  if (!r.ok) return err(`not a valid OTLP protobuf export request: ${r.error}`);
  if (problem !== null) return err(`not a valid OTLP protobuf export request: ${problem}`);
  return ok({ accepted, acceptedItems, rejected });
}

/** The error_message of a partial success: which entries were rejected and why (bounded in length). */
export function partialSuccessMessage(signal: OtlpSignal, rejected: readonly RejectedEntry[]): string {
  const items = rejected.reduce((n, r) => n + r.items, 0);
  const parts = rejected
    .slice(0, 5)
    .map(
      (r) =>
        `resource entry ${r.index}${r.service !== null ? ` (service.name=${JSON.stringify(r.service)})` : ''}: ${r.reason}`,
    );
  if (rejected.length > 5) parts.push(`and ${rejected.length - 5} more`);
  return `rejected ${items} ${ITEM_NAME[signal]} in ${rejected.length} malformed resource ${
    rejected.length === 1 ? 'entry' : 'entries'
  }: ${parts.join('; ')}`;
}
