/**
 * PII / secret redaction for log bodies, span names and attribute values.
 *
 * Design:
 * - Every detector is a global regex (+ optional validator) that is only run when a cheap feature pre-check says the
 *   text could contain a candidate. The features come from ONE pass over the char codes (counts of digits, '@',
 *   '.', ':', '-', upper-case letters, …) plus a few `includes` checks for literal prefixes (`eyJ`, `AKIA`, `ghp_`, …)
 *   and one keyword regex test. A line with nothing suspicious costs one scan and no regex execution.
 * - Every pattern is linear: no nested unbounded quantifiers; unbounded runs are anchored by a look-behind so that
 *   only run starts are tried (avoids quadratic scans over long tokens).
 * - Validators keep precision high: Luhn for cards, mod-97 + country length for IBANs, SSA invalid ranges for SSNs,
 *   NANP rules for US phones, octet ranges + a version-context rule for IPv4, group structure for IPv6.
 *
 * Not redacted on purpose: UUIDs, hex hashes, HDFS block ids (`blk_-1608999687919862906`), durations (`250ms`),
 * timestamps (epoch ms/ns, ISO-8601, `10:00:00`), version strings (`6.1.7601`, `v1.2.3.4`, `version 1.2.3.4`),
 * ordinary numbers (plain digit runs are never phones/SSNs; only card-shaped runs with a card prefix and a valid
 * Luhn digit are cards).
 *
 * IPv4 rule: four dot-separated decimal octets, each 0-255 without leading zeros; not part of a longer dotted/word
 * run (so `1.2.3.4.5` and `a1.2.3.4` do not match); and not preceded by `v`/`V` or by the word `version`/`ver`
 * (optionally followed by `:`/`=`/spaces), because such strings are version numbers. `:port` suffixes stay.
 *
 * Profiles (`createRedactor({ profile })`) trade recall on context-free digit runs against keeping numeric ids:
 * - `default`: a bare digit run is PII only with a strong format (separators, `+`, a trunk `0`, a card issuer prefix
 *   with a valid Luhn digit) or with a context word shortly before it (`phone`, `tel`, `ssn`, `social security`,
 *   `card` …). In logs, 9-11 digit runs are mostly ids, counters, byte sizes and epoch seconds: they stay, so
 *   templates and labels keep their shape.
 * - `strict`: additionally, without any context, (a) 10-digit national numbers (leading 2-9, or trunk `0` + 9
 *   digits; a leading `1` stays because that is the shape of epoch seconds 2001-2033), 11-digit runs `1` + NANP or
 *   Chinese mobile, (b) international groupings written without `+` (valid ITU country code, then 2-4 digit groups
 *   with one space or dash separator: `44 20 7946 0958`, `49-30-901820`), (c) the weak SSN forms `AAA-GGSSSS`,
 *   `AAAGG-SSSS` and bare 9-digit runs (SSA area/group/serial rules still apply). Cost: numeric ids, order numbers,
 *   9-10 digit counters and sizes that happen to fit become `<PHONE>`/`<SSN>`: templates lose those values and
 *   look-alikes are redacted. Choose it when recall matters more than keeping numeric ids (e.g. free-text user
 *   input, support tickets); `npm run bench -- fingerprint` reports the recall and the Loghub cost of both.
 */
import type { Attrs, AttrValue } from '../otlp/model.js';

export type RedactionCounts = Record<string, number>;

export interface RedactionResult {
  readonly text: string;
  readonly counts: RedactionCounts;
}

export interface Redactor {
  readonly profile: RedactionProfile;
  /** Detector names in the order they run (built-ins that are not disabled, then custom ones). */
  readonly names: readonly string[];
  redact(text: string): RedactionResult;
  /** Redacts string values; values of sensitive keys (password, token, cookie, …) become `<SECRET>`. */
  redactAttrs(attrs: Attrs): { attrs: Attrs; counts: RedactionCounts };
}

/** See the file header: `default` keeps context-free digit runs, `strict` trades numeric ids for recall. */
export type RedactionProfile = 'default' | 'strict';
export const REDACTION_PROFILES: readonly RedactionProfile[] = ['default', 'strict'];

export interface RedactorConfig {
  /** `default` (when omitted) or `strict`; see the file header for the trade-off. */
  readonly profile?: RedactionProfile;
  /** Extra detectors; the placeholder is `<NAME>` with the name upper-cased. Patterns must not match ''. */
  readonly custom?: readonly { name: string; pattern: string; flags?: string }[];
  /** Built-in detector names to switch off (see BUILTIN_DETECTORS). */
  readonly disabled?: readonly string[];
}

