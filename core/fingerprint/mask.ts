/**
 * Word masking for the template miner: one char-class scan per word (no regex per token) that replaces obvious
 * variables with `<*>` and reports where they were. See templates.ts for the rules.
 */

export const WILDCARD = '<*>';

// ---- character classes ---------------------------------------------------------------------------------------------

const C_DIGIT = 1;
const C_HEXLETTER = 2;
const C_LETTER = 4;
const C_CONNECTOR = 8; // joins adjacent variables: . : , _ - /
const C_KEYCHAR = 16; // allowed in a key of key=value
const CLS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLS[c] = C_DIGIT | C_KEYCHAR;
for (let c = 65; c <= 90; c++) CLS[c] = C_LETTER | C_KEYCHAR | (c <= 70 ? C_HEXLETTER : 0);
for (let c = 97; c <= 122; c++) CLS[c] = C_LETTER | C_KEYCHAR | (c <= 102 ? C_HEXLETTER : 0);
for (const ch of '.:,_-/') CLS[ch.charCodeAt(0)] = CLS[ch.charCodeAt(0)]! | C_CONNECTOR;
for (const ch of '._-') CLS[ch.charCodeAt(0)] = CLS[ch.charCodeAt(0)]! | C_KEYCHAR;

export const cls = (c: number): number => (c < 128 ? CLS[c]! : C_LETTER); // non-ASCII counts as a letter
export const isAlnum = (c: number): boolean => (cls(c) & (C_DIGIT | C_LETTER)) !== 0;

export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

export function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** True when a word looks like a filesystem path or URL (a variable whatever its characters). */
function isPathLike(word: string, slashes: number): boolean {
  const n = word.length;
  if (n < 2) return false;
  const c0 = word.charCodeAt(0);
  if (c0 === 47) {
    const c1 = word.charCodeAt(1);
    return c1 !== 47 || n > 2; // '/x', '//host'
  }
  if (slashes >= 2) return true;
  if (word.includes('://')) return true;
  if ((c0 === 46 || c0 === 126) && word.charCodeAt(1) === 47) return true; // ./x ~/x
  return word.includes('\\') && slashes === 0 && /[A-Za-z]:\\|\\\\/.test(word);
}

/**
 * Masks one whitespace-free word. Pushes the original text of every masked part onto `pieces` and returns the
 * masked token (the word itself when nothing is masked).
 */
export function maskWord(word: string, pieces: string[]): string {
  const spans: number[] = [];
  const t = maskWordSpans(word, spans);
  for (let i = 0; i < spans.length; i += 2) pieces.push(word.slice(spans[i], spans[i + 1]));
  return t;
}

/**
 * `maskWord` reporting the masked parts as [start, end) offset pairs into the word. Every decision depends on
 * character classes only, never on which digit is where: the token is a function of the word with its digits
 * replaced by `0` (what the scanner's word cache keys on), unless the token itself keeps a digit.
 */
export function maskWordSpans(word: string, spans: number[]): string {
  const n = word.length;
  let digits = 0;
  let eq = -1;
  let slashes = 0;
  let keyOk = true;
  for (let i = 0; i < n; i++) {
    const c = word.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 47) slashes++;
    else if (c === 61 && eq < 0) {
      eq = i;
      continue;
    }
    if (eq < 0 && (cls(c) & C_KEYCHAR) === 0) keyOk = false;
  }
  // key=value: the key stays, the value is masked by its own shape
  if (eq > 0 && keyOk && eq < n - 1 && word.charCodeAt(eq + 1) !== 61) {
    const value = word.slice(eq + 1);
    let vSlashes = 0;
    for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) === 47) vSlashes++;
    if (isPathLike(value, vSlashes)) {
      spans.push(eq + 1, n);
      return word.slice(0, eq + 1) + WILDCARD;
    }
    if (digits === 0) {
      const b = boolSpan(word);
      if (b === null || b[0] !== eq + 1) return word;
      spans.push(b[0], b[1]);
      return word.slice(0, b[0]) + WILDCARD + word.slice(b[1]);
    }
    const mv = maskRuns(value, spans, eq + 1);
    return mv === value ? word : word.slice(0, eq + 1) + mv;
  }
  if (slashes > 0 || word.charCodeAt(0) === 46 || word.charCodeAt(0) === 126 || word.includes('\\')) {
    if (isPathLike(word, slashes)) {
      spans.push(0, n);
      return WILDCARD;
    }
  }
  if (word.includes('.')) {
    const h = hostSpan(word);
    if (h !== null) {
      spans.push(h[0], h[1]);
      return word.slice(0, h[0]) + WILDCARD + word.slice(h[1]);
    }
  }
  if (digits === 0) {
    const b = boolSpan(word);
    if (b === null) return word;
    spans.push(b[0], b[1]);
    return word.slice(0, b[0]) + WILDCARD + word.slice(b[1]);
  }
  const before = spans.length;
  const m = maskRuns(word, spans, 0);
  return m === word ? m : wholeIdentifier(word, m, spans, before);
}

const isEdgePunct = (c: number): boolean =>
  c === 40 ||
  c === 41 ||
  c === 91 ||
  c === 93 ||
  c === 123 ||
  c === 125 ||
  c === 44 ||
  c === 59 ||
  c === 58 ||
  c === 34 ||
  c === 39 ||
  c === 60 ||
  c === 62 ||
  c === 46;

/**
 * An identifier-like word (letters, digits, `_ - . : / @ #`) that holds a variable is one variable as a whole:
 * `broadcast_9_piece0`, `rdd_2_1`, `an14`, `blk_-42` -> `<*>`. Edge punctuation (brackets, commas, quotes) stays.
 */
