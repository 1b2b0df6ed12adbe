import { describe, expect, it } from 'vitest';
import { ExampleRandom } from './examples.js';
import { scanText } from './index.js';

const r = new ExampleRandom(11);
const openai = () => 'sk-proj-' + r.chars('base64url', 74) + 'T3Blbk' + 'FJ' + r.chars('base64url', 74);
const groq = () => 'gsk_' + r.chars('alnum', 20) + 'WGdyb3' + 'FY' + r.chars('alnum', 24);

describe('scanText', () => {
  it('reports exact 1-based line and column, and the offset of the secret', () => {
    const a = openai();
    const b = groq();
    const text = `first line\n  const k = "${a}";\n\nx\tGROQ=${b}`;
    const found = scanText(text);
    expect(found.map((m) => [m.ruleId, m.line, m.column])).toEqual([
      ['openai-project-key', 2, 14],
      ['groq-api-key', 4, 8],
    ]);
    for (const m of found) expect(text.slice(m.index, m.index + m.length)).toBe(m.secret);
  });

  it('counts columns from the start of the line after CRLF line ends', () => {
    const b = groq();
    const [m] = scanText(`a\r\nb\r\nKEY=${b}\r\n`);
    expect([m!.line, m!.column]).toEqual([3, 5]);
  });

  it('finds a key that stands alone, at the very start and very end of the text', () => {
    const a = openai();
    expect(scanText(a).map((m) => [m.index, m.length])).toEqual([[0, a.length]]);
  });

  it('does not report a key embedded in a longer token', () => {
    expect(scanText('abc' + groq())).toEqual([]);
    expect(scanText(groq() + 'Z')).toEqual([]);
  });

  it('skips a line that carries a keyward:allow comment, and only that line', () => {
    const a = openai();
    const b = openai();
    const found = scanText(`KEY=${a} # keyward:allow test fixture\nKEY2=${b}\n`);
    expect(found.map((m) => m.secret)).toEqual([b]);
  });

  it('ignores placeholders and documentation values', () => {
    const traps = [
      'OPENAI_API_KEY=sk-...',
      'OPENAI_API_KEY=sk-your-key-here',
      'OPENAI_API_KEY=<OPENAI_API_KEY>',
      `OPENAI_API_KEY="sk-proj-${'x'.repeat(71)}"`,
      'ANTHROPIC_API_KEY=sk-ant-api03-YOUR-KEY',
      'api_key: "${OPENAI_API_KEY}"',
      'apiKey: process.env.OPENAI_API_KEY',
      'AWS_ACCESS_KEY_ID=AKIA' + 'IOSFODNN7' + 'EXAMPLE',
      // AWS's example secret with its EXAMPLEKEY ending cut off.
      'AWS_SECRET_ACCESS_KEY="wJalrXUtn' + 'FEMI/K7MDENG/bPxRfiCY"',
      'password: "********************"',
    ];
    for (const t of traps) expect(scanText(t), t).toEqual([]);
  });

  it('prefers the provider rule over the generic one on the same value', () => {
    const b = groq();
    const found = scanText(`api_key = "${b}"`);
    expect(found.map((m) => m.ruleId)).toEqual(['groq-api-key']);
  });

  it('hides info findings (JWTs) unless asked', () => {
    const enc = (s: string) => Buffer.from(s).toString('base64url');
    const jwt = `${enc('{"alg":"HS256","typ":"JWT"}')}.${enc('{"sub":"42","role":"service_role"}')}.${r.chars('base64url', 43)}`;
    expect(scanText(`token = ${jwt}`).map((m) => m.ruleId)).not.toContain('jwt');
    expect(scanText(`x ${jwt}`, { includeInfo: true }).map((m) => m.ruleId)).toEqual(['jwt']);
  });

  it('applies per-rule path allowlists: the generic rule skips lockfiles, provider rules do not', () => {
    const generic = `"token": "${r.chars('alnum', 40)}"`;
    expect(scanText(generic, { path: 'app/config.json' })).toHaveLength(1);
    expect(scanText(generic, { path: 'app/package-lock.json' })).toHaveLength(0);
    expect(scanText(`"x": "${groq()}"`, { path: 'package-lock.json' })).toHaveLength(1);
  });

  it('reports a context key only when its provider is named nearby', () => {
    const k = r.chars('alnum', 32);
    expect(scanText(`MISTRAL_API_KEY=${k}`).map((m) => m.ruleId)).toEqual(['mistral-api-key']);
    expect(scanText(`VALUE=${k}`)).toEqual([]);
  });

  it('never returns the same secret twice when many keywords hit around it', () => {
    const a = openai();
    const text = `openai openai OPENAI_API_KEY=${a} openai`;
    expect(scanText(text)).toHaveLength(1);
  });

  it('handles text with non-ASCII characters around keys', () => {
    const b = groq();
    const [m] = scanText(`ключ — «${b}» ✓`);
    expect(m!.secret).toBe(b);
    expect(m!.column).toBe(9);
  });

  it('stays silent, and linear, on hostile input (quadratic work here would blow the test timeout)', () => {
    const hostile = [
      'key='.repeat(250_000),
      'sk-proj-'.repeat(125_000),
      'eyJaaaaaaaaaaaa.'.repeat(60_000),
      '-----BEGIN RSA PRIVATE KEY-----\n' + ('A'.repeat(64) + '\n').repeat(15_000),
      'postgres://' + 'a:'.repeat(400_000),
      'Bearer '.repeat(150_000),
    ];
    for (const text of hostile) expect(scanText(text, { includeInfo: true })).toEqual([]);
  });

  it('reports thousands of keys on one long line with exact columns', () => {
    const keys = Array.from({ length: 3000 }, groq);
    const found = scanText(keys.map((k) => `"${k}",`).join(''));
    expect(found).toHaveLength(3000);
    expect(found.every((m, i) => m.line === 1 && m.column === 2 + i * (keys[0]!.length + 3))).toBe(true);
  });
});