// ---- feature pre-check --------------------------------------------------------------------------------------------

interface Features {
  digits: number;
  at: number;
  dots: number;
  colons: number;
  dashes: number;
  plus: number;
  upper: number;
  /** Longest run of consecutive digits. */
  maxRun: number;
  /** Digit runs (>= 2 long) followed by ' ' or '-' and another digit: grouped card numbers, dates. */
  sepGroups: number;
  /** `digit . digit` occurrences (IPv4, versions). */
  dotDigits: number;
  /** `digit - digit` / `digit . digit` occurrences (phones, SSNs). */
  sepDigits: number;
  paren: boolean;
  /** Two upper-case letters immediately followed by a digit (IBAN country + check digits). */
  ibanHint: boolean;
}

const newFeatures = (): Features => ({
  digits: 0,
  at: 0,
  dots: 0,
  colons: 0,
  dashes: 0,
  plus: 0,
  upper: 0,
  maxRun: 0,
  sepGroups: 0,
  dotDigits: 0,
  sepDigits: 0,
  paren: false,
  ibanHint: false,
});

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;

function scanFeatures(text: string, f: Features): void {
  let digits = 0;
  let at = 0;
  let dots = 0;
  let colons = 0;
  let dashes = 0;
  let plus = 0;
  let upper = 0;
  let run = 0;
  let maxRun = 0;
  let sepGroups = 0;
  let dotDigits = 0;
  let sepDigits = 0;
  let paren = false;
  let ibanHint = false;
  let upperRun = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      run++;
      if (upperRun >= 2) ibanHint = true;
      upperRun = 0;
      continue;
    }
    if (run > 0) {
      if (run > maxRun) maxRun = run;
      if ((c === 32 || c === 45) && run >= 2 && i + 1 < n && isDigitCode(text.charCodeAt(i + 1))) sepGroups++;
      if ((c === 46 || c === 45) && i + 1 < n && isDigitCode(text.charCodeAt(i + 1))) {
        sepDigits++;
        if (c === 46) dotDigits++;
      }
      run = 0;
    }
    if (c >= 65 && c <= 90) {
      upper++;
      upperRun++;
      continue;
    }
    upperRun = 0;
    if (c === 46) dots++;
    else if (c === 58) colons++;
    else if (c === 45) dashes++;
    else if (c === 64) at++;
    else if (c === 43) plus++;
    else if (c === 40) paren = true;
  }
  if (run > maxRun) maxRun = run;
  f.digits = digits;
  f.at = at;
  f.dots = dots;
  f.colons = colons;
  f.dashes = dashes;
  f.plus = plus;
  f.upper = upper;
  f.maxRun = maxRun;
  f.sepGroups = sepGroups;
  f.dotDigits = dotDigits;
  f.sepDigits = sepDigits;
  f.paren = paren;
  f.ibanHint = ibanHint;
}

/** Words that make the keyword detectors worth running (case-insensitive). */
const KEYWORD_HINT = /pass|secret|token|key|pwd|auth|bearer|basic|credential|cookie/i;

// ---- validators ---------------------------------------------------------------------------------------------------

function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/**
 * Card brand by issuer prefix and length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro, UATP).
 * Exported for tests.
 */
export function cardPrefixOk(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '1') return n === 15; // UATP (airline cards): issuer prefix 1, 15 digits
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19; // Discover
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
  PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
}; // prettier-ignore

