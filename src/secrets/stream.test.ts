import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExampleRandom } from './examples.js';
import { scanStream, scanText, type SecretMatch } from './index.js';

const r = new ExampleRandom(23);

/** A log of `lines` lines with keys of several shapes sprinkled in, some multi-byte text too. */
function makeLog(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const roll = r.int(40);
    if (roll === 0) out.push(`${i} Authorization: Bearer sk-proj-${r.chars('base64url', 58)}T3Blbk${'FJ'}${r.chars('base64url', 58)}`);
    else if (roll === 1) out.push(`${i} GROQ_API_KEY=gsk_${r.chars('alnum', 20)}WGdyb3${'FY'}${r.chars('alnum', 24)} ✓ é`);
    else if (roll === 2) out.push(`azure config\nAZURE_OPENAI_API_KEY=${r.chars('hex', 32)}`);
    else if (roll === 3) out.push(`-----BEGIN RSA PRIVATE KEY-----\n${Array.from({ length: 8 }, () => r.chars('base64', 64)).join('\n')}\n-----END RSA PRIVATE KEY-----`);
    else out.push(`${i} GET /v1/items?page=${r.int(100)} 200 ${r.chars('lowerAlnum', r.int(60))} — ok`);
  }
  return out.join('\n') + '\n';
}

async function collect(gen: AsyncIterable<SecretMatch>): Promise<SecretMatch[]> {
  const out: SecretMatch[] = [];
  for await (const m of gen) out.push(m);
  return out;
}

/** Splits `text` into pieces of random sizes, as Buffers, cutting multi-byte characters apart too. */
function* randomPieces(text: string, max: number): Generator<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + r.int(max);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

const shape = (m: SecretMatch) => [m.ruleId, m.line, m.column, m.index, m.secret];

describe('scanStream', () => {
  it('finds exactly what scanText finds, with the same lines and columns, across many chunk edges', async () => {
    const text = makeLog(3000);
    const whole = scanText(text);
    expect(whole.length).toBeGreaterThan(100);
    for (const chunkSize of [1000, 4096, 30_000]) {
      const streamed = await collect(scanStream(Readable.from(randomPieces(text, 7000)), { chunkSize }));
      expect(streamed.map(shape), `chunkSize ${chunkSize}`).toEqual(whole.map(shape));
    }
  });

  it('accepts strings as well as Buffers', async () => {
    const key = 'gsk_' + r.chars('alnum', 20) + 'WGdyb3' + 'FY' + r.chars('alnum', 24);
    const pieces = ['line one\nKEY=', key.slice(0, 10), key.slice(10), '\n'];
    const found = await collect(scanStream((async function* () { yield* pieces; })()));
    expect(found.map((m) => [m.ruleId, m.line, m.column])).toEqual([['groq-api-key', 2, 5]]);
  });

  it('keeps little memory for a long stream: a 64 MiB log is scanned without holding it', async () => {
    const line = `GET /static/app.js 200 ${'a'.repeat(200)}\n`;
    const key = 'sk-ant-api03-' + r.chars('base64url', 93) + 'AA';
    const lines = (64 << 20) / line.length;
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    async function* source() {
      for (let i = 0; i < lines; i += 1000) {
        yield line.repeat(1000);
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      yield `ANTHROPIC_API_KEY=${key}\n`;
    }
    const found: SecretMatch[] = [];
    for await (const m of scanStream(source())) found.push(m);
    expect(found.map((m) => [m.ruleId, m.line])).toEqual([['anthropic-api-key', Math.ceil(lines / 1000) * 1000 + 1]]);
    expect(peak - before).toBeLessThan(48 << 20);
  });
});
