import { Readable } from 'node:stream';
import { text as readAll } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { ExampleRandom } from './examples.js';
import { createRedactStream, fingerprintSecret, redactSecret, redactText } from './index.js';

const r = new ExampleRandom(5);
const proj = () => 'sk-proj-' + r.chars('base64url', 74) + 'T3Blbk' + 'FJ' + r.chars('base64url', 74);

describe('redactSecret', () => {
  it('shows the fixed prefix and the last 4 only', () => {
    const k = proj();
    expect(redactSecret(k)).toBe('sk-proj-…' + k.slice(-4));
    const g = 'AIza' + r.chars('alnum', 35);
    expect(redactSecret(g)).toBe('AIza…' + g.slice(-4));
  });
  it('shows less of short secrets and nothing of very short ones', () => {
    expect(redactSecret('hunter2hunter2x')).toBe('hu…2x');
    expect(redactSecret('short')).toBe('…');
  });
  it('shows only the header of a private key', () => {
    expect(redactSecret('-----BEGIN RSA PRIVATE KEY-----\nMIIB' + r.chars('base64', 300))).toBe('-----BEGIN RSA PRIVATE KEY-----…');
  });
});

describe('fingerprintSecret', () => {
  it('is stable, short and does not reveal the secret', () => {
    const k = proj();
    expect(fingerprintSecret(k)).toBe(fingerprintSecret(k));
    expect(fingerprintSecret(k)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fingerprintSecret(k)).not.toBe(fingerprintSecret(proj()));
  });
});

describe('redactText', () => {
  it('masks every secret, JWTs included, and leaves the rest untouched', () => {
    const a = proj();
    const b = 'ghp_' + 'x';
    const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"1234567890"}').toString('base64url')}.${r.chars('base64url', 43)}`;
    const text = `Authorization: Bearer ${a}\ncookie=${jwt}\nplain ${b}\n`;
    const out = redactText(text);
    expect(out).toBe(`Authorization: Bearer sk-proj-…${a.slice(-4)}\ncookie=eyJh…${jwt.slice(-4)}\nplain ${b}\n`);
    expect(out).not.toContain(a.slice(8, -4));
  });
  it('returns the same string when there is nothing to mask', () => {
    const t = 'nothing to see here\n';
    expect(redactText(t)).toBe(t);
  });
});

describe('createRedactStream', () => {
  it('redacts line by line, even when a key is split across chunks and multi-byte characters too', async () => {
    const a = proj();
    const text = `é ok\nkey=${a} ✓\nlast line without newline`;
    const bytes = Buffer.from(text);
    const pieces = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    const out = await readAll(Readable.from(pieces).pipe(createRedactStream()));
    expect(out).toBe(`é ok\nkey=sk-proj-…${a.slice(-4)} ✓\nlast line without newline`);
  });

  it('passes a very long line on in pieces without cutting a key', async () => {
    const keys = Array.from({ length: 40 }, proj);
    let line = '';
    for (const k of keys) line += (r.chars('lowerAlnum', 20) + ' ').repeat(4000) + `"${k}",`;
    const bytes = Buffer.from(line + '\n');
    const pieces = [];
    for (let i = 0; i < bytes.length; i += 65_536) pieces.push(bytes.subarray(i, i + 65_536));
    const chunks: string[] = [];
    for await (const c of Readable.from(pieces).pipe(createRedactStream())) chunks.push(String(c));
    const out = chunks.join('');
    expect(chunks.length, 'the line leaves in several pieces').toBeGreaterThan(2);
    expect(out).toBe(redactText(line + '\n'));
    for (const k of keys) expect(out).not.toContain(k.slice(8, -4));
  });

  it('masks a private key block whole', async () => {
    const body = Array.from({ length: 6 }, () => r.chars('base64', 64)).join('\n');
    const text = `before\n-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\nafter\n`;
    const out = await readAll(Readable.from([text]).pipe(createRedactStream()));
    expect(out).toBe('before\n-----BEGIN OPENSSH PRIVATE KEY-----…\nafter\n');
  });
});