function ibanMod97(iban: string): boolean {
  // Move the first four chars to the end, letters -> 10..35, then mod 97 piecewise.
  const s = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

function ipv6Valid(s: string): boolean {
  let body = s;
  const pct = body.indexOf('%');
  if (pct >= 0) body = body.slice(0, pct);
  let v4Groups = 0;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.');
    if (o.length !== 4 || o.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return false;
    v4Groups = 2; // an embedded IPv4 tail stands for two 16-bit groups
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  } else if (!/\d/.test(body)) {
    return false; // `dead::beef`, `Abc::Def`: identifiers, not addresses
  }
  const dbl = body.indexOf('::');
  if (dbl >= 0 && body.indexOf('::', dbl + 1) >= 0) return false;
  const countGroups = (part: string): number => {
    if (part === '') return 0;
    const gs = part.split(':');
    for (const g of gs) if (g.length < 1 || g.length > 4) return -1;
    return gs.length;
  };
  if (dbl >= 0) {
    const a = countGroups(body.slice(0, dbl));
    const b = countGroups(body.slice(dbl + 2));
    return a >= 0 && b >= 0 && a + b + v4Groups <= 7;
  }
  const n = countGroups(body);
  return n >= 0 && n + v4Groups === 8;
}

const VERSION_CONTEXT = /\b(?:version|ver|v)[\s:=]*$/i;

/** Context words (as Presidio uses them) that must appear shortly before a candidate without a strong format. */
const PHONE_CONTEXT =
  /\b(?:(?:tele|cell|mobile|work|home)?phone|tel|telef|telep|mobile|cell|call|fax|sms|whatsapp|contact|number)/i;
const SSN_CONTEXT = /\b(?:ssn|ssns|social[\s_-]*sec(?:urity)?|ss#|ss no)/i;
const CARD_CONTEXT = /\b(?:card|credit|debit|visa|mastercard|amex|pan|cc)\b/i;
const CONTEXT_WINDOW = 40;

function before(input: string, offset: number): string {
  return input.slice(Math.max(0, offset - CONTEXT_WINDOW), offset);
}

/** True when one of the context words appears in the window before `offset` (same line). */
function hasContext(re: RegExp, input: string, offset: number): boolean {
  const w = before(input, offset);
  const nl = w.lastIndexOf('\n');
  return re.test(nl >= 0 ? w.slice(nl + 1) : w);
}

/**
 * True when the candidate continues a longer grouped code: the token before it is an alphanumeric block with a digit
 * followed by the candidate's own separator (`BE71 0961 2345 6760`, `A-1234-555-0132`).
 */
function partOfLongerCode(input: string, offset: number, sep: string): boolean {
  if (offset === 0 || input[offset - 1] !== sep) return false;
  let a = offset - 1;
  while (a > 0 && /[A-Za-z0-9]/.test(input[a - 1]!)) a--;
  const block = input.slice(a, offset - 1);
  if (block.length < 2 || block.length > 6 || !/\d/.test(block)) return false;
  return a === 0 || /[\s:=(]/.test(input[a - 1]!) || input[a - 1] === sep;
}

/** ITU-T E.164 country codes: 1 and 7, the assigned two-digit codes, and the two-digit prefixes of three-digit codes. */
const CC2 = new Set([
  20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62,
  63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
]); // prettier-ignore
const CC3_PREFIX = new Set([
  21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99,
]);

export function countryCodeValid(cc: string): boolean {
  if (cc.length === 1) return cc === '1' || cc === '7';
  if (cc[0] === '0') return false;
  if (cc.length === 2) return CC2.has(Number(cc));
  return cc.length === 3 && CC3_PREFIX.has(Number(cc.slice(0, 2)));
}

/**
 * Digits right before or after the candidate, across one space: one column of a row of numbers (a table row,
 * counters), not an SSN or a phone number written with spaces.
 */
function numericNeighbours(input: string, offset: number, m: string): boolean {
  const prev = input.slice(Math.max(0, offset - 2), offset);
  const next = input.slice(offset + m.length, offset + m.length + 2);
  return /\d\s$/.test(prev) || /^\s\d/.test(next);
}

/**
 * strict profile: a context-free digit run that is a national phone number. 10 digits: leading 2-9 (a national
 * number without trunk prefix) or trunk 0 + non-zero (FR, NL, AU …); a leading 1 is left alone (epoch seconds).
 * 11 digits: 1 + a NANP number, or a Chinese mobile (1[3-9] + 9); trunk-0 numbers are already default.
 */
function strictNationalRun(d: string): boolean {
  if (d.length === 10) return d[0] !== '1' && !(d[0] === '0' && d[1] === '0');
  if (d.length !== 11 || d[0] !== '1') return false;
  return d[1]! >= '3' || (d[1] === '2' && d[4]! >= '2');
}

/** `CC NPA NXX XXXX` / `CC-NPA-NXX-XXXX`: an E.164 number written without `+`, NANP-shaped national part. */
const CC_NANP = /^([1-9]\d{0,2})([ -])\d{3}\2\d{3}\2\d{4}$/;

/** Well-known invalid / advertised sample SSNs (Woolworth wallet card, SSA advertising). */
const INVALID_SSNS = new Set(['078051120', '219099999']);

/** `::` alone is the unspecified address after `=`/`:`/brackets, before `/len`, or at the end of the text; a
 * `::` between spaces is a separator (`INFO :: started`). */
function unspecifiedAddress(input: string, offset: number): boolean {
  const prev = offset > 0 ? input[offset - 1]! : '';
  const next = input[offset + 2] ?? '';
  if (next === '/' || next === ']') return true;
  if (prev === '=' || prev === '[' || prev === '(' || prev === '"' || prev === "'")
    return next === '' || /[\s,;)\]"']/.test(next);
  return next === '' && /\s/.test(prev);
}

function shannonEntropy(s: string): number {
  const freq = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    freq.set(c, (freq.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of freq.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const TRIVIAL_VALUES = new Set(['', 'null', 'none', 'nil', 'true', 'false', 'undefined', 'redacted', 'n/a']);

function isPlaceholder(v: string): boolean {
  return /^<[A-Z_]+>$/.test(v) || /^\*+$/.test(v) || /^x{3,}$/i.test(v) || /^\[?redacted\]?$/i.test(v);
}

/** A value after `token=`-like keys that looks like a credential rather than a count or a word. */
export function looksSecret(v: string): boolean {
  if (v.length < 8 || isPlaceholder(v) || TRIVIAL_VALUES.has(v.toLowerCase())) return false;
  if (/^\d+(?:\.\d+)?$/.test(v)) return false; // plain numbers (counts, ttl)
  if (/^(?:bearer|basic|digest|negotiate|token)$/i.test(v)) return false;
  if (v.length <= 24 && /^[A-Z]?[a-z]+$|^[A-Z]+$/.test(v)) return false; // a plain word
  const hasDigit = /\d/.test(v);
  const hasAlpha = /[A-Za-z]/.test(v);
  if (v.length >= 16 && hasDigit && hasAlpha) return true;
  return v.length >= 12 ? shannonEntropy(v) >= 3.0 : hasDigit && hasAlpha && shannonEntropy(v) >= 2.75;
}

// ---- detectors ----------------------------------------------------------------------------------------------------

type Replacer = (match: string, groups: string[], offset: number, input: string) => string | null;

interface Detector {
  readonly name: string;
  readonly placeholder: string;
  readonly re: RegExp;
  /** Cheap gate on the pre-computed features; false skips the regex. */
  readonly gate: (f: Features, text: string, kw: boolean) => boolean;
  /** Returns the replacement, or null to keep the match. Default: the placeholder. */
  readonly replace?: Replacer;
}

const AWS_ID_HINT = /A(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|ROA|PKA)[A-Z0-9]/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const SECRET_WORDS_STRONG =
  'pass(?:word|wd|phrase)s?|secret(?:[_-]?(?:access[_-]?)?key)?|private[_-]?key|credentials?';
const SECRET_WORDS_WEAK =
  'token|api[_-]?key|apikey|access[_-]?key|auth(?:[_-]?key)?|pwd|session[_-]?(?:id|key)|signature|sig';

function builtinDetectors(profile: RedactionProfile): Detector[] {
  const strict = profile === 'strict';
  const strongKey = new RegExp(`^(?:${SECRET_WORDS_STRONG})$`, 'i');
  return [
    {
      name: 'private_key',
      placeholder: '<PRIVATE_KEY>',
      // Complete block, or (truncated line) the BEGIN marker plus the base64 body that follows.
      re: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=\s\\]*)/g,
      gate: (_f, t) => t.includes('-----BEGIN'),
    },
    {
      name: 'url_password',
      placeholder: '<PASSWORD>',
      re: /\b([a-zA-Z][a-zA-Z0-9+.-]{0,30}:\/\/[^\s:@/?#]{0,256}:)([^\s@/?#]{1,256})@/g,
      gate: (f, t) => f.at > 0 && t.includes('://'),
      replace: (_m, g) => (isPlaceholder(g[1] ?? '') ? null : `${g[0]}<PASSWORD>@`),
    },
    {
      name: 'jwt',
      placeholder: '<JWT>',
      re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
      gate: (_f, t) => t.includes('eyJ'),
    },
    {
      name: 'github_token',
      placeholder: '<GITHUB_TOKEN>',
      re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
      gate: (_f, t) => t.includes('gh') && t.includes('_'),
    },
    {
      name: 'slack_token',
      placeholder: '<SLACK_TOKEN>',
      re: /(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,250}/g,
      gate: (_f, t) => t.includes('xox'),
    },
    {
      name: 'stripe_key',
      placeholder: '<STRIPE_KEY>',
      re: /(?<![A-Za-z0-9_])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,247}(?![A-Za-z0-9])/g,
      gate: (_f, t) => t.includes('_live_') || t.includes('_test_'),
    },
    {
      name: 'aws_key',
      placeholder: '<AWS_KEY>',
      re: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}(?![A-Z0-9])|((?:aws[_-]?)?secret[_-]?access[_-]?key|aws[_-]?secret(?:[_-]?key)?)(["']?\s*[:=]\s*["']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
      gate: (f, t, kw) => kw || (f.upper >= 4 && AWS_ID_HINT.test(t)),
      replace: (m, g) => {
        if (g[0] !== undefined) return `${g[0]}${g[1] ?? ''}<AWS_KEY>`;
        // The id alternative is case-insensitive only because of the shared flag; ids are upper-case.
        return /^[A-Z0-9]+$/.test(m) ? '<AWS_KEY>' : null;
      },
    },
    {
      name: 'secret',
      placeholder: '<SECRET>',
      // `Authorization: Bearer xyz`, `Bearer xyz`, `Basic dXNlcjpwYXNz`: keep the scheme, redact the credential.
      re: /\b(Bearer|Basic|Token|Digest|Negotiate)(\s+)([A-Za-z0-9\-._~+/]{8,4096}=*)/gi,
      gate: (_f, _t, kw) => kw,
      replace: (_m, g) => {
        const cred = g[2] ?? '';
        return looksSecret(cred) ? `${g[0]}${g[1]}<SECRET>` : null;
      },
    },
    {
      name: 'secret',
      placeholder: '<SECRET>',
      // key (bare or quoted) + `=`/`:` + value (double-quoted with escapes, single-quoted, or bare).
      re: new RegExp(
        `((?:${SECRET_WORDS_STRONG}|${SECRET_WORDS_WEAK}|authorization|(?:set-)?cookie))` +
          `(["']?\\s{0,3}[:=]\\s{0,3})(?:"((?:[^"\\\\\\n]|\\\\.){0,4096})"|'([^'\\n]{0,4096})'|([^\\s"',;&<>(){}\\[\\]]{1,4096}))`,
        'gi',
      ),
      gate: (_f, _t, kw) => kw,
      replace: (_m, g) => {
        const key = g[0] ?? '';
        const sep = g[1] ?? '';
        const dq = g[2];
        const sq = g[3];
        const value = dq ?? sq ?? g[4] ?? '';
        if (isPlaceholder(value) || TRIVIAL_VALUES.has(value.toLowerCase())) return null;
        const strong = strongKey.test(key) || /cookie$/i.test(key);
        if (!strong && !looksSecret(value)) return null;
        const q = dq !== undefined ? '"' : sq !== undefined ? "'" : '';
        return `${key}${sep}${q}<SECRET>${q}`;
      },
    },
    {
      name: 'email',
      placeholder: '<EMAIL>',
      re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g,
      gate: (f) => f.at > 0,
      replace: (m) => {
        const tld = m.slice(m.lastIndexOf('.') + 1);
        if (!/^(?:[A-Za-z]{2,24}|xn--[a-z0-9-]{2,59})$/i.test(tld)) return null; // `lodash@4.17.21`
        const local = m.slice(0, m.indexOf('@'));
        if (local.startsWith('.') || local.endsWith('.')) return null;
        return '<EMAIL>';
      },
    },
    {
      name: 'iban',
      placeholder: '<IBAN>',
      re: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g,
      gate: (f) => f.ibanHint && f.digits >= 10,
      replace: (m) => {
        const compact = m.replace(/[ -]/g, '');
        const want = IBAN_LENGTHS[compact.slice(0, 2)];
        if (want === undefined) return compact.length >= 15 && ibanMod97(compact) ? '<IBAN>' : null;
        if (compact.length < want) return null;
        if (!ibanMod97(compact.slice(0, want))) return null;
        if (compact.length === want) return '<IBAN>';
        // The greedy match swallowed a following group: cut after `want` significant chars.
        let seen = 0;
        let i = 0;
        for (; i < m.length && seen < want; i++) if (m[i] !== ' ' && m[i] !== '-') seen++;
        const rest = m.slice(i);
        return rest.startsWith(' ') ? `<IBAN>${rest}` : null;
      },
    },
    {
      name: 'credit_card',
      placeholder: '<CREDIT_CARD>',
      // 12-19 contiguous digits, or 4-digit-led groups joined by ONE consistent separator (space or dash); not inside
      // a longer number/word. A following number after a space is a separate candidate (card lists).
      re: /(?<![\w.+-])(?:\d{12,19}(?!\w|[.,-]\d)|\d{4}([ -])\d{4,6}(?:\1\d{4,5}){0,2}(?:\1\d{1,4})?(?!\w|\1?\d|[.,]\d))/g,
      gate: (f) => f.digits >= 12 && (f.maxRun >= 12 || f.sepGroups >= 2),
      replace: (m, _g, offset, input) => {
        const d = m.replace(/[ -]/g, '');
        if (d.length < 12 || d.length > 19 || !luhnValid(d)) return null;
        // Issuer prefixes cover the brands; any other Luhn-valid number needs card context before it.
        return cardPrefixOk(d) || hasContext(CARD_CONTEXT, input, offset) ? '<CREDIT_CARD>' : null;
      },
    },
    {
      name: 'ssn',
      placeholder: '<SSN>',
      // AAA-GG-SSSS with one consistent separator (dash, dot or space) is a strong format; a bare 9-digit run or an
      // odd grouping (AAA-GGSSSS, AAAGG-SSSS) counts only with SSN context before it (`ssn`, `social security`),
      // or, in the strict profile, also without context when its separators are dashes or nothing (`078-051121`,
      // `07805-1121`, `078051121`; dotted/spaced odd groupings stay: decimals, columns of numbers).
      re: /(?<![\w.-])(\d{3})([-. ]?)(\d{2})([-. ]?)(\d{4})(?![\w-]|\.\d)/g,
      gate: (f) => f.digits >= 9,
      replace: (m, g, offset, input) => {
        const area = Number(g[0]);
        if (area === 0 || area === 666 || area >= 900) return null;
        if (g[2] === '00' || g[4] === '0000') return null;
        const digits = `${g[0] ?? ''}${g[2] ?? ''}${g[4] ?? ''}`;
        if (/^(\d)\1{8}$/.test(digits)) return null;
        if (INVALID_SSNS.has(digits) && !hasContext(SSN_CONTEXT, input, offset)) return null;
        const strong =
          g[1] !== '' && g[1] === g[3] && (g[1] !== '.' || !VERSION_CONTEXT.test(before(input, offset)));
        if (strong)
          return g[1] === ' ' &&
            !hasContext(SSN_CONTEXT, input, offset) &&
            numericNeighbours(input, offset, m)
            ? null
            : '<SSN>';
        if (hasContext(SSN_CONTEXT, input, offset)) return '<SSN>';
        return strict && (g[1] === '' || g[1] === '-') && (g[3] === '' || g[3] === '-') ? '<SSN>' : null;
      },
    },
    {
      name: 'phone',
      placeholder: '<PHONE>',
      // 1. International: +CC then 6-14 more digits with optional single separators / one pair of parentheses.
      // 2. NANP with separators: (NPA) NXX-XXXX, NPA-NXX-XXXX, NPA.NXX.XXXX, optional leading 1.
      // 3. National format with trunk prefix 0, grouped: 0917 123 4567, 0 (917) 123 4567, 09-7625400, 090-1234-5678;
      //    the groups share one separator, so a list (`052 5552606 074-7111234`) yields one candidate per number.
      // 4. National format with trunk prefix 0, ungrouped: 0 + non-zero + 9 digits (11 digits: 09171234567).
      // 5. 3-3-2-2 grouping with one separator: 532 123 45 67.
      // 6. E.164 without `+`: a valid country code, then a NANP-shaped number, one space or dash separator
      //    (`91-415-555-0132`, `1 800 555 1234`).
      // 7. Any other 10-11 digit run only with phone context before it (phone, tel, mobile, cell, call, fax, number);
      //    in the strict profile also national-number-shaped runs without context (strictNationalRun).
      // Plain digit runs without context never match in the default profile.
      re: /(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){1,5}[ .-]?\d{2,4}(?![\w]|[.-]\w)|(?<![\d.+])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\w]|[.-]\w)|(?<![\w.+-])0(?:[ .-]?\(\d{1,4}\)|\d{1,4}|[ .-]\d{1,4})([ .-])\d{2,8}(?:\1\d{2,8}){0,3}(?![\w]|[.-]\w)|(?<![\w.+-])0[1-9]\d{9}(?![\w]|[.-]\w)|(?<![\w.+-])[2-9]\d{2}([ .-])\d{3}\2\d{2}\2\d{2}(?![\w]|[.-]\w)|(?<![\w.+-])[1-9]\d{0,2}([ -])[2-9]\d{2}\3[2-9]\d{2}\3\d{4}(?![\w]|[.-]\w)|(?<![\w.+-])\d{10,11}(?![\w]|[.-]\w)/g,
      gate: (f) => (f.plus > 0 && f.digits >= 8) || f.digits >= 9,
      replace: (m, _g, offset, input) => {
        const d = m.replace(/\D/g, '');
        if (/^(\d)\1+$/.test(d)) return null;
        if (m.startsWith('+')) {
          if (d.length < 8 || d.length > 15) return null;
          if ((m.match(/\(/g)?.length ?? 0) !== (m.match(/\)/g)?.length ?? 0)) return null;
          return '<PHONE>';
        }
        const cc = CC_NANP.exec(m);
        if (cc && !(cc[1] === '1' && cc[2] === '-')) {
          // `1-NPA-NXX-XXXX` keeps the NANP path below (unchanged); others: country code + NANP number.
          if (!countryCodeValid(cc[1]!)) return null;
          return cc[2] === ' ' && numericNeighbours(input, offset, m) ? null : '<PHONE>';
        }
        const seps = new Set(
          m
            .replace(/^1[ .-]/, '')
            .replace(/\) ?/g, ')')
            .match(/[ .-]/g) ?? [],
        );
        if (seps.size > 1) return null; // 555-123.4567, 02-01-2024 12: not one phone
        if (/^\d{3}([ .-])\d{2}\1\d{4}$/.test(m)) return null; // SSN-shaped (the SSN detector decides)
        if (seps.size === 1 && partOfLongerCode(input, offset, [...seps][0]!)) return null;
        if (/^\d+$/.test(m)) {
          if (m.length === 11 && m[0] === '0' && m[1] !== '0') return '<PHONE>';
          if (hasContext(PHONE_CONTEXT, input, offset)) return '<PHONE>';
          return strict && strictNationalRun(m) ? '<PHONE>' : null;
        }
        const nanpShape = /^\d{3}([.-])\d{3}\1\d{4}$/.test(m); // NNN-NNN-NNNN: the NANP rules decide
        if (m[0] === '0' && !m.includes(')') && !/^0\d{0,4}[ .-]/.test(m)) return null;
        if (m[0] === '0' && !nanpShape) {
          if (d.length < 9 || d.length > 12) return null;
          if (/^\d{4}(?:[ .-]\d{4})+$/.test(m)) return null; // blocks of four: account / card / IBAN pieces
          if (seps.has('.') && !hasContext(PHONE_CONTEXT, input, offset)) return null; // dotted dates / versions
          return '<PHONE>';
        }
        if (/^[2-9]\d{2}[ .-]\d{3}[ .-]\d{2}[ .-]\d{2}$/.test(m)) {
          if (seps.has('.') && m.split('.').every((x) => Number(x) <= 255)) return null; // an IPv4 address
          if (seps.has(' ') && !hasContext(PHONE_CONTEXT, input, offset) && d.length !== 10) return null;
          return '<PHONE>';
        }
        const nanp = d.length === 11 ? d.slice(1) : d;
        if (nanp.length !== 10) return null;
        if (nanp[0] === '0' || nanp[0] === '1' || nanp[3] === '0' || nanp[3] === '1') return null;
        return '<PHONE>';
      },
    },
    ...(strict
      ? [
          {
            name: 'phone',
            placeholder: '<PHONE>',
            // strict: international grouping without `+` (b in the header): country code, then a first group of
            // 1-5 digits and 1-3 more groups of 2-8 digits, one space or dash separator, not followed by another
            // group. NANP-shaped ones are already default (phone alternative 6).
            re: /(?<![\w.+-])([1-9]\d{0,2})([ -])\d{1,5}(?:\2\d{2,8}){1,3}(?![\w]|[.-]\w|\2\d)/g,
            gate: (f: Features) => f.digits >= 9 && f.sepGroups >= 1,
            replace: (m: string, g: string[], offset: number, input: string) => {
              if (!countryCodeValid(g[0] ?? '')) return null;
              const d = m.replace(/\D/g, '');
              const national = d.length - (g[0] ?? '').length;
              if (national < 7 || national > 12 || /^(\d)\1+$/.test(d)) return null;
              return g[1] === ' ' && numericNeighbours(input, offset, m) ? null : '<PHONE>';
            },
          } satisfies Detector,
        ]
      : []),
    {
      name: 'ipv6',
      placeholder: '<IP>',
      re: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?:%[A-Za-z0-9_.]{1,32})?(?![\w:]|\.\d)/g,
      gate: (f, t) => f.colons >= 6 || (f.colons >= 2 && t.includes('::')),
      replace: (m, _g, offset, input) => {
        if (m === '::') return unspecifiedAddress(input, offset) ? '<IP>' : null;
        return ipv6Valid(m) ? '<IP>' : null;
      },
    },
    {
      name: 'ipv4',
      placeholder: '<IP>',
      re: new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g'),
      gate: (f) => f.dotDigits >= 3,
      replace: (_m, _g, offset, input) => {
        if (offset > 0 && VERSION_CONTEXT.test(input.slice(Math.max(0, offset - 12), offset))) return null;
        return '<IP>';
      },
    },
  ];
}

export const BUILTIN_DETECTORS: readonly string[] = [
  'private_key',
  'url_password',
  'jwt',
  'github_token',
  'slack_token',
  'stripe_key',
  'aws_key',
  'secret',
  'email',
  'iban',
  'credit_card',
  'ssn',
  'phone',
  'ipv6',
  'ipv4',
];

/** Attribute keys whose string values are always secrets (matched on the last key segment, case-insensitive). */
const SENSITIVE_KEY =
  /(?:^|[._-])(?:pass(?:word|wd|phrase)?|pwd|secret|token|(?:api|access|private|secret)[_-]?key|apikey|authorization|proxy-authorization|(?:set-)?cookie|credentials?|session[_-]?(?:id|token)|x-api-key)$/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

function runDetector(d: Detector, text: string, counts: RedactionCounts): string {
  d.re.lastIndex = 0;
  let n = 0;
  const out = text.replace(d.re, (...args: unknown[]) => {
    // args: match, ...groups, offset, input[, namedGroups]
    let end = args.length;
    if (typeof args[end - 1] === 'object' && args[end - 1] !== null) end--;
    const input = args[end - 1] as string;
    const offset = args[end - 2] as number;
    const match = args[0] as string;
    const groups = args.slice(1, end - 2) as string[];
    const r = d.replace ? d.replace(match, groups, offset, input) : d.placeholder;
    if (r === null) return match;
    n++;
    return r;
  });
  if (n > 0) counts[d.name] = (counts[d.name] ?? 0) + n;
  return out;
}

export function createRedactor(config: RedactorConfig = {}): Redactor {
  const disabled = new Set(config.disabled ?? []);
  for (const name of disabled) {
    if (!BUILTIN_DETECTORS.includes(name) && name !== 'secret_attr') {
      throw new Error(
        `redactor config: unknown detector '${name}' in disabled (known: ${BUILTIN_DETECTORS.join(', ')}, secret_attr)`,
      );
    }
  }
  const profile = config.profile ?? 'default';
  if (!REDACTION_PROFILES.includes(profile)) {
    throw new Error(
      `redactor config: unknown profile '${String(profile)}' (known: ${REDACTION_PROFILES.join(', ')})`,
    );
  }
  const detectors = builtinDetectors(profile).filter((d) => !disabled.has(d.name));
  for (const c of config.custom ?? []) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(c.name)) {
      throw new Error(`redactor config: custom detector name '${c.name}' must match ^[a-z][a-z0-9_]{0,63}$`);
    }
    let re: RegExp;
    try {
      re = new RegExp(c.pattern, (c.flags ?? '').replace(/[gy]/g, '') + 'g');
    } catch (e) {
      throw new Error(
        `redactor config: custom detector '${c.name}' has an invalid pattern: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (new RegExp(re.source, re.flags.replace('g', '')).test('')) {
      throw new Error(`redactor config: custom detector '${c.name}' matches the empty string`);
    }
    detectors.push({ name: c.name, placeholder: `<${c.name.toUpperCase()}>`, re, gate: () => true });
  }
  const keyRedaction = !disabled.has('secret_attr');
  const features = newFeatures();

  function redact(text: string): RedactionResult {
    const counts: RedactionCounts = {};
    if (text.length === 0) return { text, counts };
    scanFeatures(text, features);
    const kw = KEYWORD_HINT.test(text);
    // Each gate is a few integer compares / native substring checks: a line with no candidate runs no regex.
    let out = text;
    for (const d of detectors) {
      if (!d.gate(features, out, kw)) continue;
      const next = runDetector(d, out, counts);
      if (next !== out) {
        out = next;
        // Placeholders removed characters: refresh the features so later gates stay truthful (never widen).
        scanFeatures(out, features);
      }
    }
    return { text: out, counts };
  }

  function redactAttrs(attrs: Attrs): { attrs: Attrs; counts: RedactionCounts } {
    const counts: RedactionCounts = {};
    const out: Attrs = {};
    for (const key of Object.keys(attrs)) {
      const v = attrs[key] as AttrValue;
      if (typeof v !== 'string') {
        out[key] = v;
        continue;
      }
      if (keyRedaction && v.length > 0 && isSensitiveKey(key) && !isPlaceholder(v)) {
        out[key] = '<SECRET>';
        counts['secret_attr'] = (counts['secret_attr'] ?? 0) + 1;
        continue;
      }
      const r = redact(v);
      out[key] = r.text;
      for (const k of Object.keys(r.counts)) counts[k] = (counts[k] ?? 0) + (r.counts[k] ?? 0);
    }
    return { attrs: out, counts };
  }

  return { profile, names: [...new Set(detectors.map((d) => d.name))], redact, redactAttrs };
}

/** Adds `b` into `a` (mutates and returns `a`). */
export function mergeCounts(a: RedactionCounts, b: RedactionCounts): RedactionCounts {
  for (const k of Object.keys(b)) a[k] = (a[k] ?? 0) + (b[k] ?? 0);
  return a;
}
