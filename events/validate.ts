/** Edge validation: every payload is checked against its topic's contract before any stage sees it. */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { err, ok, type Result } from '../core/result.js';
import type { TopicDef } from './registry.js';

// TypeBox rejects values whose `format` is not registered, so the formats our schemas use are registered here.
// RFC 3339 date-time: full date, 'T', time with optional fraction, and 'Z' or a numeric offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

/** Validates a parsed value against a schema; the error names up to three failing paths. */
export function validate<T extends TSchema>(schema: T, value: unknown): Result<Static<T>, string> {
  const c = checker(schema);
  if (c.Check(value)) return ok(value as Static<T>);
  const problems: string[] = [];
  for (const e of c.Errors(value)) {
    problems.push(`${e.path || '/'}: ${e.message}`);
    if (problems.length >= 3) break;
  }
  return err(`schema ${String(schema.$id ?? 'payload')} violated: ${problems.join('; ')}`);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and validates the bytes of one event for a topic. JSON topics yield the parsed object; binary topics
 * yield the bytes themselves after the shallow structural check.
 */
export function decodePayload(def: TopicDef, bytes: Uint8Array): Result<unknown, string> {
  if (def.schema === null) {
    if (!def.checkBinary) throw new Error(`topic ${def.name} has neither a schema nor a binary check`);
    if (bytes.length === 0) return err(`empty payload for ${def.name}`);
    const r = def.checkBinary(bytes);
    return r.ok ? ok(bytes) : r;
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return err(`payload for ${def.name} is not valid UTF-8`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return err(`payload for ${def.name} is not valid JSON: ${(e as Error).message}`);
  }
  return validate(def.schema, parsed);
}

/** Encodes an outbound payload for a topic, validating it first (a producer bug throws). */
export function encodePayload(def: TopicDef, data: unknown): Uint8Array {
  if (def.schema === null) {
    if (!(data instanceof Uint8Array))
      throw new TypeError(`topic ${def.name} carries bytes, got ${typeof data}`);
    const r = def.checkBinary!(data);
    if (!r.ok) throw new Error(`refusing to publish invalid bytes to ${def.name}: ${r.error}`);
    return data;
  }
  const r = validate(def.schema, data);
  if (!r.ok) throw new Error(`refusing to publish to ${def.name}: ${r.error}`);
  return new TextEncoder().encode(JSON.stringify(data));
}
