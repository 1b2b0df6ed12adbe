import { describe, expect, it } from 'vitest';
import { StreamMeter } from './meter.js';
import { anthropic } from './providers/anthropic.js';
import { gemini } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import type { Provider } from './providers/types.js';

const data = (o: object, spaced = false) => `data: ${spaced ? JSON.stringify(o, null, 1).replaceAll('\n', '') : JSON.stringify(o)}\n\n`;
const ev = (type: string, o: object) => `event: ${type}\n${data({ type, ...o })}`;

const openaiChat = (spaced = false) =>
  [
    ...Array.from({ length: 6 }, (_, i) => data({ id: 'c', choices: [{ index: 0, delta: { content: `t${i}` } }], usage: null }, spaced)),
    data({ id: 'c', choices: [], usage: { prompt_tokens: 31, completion_tokens: 6, total_tokens: 37 } }, spaced),
    'data: [DONE]\n\n',
  ].join('');
const responses = () =>
  [
    ev('response.created', { response: { id: 'r', usage: null } }),
    ...Array.from({ length: 5 }, () => ev('response.output_text.delta', { delta: 'tok' })),
    ev('response.completed', { response: { id: 'r', usage: { input_tokens: 20, output_tokens: 5, total_tokens: 25 } } }),
  ].join('');
const messages = () =>
  [
    ev('message_start', { message: { id: 'm', usage: { input_tokens: 40, cache_read_input_tokens: 2, output_tokens: 1 } } }),
    ...Array.from({ length: 7 }, () => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'tok' } })),
    ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }),
    ev('message_stop', {}),
  ].join('');

/** As Google streams: CRLF CRLF between events, each chunk with the usage so far (thinking reported once it is known). */
const geminiStream = () =>
  Array.from(
    { length: 5 },
    (_, i) =>
      `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'tok' }], role: 'model' } }], usageMetadata: { promptTokenCount: 21, ...(i > 0 ? { candidatesTokenCount: i * 2, thoughtsTokenCount: 8 } : {}), totalTokenCount: 21 } })}\r\n\r\n`,
  ).join('');

function meter(provider: Provider, parts: Buffer[]): StreamMeter {
  const m = new StreamMeter(provider);
  for (const p of parts) m.push(p);
  m.end();
  return m;
}
/** The stream as one chunk, cut in two at every byte, and in chunks of 7 bytes. */
function splits(text: string): Buffer[][] {
  const all = Buffer.from(text);
  const out: Buffer[][] = [[all]];
  for (let cut = 1; cut < all.length; cut++) out.push([all.subarray(0, cut), all.subarray(cut)]);
  const small: Buffer[] = [];
  for (let i = 0; i < all.length; i += 7) small.push(all.subarray(i, i + 7));
  out.push(small);
  return out;
}

describe('StreamMeter', () => {
  const cases: Array<[string, Provider, string, { tokensIn: number; tokensOut: number; cachedIn?: number }]> = [
    ['OpenAI chat (final usage chunk)', openai, openaiChat(), { tokensIn: 31, tokensOut: 6 }],
    ['OpenAI chat, JSON with spaces', openai, openaiChat(true), { tokensIn: 31, tokensOut: 6 }],
    ['OpenAI Responses (response.completed)', openai, responses(), { tokensIn: 20, tokensOut: 5 }],
    ['Anthropic (message_start + message_delta, cache reads counted)', anthropic, messages(), { tokensIn: 42, tokensOut: 7, cachedIn: 2 }],
    ['Gemini (usageMetadata on every chunk, thinking billed as output)', gemini, geminiStream(), { tokensIn: 21, tokensOut: 8 + 8 }],
  ];
  for (const [name, provider, text, usage] of cases) {
    it(`reads the reported usage of ${name}, however the network splits the stream`, () => {
      for (const parts of splits(text)) {
        const m = meter(provider, parts);
        expect(m.reported).toBe(true);
        expect(m.usage(999)).toEqual(usage);
      }
    });
  }

  it('estimates from what passed when the stream was cut before its usage (billed for what was produced, never nothing)', () => {
    const text = openaiChat();
    const cut = Buffer.from(text.slice(0, text.indexOf('"choices":[]')));
    const m = meter(openai, [cut.subarray(0, 100), cut.subarray(100)]);
    expect(m.reported).toBe(false);
    const u = m.usage(50);
    expect(u.tokensIn).toBe(50);
    expect(u.tokensOut).toBeGreaterThan(0);
  });

  it('keeps reading usage at the end of a stream far longer than it keeps', () => {
    const filler = data({ id: 'c', choices: [{ index: 0, delta: { content: 'x'.repeat(1000) } }], usage: null });
    const parts = [Buffer.from(ev('message_start', { message: { usage: { input_tokens: 9, output_tokens: 1 } } }))];
    for (let i = 0; i < 3000; i++) parts.push(Buffer.from(filler));
    parts.push(Buffer.from(ev('message_delta', { delta: {}, usage: { output_tokens: 2999 } })));
    const m = meter(anthropic, parts);
    expect(m.usage(1)).toEqual({ tokensIn: 9, tokensOut: 2999 });
  });
});