function wholeIdentifier(word: string, masked: string, spans: number[], before: number): string {
  let a = 0;
  let b = word.length;
  while (a < b && isEdgePunct(word.charCodeAt(a))) a++;
  while (b > a && isEdgePunct(word.charCodeAt(b - 1))) b--;
  if (a >= b) return masked;
  for (let i = a; i < b; i++) {
    const c = word.charCodeAt(i);
    if (!(
      isAlnum(c) ||
      c === 95 ||
      c === 45 ||
      c === 46 ||
      c === 58 ||
      c === 47 ||
      c === 64 ||
      c === 35 ||
      c === 43
    ))
      return masked;
  }
  spans.length = before;
  spans.push(a, b);
  return a === 0 && b === word.length ? WILDCARD : word.slice(0, a) + WILDCARD + word.slice(b);
}

const BOOL_WORDS = new Set([
  'true',
  'false',
  'null',
  'True',
  'False',
  'Null',
  'TRUE',
  'FALSE',
  'NULL',
  'nil',
  'None',
]);

/** A boolean/null literal after `:` or `=` or alone (`isOverlap:false`, `ret:true`): [start, end) or null. */
function boolSpan(word: string): [number, number] | null {
  const n = word.length;
  if (n < 3) return null;
  let end = n;
  while (end > 0 && isEdgePunct(word.charCodeAt(end - 1)) && word.charCodeAt(end - 1) !== 58) end--;
  let start = end;
  while (start > 0 && isAlnum(word.charCodeAt(start - 1))) start--;
  if (end - start < 3 || end - start > 5) return null;
  if (start > 0) {
    const p = word.charCodeAt(start - 1);
    if (p !== 58 && p !== 61 && p !== 40 && p !== 91 && p !== 34) return null;
  }
  return BOOL_WORDS.has(word.slice(start, end)) ? [start, end] : null;
}

/** Top-level and common private domain suffixes that make a dotted name a host name (`db1.corp.example.com`). */
const HOST_SUFFIXES = new Set(
  'com net org edu gov mil int io info biz co uk de fr jp cn ru br in it nl au ca us eu ch se es kr tw hk local lan internal corp home arpa'.split(
    ' ',
  ),
);

const isHostChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95;

/** [start, end) of a host name inside the word (labels joined by dots, ending in a known suffix), or null. */
function hostSpan(word: string): [number, number] | null {
  const n = word.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isHostChar(word.charCodeAt(i))) i++;
    let j = i;
    while (j < n && isHostChar(word.charCodeAt(j))) j++;
    let end = j;
    while (end > i && word.charCodeAt(end - 1) === 46) end--; // trailing dot of a sentence
    const dot = word.lastIndexOf('.', end - 1);
    if (dot > i && dot < end - 1 && word.charCodeAt(dot - 1) !== 46) {
      const suffix = word.slice(dot + 1, end);
      if (HOST_SUFFIXES.has(suffix) && !word.slice(i, dot).includes('..')) return [i, end];
    }
    i = j;
  }
  return null;
}

/** Masks the digit-holding alphanumeric runs of `word`; spans are pushed shifted by `off`. */
function maskRuns(word: string, spans: number[], off: number): string {
  const n = word.length;
  let out = '';
  let copied = 0; // word[copied..] not yet appended to out
  let lastVarEnd = -2; // source index just after the last masked part
  let lastPiece = -1; // index in spans of the last masked part
  let masked = false;
  let i = 0;
  while (i < n) {
    const c = word.charCodeAt(i);
    if (!isAlnum(c)) {
      i++;
      continue;
    }
    // alnum run [i, j): a variable when it holds a digit
    let j = i;
    let d = 0;
    while (j < n) {
      const k = cls(word.charCodeAt(j));
      if ((k & (C_DIGIT | C_LETTER)) === 0) break;
      if (k & C_DIGIT) d++;
      j++;
    }
    if (d > 0) {
      let varStart = i;
      const varEnd = j;
      // absorb a sign that follows a delimiter (blk_-42, =-3, leading -5)
      if (varStart > 0) {
        const s = word.charCodeAt(varStart - 1);
        if ((s === 45 || s === 43) && (varStart - 1 === 0 || !isAlnum(word.charCodeAt(varStart - 2))))
          varStart--;
      }
      masked = true;
      const gap = varStart - lastVarEnd;
      if (
        gap <= 2 &&
        gap >= 1 &&
        copied === lastVarEnd &&
        (cls(word.charCodeAt(lastVarEnd)) & C_CONNECTOR) !== 0 &&
        (gap === 1 || (cls(word.charCodeAt(lastVarEnd + 1)) & C_CONNECTOR) !== 0)
      ) {
        // collapse `<*>` + connector(s) + `<*>` into one
        spans[lastPiece + 1] = off + varEnd;
        copied = varEnd;
      } else {
        out += word.slice(copied, varStart) + WILDCARD;
        lastPiece = spans.length;
        spans.push(off + varStart, off + varEnd);
        copied = varEnd;
      }
      lastVarEnd = varEnd;
    }
    i = j;
  }
  if (!masked) return word;
  return out + word.slice(copied);
}

export const DATE_WORDS = new Set(
  'Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun January February March April June July August September October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday'.split(
    ' ',
  ),
);

/** Units that belong to the number before them (`5.2 KB`, `250 ms`). */
export const UNIT_WORDS = new Set('B KB MB GB TB PB KiB MiB GiB TiB kB ms us ns'.split(' '));

export function stripEdge(w: string): string {
  let b = w.length;
  while (b > 0 && isEdgePunct(w.charCodeAt(b - 1))) b--;
  return b === w.length ? w : w.slice(0, b);
}
