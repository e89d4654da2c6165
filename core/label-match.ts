/** PromQL label matching (`=`, `!=`, `=~`, `!~`; regexes are anchored, as Prometheus anchors them). Pure. */
export type LabelMatchOp = '=' | '!=' | '=~' | '!~';

export function labelMatches(op: LabelMatchOp, expected: string, actual: string): boolean {
  switch (op) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '=~':
      return new RegExp(`^(?:${expected})$`).test(actual);
    case '!~':
      return !new RegExp(`^(?:${expected})$`).test(actual);
  }
}
