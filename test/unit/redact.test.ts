import { describe, expect, it } from 'vitest';
import { createRedactor, isSensitiveKey, looksSecret } from '../../core/fingerprint/redact.js';

const r = createRedactor();
const red = (s: string): string => r.redact(s).text;

/** Each positive case: input, expected output, expected count name. */
const positives: [string, string, string][] = [
  // email
  ['mail sent to john.doe+tag@example.co.uk ok', 'mail sent to <EMAIL> ok', 'email'],
  ['from=<a_b@mail-server.example.com>', 'from=<<EMAIL>>', 'email'],
  // ipv4
  ['connect 10.0.0.1:50010 refused', 'connect <IP>:50010 refused', 'ipv4'],
  ['src: /10.251.43.21:50010', 'src: /<IP>:50010', 'ipv4'],
  ['client 255.255.255.255 and 0.0.0.0', 'client <IP> and <IP>', 'ipv4'],
  ['peer=192.168.1.20.', 'peer=<IP>.', 'ipv4'],
  // ipv6
  ['listening on [2001:db8::8a2e:370:7334]:443', 'listening on [<IP>]:443', 'ipv6'],
  ['from ::1 port 22', 'from <IP> port 22', 'ipv6'],
  ['addr 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up', 'addr <IP> up', 'ipv6'],
  ['mapped ::ffff:192.168.0.1 seen', 'mapped <IP> seen', 'ipv6'],
  ['link fe80::1%eth0 ready', 'link <IP> ready', 'ipv6'],
  // credit cards (Luhn-valid test numbers)
  ['card 4111111111111111 charged', 'card <CREDIT_CARD> charged', 'credit_card'],
  ['card 4111 1111 1111 1111 charged', 'card <CREDIT_CARD> charged', 'credit_card'],
  ['amex 3782-822463-10005.', 'amex <CREDIT_CARD>.', 'credit_card'],
  ['mc=5555555555554444', 'mc=<CREDIT_CARD>', 'credit_card'],
  // phones
  ['call +1 415 555 2671 now', 'call <PHONE> now', 'phone'],
  ['tel: +44 20 7946 0958', 'tel: <PHONE>', 'phone'],
  ['tel +49-30-901820', 'tel <PHONE>', 'phone'],
  ['phone (415) 555-2671', 'phone <PHONE>', 'phone'],
  ['phone 415-555-2671, ok', 'phone <PHONE>, ok', 'phone'],
  ['phone 415.555.2671', 'phone <PHONE>', 'phone'],
  ['toll free 1-800-555-1234', 'toll free <PHONE>', 'phone'],
  // IBAN
  ['iban DE89370400440532013000 x', 'iban <IBAN> x', 'iban'],
  ['iban GB82 WEST 1234 5698 7654 32 paid', 'iban <IBAN> paid', 'iban'],
  ['iban FR1420041010050500013M02606', 'iban <IBAN>', 'iban'],
  // SSN
  ['ssn 123-45-6789 on file', 'ssn <SSN> on file', 'ssn'],
  ['ssn=078-05-1120', 'ssn=<SSN>', 'ssn'],
  // JWT
  [
    'auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U done',
    'auth <JWT> done',
    'jwt',
  ],
  // AWS
  ['key AKIAIOSFODNN7EXAMPLE used', 'key <AWS_KEY> used', 'aws_key'],
  ['sts ASIAY34FZKBOKMUTVV7A', 'sts <AWS_KEY>', 'aws_key'],
  [
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'aws_secret_access_key = <AWS_KEY>',
    'aws_key',
  ],
  // GitHub / Slack / Stripe
  ['push with ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 ok', 'push with <GITHUB_TOKEN> ok', 'github_token'],
  ['pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', 'pat <GITHUB_TOKEN>', 'github_token'],
  ['slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'slack <SLACK_TOKEN>', 'slack_token'],
  ['stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'stripe <STRIPE_KEY>', 'stripe_key'],
  ['stripe pk_test_TYooMQauvdEDq54NiTphI7jx', 'stripe <STRIPE_KEY>', 'stripe_key'],
  // PEM
  [
    'key -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc==\n-----END RSA PRIVATE KEY----- loaded',
    'key <PRIVATE_KEY> loaded',
    'private_key',
  ],
  [
    'truncated -----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    'truncated <PRIVATE_KEY>',
    'private_key',
  ],
  // URL passwords
  [
    'dsn postgres://app:s3cr3t!@db.internal:5432/app',
    'dsn postgres://app:<PASSWORD>@db.internal:5432/app',
    'url_password',
  ],
  ['fetch https://bob:hunter2@example.com/x', 'fetch https://bob:<PASSWORD>@example.com/x', 'url_password'],
  // keyword secrets
  ['login password=hunter2 user=bob', 'login password=<SECRET> user=bob', 'secret'],
  ['{"api_key": "a8f5f167f44f4964e6c998dee827110c"}', '{"api_key": "<SECRET>"}', 'secret'],
  ['token=Zm9vYmFyYmF6cXV4MTIzNDU2', 'token=<SECRET>', 'secret'],
  ['Authorization: Bearer abcDEF123456ghiJKL789', 'Authorization: Bearer <SECRET>', 'secret'],
  ['header Authorization: Basic dXNlcjpwYXNzd29yZA==', 'header Authorization: Basic <SECRET>', 'secret'],
  ["db_password: 'correct horse battery'", "db_password: '<SECRET>'", 'secret'],
  ['{"accessToken":"q8Lw2pZr7Yt5Kx3Nm1Vb"}', '{"accessToken":"<SECRET>"}', 'secret'],
  ['client_secret=abc', 'client_secret=<SECRET>', 'secret'],
];

const negatives: string[] = [
  'Windows version 6.1.7601 Service Pack 1',
  'upgraded to v1.2.3.4 today',
  'running version 1.2.3.4',
  'build Version: 10.0.19041.1',
  'octets 1.2.3.4.5 are not an address',
  'bad address 256.1.1.1',
  'Receiving block blk_-1608999687919862906 src',
  'Deleting block blk_7503483334202473044 file',
  'request took 250ms (p99 1200ms)',
  'processed 1234567 records in 42 batches',
  'ts=1700000000000 ns=1700000000123456789',
  '2024-01-31T10:00:00.123456Z INFO started',
  '2024-01-31 10:00:00,123 WARN slow',
  'trace 550e8400-e29b-41d4-a716-446655440000 done',
  'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'commit 9f1c2d3e4b5a69788796a5b4c3d2e1f0a9b8c7d6',
  'mac 00:1a:2b:3c:4d:5e up',
  'std::vector<int> Foo::Bar dead::beef',
  'order 4111111111111112 failed',
  'invalid ssn 000-12-3456 and 666-12-3456 and 900-12-3456 and 123-00-4567 and 123-45-0000',
  'phone-like 012-555-2671 or 415-055-2671',
  'id 5551234567 is a plain number',
  'tz +0100 and +01:00',
  'npm lodash@4.17.21 installed',
  'tokens=512 max_tokens: 1024 token_count=5',
  'token=abc password_length=12',
  'Basic authentication required',
  'refresh token expired for session',
  'iban-like DE89370400440532013001 bad checksum',
  'cwd=/var/lib/app pid=4242',
  'password=***',
  'GET /api/v1/users/42 200 13.5ms',
  'version 2.10.3 released 2023-12-01',
];

describe('createRedactor().redact', () => {
  it.each(positives)('redacts %j', (input, expected, name) => {
    const out = r.redact(input);
    expect(out.text).toBe(expected);
    expect(out.counts[name]).toBeGreaterThanOrEqual(1);
  });

  it.each(negatives)('leaves %j alone', (input) => {
    const out = r.redact(input);
    expect(out.text).toBe(input);
    expect(out.counts).toEqual({});
  });

  it('counts every occurrence', () => {
    const out = r.redact('a@example.com b@example.org 10.0.0.1 10.0.0.2 10.0.0.3');
    expect(out.text).toBe('<EMAIL> <EMAIL> <IP> <IP> <IP>');
    expect(out.counts).toEqual({ email: 2, ipv4: 3 });
  });

  it('is idempotent', () => {
    for (const [input] of positives) {
      const once = red(input);
      expect(red(once)).toBe(once);
    }
  });

  it('does not blow up on pathological input (no catastrophic backtracking)', () => {
    const inputs = [
      'a'.repeat(50_000) + '@',
      '1'.repeat(50_000),
      ('1-' as string).repeat(20_000),
      ':'.repeat(30_000) + '1',
      'token=' + 'x'.repeat(60_000),
      '+' + '1 '.repeat(20_000),
      '-----BEGIN PRIVATE KEY-----' + 'A'.repeat(50_000),
      'aaaa.'.repeat(10_000) + '@x',
      ('1.' as string).repeat(20_000),
    ];
    const t0 = performance.now();
    for (const s of inputs) r.redact(s);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

describe('config', () => {
  it('disables built-ins by name', () => {
    const r2 = createRedactor({ disabled: ['ipv4', 'email'] });
    expect(r2.redact('10.0.0.1 a@b.com').text).toBe('10.0.0.1 a@b.com');
    expect(r2.names).not.toContain('ipv4');
  });

  it('adds custom detectors with an upper-cased placeholder', () => {
    const r2 = createRedactor({ custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] });
    const out = r2.redact('by EMP-123456 and emp-654321');
    expect(out.text).toBe('by <EMPLOYEE_ID> and emp-654321');
    expect(out.counts).toEqual({ employee_id: 1 });
    const r3 = createRedactor({ custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}', flags: 'i' }] });
    expect(r3.redact('emp-654321').text).toBe('<EMPLOYEE_ID>');
  });

  it('rejects bad configuration with a clear message', () => {
    expect(() => createRedactor({ disabled: ['emial'] })).toThrow(/unknown detector 'emial'/);
    expect(() => createRedactor({ custom: [{ name: 'x', pattern: '(' }] })).toThrow(/invalid pattern/);
    expect(() => createRedactor({ custom: [{ name: 'x', pattern: 'a*' }] })).toThrow(/empty string/);
    expect(() => createRedactor({ custom: [{ name: 'Bad Name', pattern: 'a' }] })).toThrow(/must match/);
  });
});

describe('redactAttrs', () => {
  it('redacts by key and by value, leaving non-strings alone', () => {
    const out = r.redactAttrs({
      'http.request.header.authorization': 'Bearer abc',
      'http.request.header.cookie': 'sid=1',
      'user.password': 'x',
      'db.statement': "select * from users where email = 'jo@example.com'",
      'url.full': 'https://u:p4ss@example.com/a',
      'http.response.status_code': 200,
      'gen_ai.usage.input_tokens': 12,
      token_count: '12',
      retry: true,
    });
    expect(out.attrs).toEqual({
      'http.request.header.authorization': '<SECRET>',
      'http.request.header.cookie': '<SECRET>',
      'user.password': '<SECRET>',
      'db.statement': "select * from users where email = '<EMAIL>'",
      'url.full': 'https://u:<PASSWORD>@example.com/a',
      'http.response.status_code': 200,
      'gen_ai.usage.input_tokens': 12,
      token_count: '12',
      retry: true,
    });
    expect(out.counts).toEqual({ secret_attr: 3, email: 1, url_password: 1 });
  });

  it('recognises sensitive keys', () => {
    for (const k of [
      'password',
      'passwd',
      'secret',
      'token',
      'api_key',
      'apikey',
      'Authorization',
      'set-cookie',
    ]) {
      expect(isSensitiveKey(k)).toBe(true);
    }
    for (const k of ['token_count', 'http.method', 'keyspace', 'compass', 'tokens'])
      expect(isSensitiveKey(k)).toBe(false);
  });
});

describe('looksSecret', () => {
  it('separates credentials from ordinary values', () => {
    expect(looksSecret('Zm9vYmFyYmF6cXV4MTIzNDU2')).toBe(true);
    expect(looksSecret('a8f5f167f44f4964')).toBe(true);
    expect(looksSecret('12345678')).toBe(false);
    expect(looksSecret('expired')).toBe(false);
    expect(looksSecret('<SECRET>')).toBe(false);
  });
});
