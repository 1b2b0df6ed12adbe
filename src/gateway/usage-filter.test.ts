import { describe, expect, it } from 'vitest';
import { UsageEventFilter } from './usage-filter.js';

const event = (o: object) => `data: ${JSON.stringify(o)}\n\n`;
const delta = (t: string) => event({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: t } }], usage: null });
const usage = event({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
const stream = delta('He') + delta('llo "usage":{ in text') + usage + 'data: [DONE]\n\n';
const expected = delta('He') + delta('llo "usage":{ in text') + 'data: [DONE]\n\n';

function run(parts: Buffer[]): string {
  const f = new UsageEventFilter();
  const out = parts.map((p) => f.push(p));
  out.push(f.end());
  return Buffer.concat(out).toString('utf8');
}

describe('UsageEventFilter', () => {
  it('drops the usage-only event and keeps every other byte, however the network splits the stream', () => {
    const all = Buffer.from(stream);
    expect(run([all])).toBe(expected);
    for (let cut = 1; cut < all.length; cut++) expect(run([all.subarray(0, cut), all.subarray(cut)])).toBe(expected);
    // One byte at a time.
    expect(run([...all].map((b) => Buffer.from([b])))).toBe(expected);
  });

  it('passes whole events at once and holds only a partial one', () => {
    const f = new UsageEventFilter();
    expect(f.push(Buffer.from(delta('a'))).toString()).toBe(delta('a'));
    const half = delta('b').slice(0, 10);
    expect(f.push(Buffer.from(half)).length).toBe(0);
    expect(f.push(Buffer.from(delta('b').slice(10))).toString()).toBe(delta('b'));
  });

  it('keeps a usage object that rides on an event with choices, and understands CRLF event ends', () => {
    const withChoices = event({ choices: [{ index: 0, delta: {} }], usage: { prompt_tokens: 1 } });
    expect(run([Buffer.from(withChoices)])).toBe(withChoices);
    const crlf = stream.replaceAll('\n\n', '\r\n\r\n');
    expect(run([Buffer.from(crlf)])).toBe(expected.replaceAll('\n\n', '\r\n\r\n'));
  });

  it('understands JSON written with spaces (", ": "), as some OpenAI-compatible servers send it', () => {
    const spaced = (o: object) => `data: ${JSON.stringify(o, null, 1).replaceAll('\n', '')}\n\n`;
    const text = spaced({ choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null }) + spaced({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } }) + 'data: [DONE]\n\n';
    expect(text).toContain('"usage": {');
    expect(text).toContain('"choices": []');
    const all = Buffer.from(text);
    const want = spaced({ choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null }) + 'data: [DONE]\n\n';
    for (let cut = 1; cut < all.length; cut++) expect(run([all.subarray(0, cut), all.subarray(cut)])).toBe(want);
  });

  it('does not hold a stream that never ends an event', () => {
    const f = new UsageEventFilter();
    const big = Buffer.alloc(70 * 1024, 'x');
    expect(f.push(big).length).toBe(big.length);
  });
});
