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

describe('a stream whose final event is larger than the meter keeps', () => {
  const completed = (images: number, bytes: number) => {
    const output = Array.from({ length: images }, (_, i) => ({ type: 'image_generation_call', id: `ig_${i}`, status: 'completed', result: 'A'.repeat(bytes) }));
    return `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { id: 'resp_1', output, usage: { input_tokens: 70, output_tokens: 30, input_tokens_details: { cached_tokens: 20 } } } })}\n\n`;
  };
  const chunks = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size)));

  it('reads the usage alone from the end of a cut final event, and counts the events asked for across chunk boundaries', () => {
    const m = new StreamMeter(openai, 'response.image_generation_call.completed');
    const marks = [0, 1, 2].map((i) => `event: response.image_generation_call.completed\ndata: {"type":"response.image_generation_call.completed","item_id":"ig_${i}"}\n\n`).join('');
    // 7-byte chunks cut every event type somewhere.
    for (const c of chunks(`event: response.created\ndata: {"type":"response.created"}\n\n${marks}`, 7)) m.push(c);
    for (const c of chunks(completed(2, 1_500_000), 64 * 1024)) m.push(c);
    m.end();
    expect(m.countedEvents).toBe(3);
    expect(m.reported).toBe(true);
    // The final event's list of images was cut off: the images counted as they came stand.
    expect(m.usage(5)).toEqual({ tokensIn: 70, tokensOut: 30, cachedIn: 20, imageCalls: 3 });
  });

  it('takes the images the final event lists when it is kept whole', () => {
    const m = new StreamMeter(openai, 'response.image_generation_call.completed');
    m.push(Buffer.from(completed(2, 10)));
    m.end();
    expect(m.usage(5)).toEqual({ tokensIn: 70, tokensOut: 30, cachedIn: 20, imageCalls: 2 });
  });
});
