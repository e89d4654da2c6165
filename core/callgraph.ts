/** Turns resolved span parentage (child -> parent edges) into the operation facts that journey discovery needs. */
import { SpanKind } from './otlp/model.js';

export interface SpanEdge {
  readonly service: string;
  readonly operation: string;
  /** OTLP SpanKind number. */
  readonly spanKind: number;
  /** '' when the parent span is absent (a trace root). */
  readonly parentService: string;
  readonly parentOperation: string;
  readonly count: number;
}

export interface OperationFact {
  readonly service: string;
  readonly operation: string;
  readonly spanKind: 'server' | 'consumer' | 'client' | 'internal' | 'producer';
  /** Reached without an in-service parent: an entry point of its service. */
  readonly isEntry: boolean;
  /** Reached as a trace root: user-facing. */
  readonly isRoot: boolean;
}

const KIND_NAMES: Readonly<Record<number, OperationFact['spanKind']>> = {
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
  [SpanKind.INTERNAL]: 'internal',
};

/** OTLP SpanKind number <-> lower-case name (as fingerprinted records carry it). */
export function spanKindName(kind: number): OperationFact['spanKind'] {
  return KIND_NAMES[kind] ?? 'internal';
}
export function spanKindNumber(name: string): number {
  const e = Object.entries(KIND_NAMES).find(([, n]) => n === name);
  return e ? Number(e[0]) : SpanKind.INTERNAL;
}

export function operationFacts(edges: readonly SpanEdge[]): OperationFact[] {
  const m = new Map<
    string,
    { service: string; operation: string; kind: number; entry: boolean; root: boolean }
  >();
  for (const e of edges) {
    const k = `${e.service}\u0000${e.operation}`;
    let f = m.get(k);
    if (!f) {
      f = { service: e.service, operation: e.operation, kind: e.spanKind, entry: false, root: false };
      m.set(k, f);
    }
    if (e.parentService !== e.service) f.entry = true;
    if (e.parentService === '') f.root = true;
  }
  return [...m.values()]
    .map((f) => ({
      service: f.service,
      operation: f.operation,
      spanKind: spanKindName(f.kind),
      isEntry: f.entry,
      isRoot: f.root,
    }))
    .sort((a, b) => (a.service + a.operation).localeCompare(b.service + b.operation));
}
