import { describe, expect, it } from 'vitest';
import {
  cardPrefixOk,
  countryCodeValid,
  createRedactor,
  REDACTION_PROFILES,
  type RedactionProfile,
} from '../../core/fingerprint/redact.js';

const def = createRedactor();
const strict = createRedactor({ profile: 'strict' });

/** Redacted by both profiles: [input, expected, count name]. */
const bothProfiles: [string, string, string][] = [
  // UATP: issuer prefix 1, 15 digits, valid Luhn digit
  ['card 122000000000003 charged', 'card <CREDIT_CARD> charged', 'credit_card'],
  ['122000000000003', '<CREDIT_CARD>', 'credit_card'],
  // weak SSN forms with context before them
  ['my ssn is 078-051121', 'my ssn is <SSN>', 'ssn'],
  ['my social security number is 078051121', 'my social security number is <SSN>', 'ssn'],
  ['SSN: 07805-1121 on file', 'SSN: <SSN> on file', 'ssn'],
  ['social_security=219-099998', 'social_security=<SSN>', 'ssn'],
  // E.164 written without `+`: valid country code + NANP-shaped number, one separator
  ['intl 91-415-555-0132 ok', 'intl <PHONE> ok', 'phone'],
  ['dial 1 800 555 1234', 'dial <PHONE>', 'phone'],
  ['uk office 44 212 555 0199', 'uk office <PHONE>', 'phone'],
  // a list of trunk-0 numbers with different separators: one candidate each
  ['phones 052 5552606 074-7111234', 'phones <PHONE> <PHONE>', 'phone'],
];

/** Left alone by the default profile, redacted by strict: [input, strict output, count name]. */
const strictOnly: [string, string, string][] = [
  ['5321234567', '<PHONE>', 'phone'],
  ['id 4621234567 done', 'id <PHONE> done', 'phone'],
  ['0612345678', '<PHONE>', 'phone'], // trunk 0 + 9 digits (FR, NL, AU)
  ['13812345678', '<PHONE>', 'phone'], // Chinese mobile
  ['14155550132', '<PHONE>', 'phone'], // 1 + NANP
  ['44 20 7946 0958', '<PHONE>', 'phone'],
  ['fax 49-30-901820 x', 'fax <PHONE> x', 'phone'],
  ['178-051121 17805-1121', '<SSN> <SSN>', 'ssn'],
  ['id 91-415-155-0132', 'id <PHONE>', 'phone'], // not NANP-shaped (exchange 155): only strict's grouping
  ['ref 078051121', 'ref <SSN>', 'ssn'],
];

/** Left alone by both profiles. */
const neither: string[] = [
  'epoch 1117838570 seconds', // 10 digits with a leading 1: epoch seconds 2001-2033
  'ts=1700000000000 ns=1700000000123456789',
  '53212345678', // 11 digits, leading 5: no national numbering plan
  '15053212345678',
  'uatp-like 122000000000004 bad Luhn',
  'sixteen 1220000000000031 digits',
  'dates 31-01-2024 and 2024-01-31 10:00:00',
  'odd 078.051121 and 07805.1121', // dotted: decimals, not SSN groupings
  'invalid 666-051121 666051121 900-051121 178-001121 17805-0000',
  'sample 078051120', // the Woolworth wallet card number
  'repeated 2222222222 and 222-22-2222',
  'Receiving block blk_-1608999687919862906 src',
  'not a country 12-415-555-0132',
  'row 7 91 415 555 0132 9', // one column of a row of numbers
  'Windows version 6.1.7601 Service Pack 1',
  'octets 1.2.3.4.5 are not an address',
  'processed 1234567 records in 42 batches',
];

describe('redaction profiles', () => {
  it('defaults to the default profile and lists both', () => {
    expect(def.profile).toBe('default');
    expect(strict.profile).toBe('strict');
    expect(REDACTION_PROFILES).toEqual(['default', 'strict']);
    expect(strict.names).toEqual(def.names);
  });

  it('rejects an unknown profile', () => {
    expect(() => createRedactor({ profile: 'lax' as RedactionProfile })).toThrow(/unknown profile 'lax'/);
  });

  describe.each(REDACTION_PROFILES)('%s', (profile) => {
    const r = createRedactor({ profile });
    it.each(bothProfiles)('redacts %j', (input, expected, name) => {
      const out = r.redact(input);
      expect(out.text).toBe(expected);
      expect(out.counts[name]).toBeGreaterThanOrEqual(1);
    });
    it.each(neither)('leaves %j alone', (input) => {
      expect(r.redact(input)).toEqual({ text: input, counts: {} });
    });
  });

  it.each(strictOnly)('default keeps %j, strict redacts it', (input, expected, name) => {
    expect(def.redact(input)).toEqual({ text: input, counts: {} });
    const out = strict.redact(input);
    expect(out.text).toBe(expected);
    expect(out.counts[name]).toBeGreaterThanOrEqual(1);
  });

  it('a trunk-0 grouping is a national phone number in default, an SSN form first in strict', () => {
    expect(def.redact('078-051121 07805-1121').text).toBe('<PHONE> <PHONE>');
    expect(strict.redact('078-051121 07805-1121').text).toBe('<SSN> <SSN>');
  });

  it('the default profile still redacts bare runs that have context', () => {
    expect(def.redact('phone: 5321234567').text).toBe('phone: <PHONE>');
    expect(def.redact('ssn 078051121').text).toBe('ssn <SSN>');
  });

  it('strict is idempotent and keeps linear-time behaviour', () => {
    for (const [input] of [...bothProfiles, ...strictOnly]) {
      const once = strict.redact(input).text;
      expect(strict.redact(once).text).toBe(once);
    }
    const t0 = performance.now();
    for (const s of ['1 '.repeat(20_000), '12-'.repeat(20_000), '44 20 '.repeat(10_000), '9'.repeat(50_000)])
      strict.redact(s);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

describe('issuer prefixes and country codes', () => {
  it('knows UATP next to the other brands', () => {
    expect(cardPrefixOk('122000000000003')).toBe(true);
    expect(cardPrefixOk('1220000000000031')).toBe(false); // UATP is 15 digits
    expect(cardPrefixOk('4111111111111111')).toBe(true);
    expect(cardPrefixOk('7000000000000000')).toBe(false);
  });

  it('accepts assigned E.164 country codes only', () => {
    for (const cc of ['1', '7', '44', '49', '91', '86', '353', '971', '880'])
      expect(countryCodeValid(cc)).toBe(true);
    for (const cc of ['0', '2', '10', '12', '28', '42', '01', '283'])
      expect(countryCodeValid(cc)).toBe(false);
  });
});
