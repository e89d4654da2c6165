/**
 * Expected failures are values; bugs throw.
 * Every fallible operation in the pure core returns a Result instead of throwing.
 */
export type Result<T, E = string> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function unwrap<T, E>(r: Result<T, E>): T {
  if (r.ok) return r.value;
  throw new Error(
    `unwrap on error result: ${typeof r.error === 'string' ? r.error : JSON.stringify(r.error)}`,
  );
}
