import { describe, expect, it } from 'vitest';
import { anthropic } from './providers/anthropic.js';
import { gemini } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import { emptyArrayWithin, lastUsageObject, usageObjectAt, usageOfAnswer } from './usage-search.js';

describe('usageObjectAt', () => {
  it('finds a usage key whose value is an object, compact or spaced, at or after `from`', () => {
    expect(usageObjectAt('{"usage":{"a":1}}', 0)).toBe(1);
    expect(usageObjectAt('{"usage" : {"a":1}}', 0)).toBe(1);
    expect(usageObjectAt('{"usage": {"a":1}}', 0)).toBe(1);
    const two = '{"usage":{"a":1}} {"usage":{"b":2}}';
    expect(usageObjectAt(two, 2)).toBe(two.lastIndexOf('"usage"'));
    expect(usageObjectAt(two, 1)).toBe(1);
  });

  it('skips a null usage, a longer key and the word inside a string', () => {
    const text = JSON.stringify({ usage: null, prompt_usage: { a: 1 }, content: 'the "usage":{ word', x: 'usage":{' });
    expect(usageObjectAt(text, 0)).toBe(-1);
    expect(usageObjectAt(`${text}\n{"usage":{}}`, 0)).toBe(text.length + 2);
  });
});

describe('lastUsageObject', () => {
  const slice = (text: string) => {
    const at = lastUsageObject(text);
    return at && text.slice(at.start, at.end);
  };

  it('finds the last usage object of an answer, compact or spaced, nested objects and strings included', () => {
    const answer = { id: 'x', choices: [{ message: { content: 'a "usage": {"x":1} } in text' } }], usage: { prompt_tokens: 3, completion_tokens: 5, details: { cached: 0, note: 'a } and a \\" inside' } }, system_fingerprint: 'fp' };
    expect(JSON.parse(slice(JSON.stringify(answer))!)).toEqual(answer.usage);
    expect(JSON.parse(slice(JSON.stringify(answer, null, 2))!)).toEqual(answer.usage);
    // Responses API: the usage of the response object, after its output.
    const resp = { id: 'r', output: [{ type: 'message', content: [{ type: 'output_text', text: 'hi' }] }], usage: { input_tokens: 2, output_tokens: 1 } };
    expect(JSON.parse(slice(JSON.stringify(resp))!)).toEqual(resp.usage);
  });

  it('finds nothing without a usage object, or when it does not close', () => {
    expect(lastUsageObject(JSON.stringify({ usage: null, prompt_usage: { a: 1 }, content: 'usage":{' }))).toBeUndefined();
    expect(lastUsageObject('{"usage":{"a":{"b":1}')).toBeUndefined();
    expect(lastUsageObject('')).toBeUndefined();
  });
});

describe('usageOfAnswer', () => {
  const buf = (o: unknown) => Buffer.from(JSON.stringify(o));

  it('reads the usage of OpenAI chat, Responses and Anthropic answers', () => {
    expect(usageOfAnswer(openai, buf({ choices: [{ message: { content: 'hé' } }], usage: { prompt_tokens: 3, completion_tokens: 5 } }))).toEqual({ tokensIn: 3, tokensOut: 5 });
    expect(usageOfAnswer(openai, buf({ output: [], usage: { input_tokens: 2, output_tokens: 7 } }))).toEqual({ tokensIn: 2, tokensOut: 7 });
    expect(usageOfAnswer(anthropic, buf({ content: [{ type: 'text', text: 'x' }], usage: { input_tokens: 4, cache_read_input_tokens: 6, output_tokens: 1 } }))).toEqual({ tokensIn: 10, tokensOut: 1, cachedIn: 6 });
  });

  it("reads Gemini's usageMetadata (thinking and tool-use prompts included), and no plain usage key for it", () => {
    const answer = { candidates: [{ content: { parts: [{ text: 'hi' }] } }], usageMetadata: { promptTokenCount: 9, toolUsePromptTokenCount: 2, candidatesTokenCount: 4, thoughtsTokenCount: 30 } };
    expect(usageOfAnswer(gemini, buf(answer))).toEqual({ tokensIn: 11, tokensOut: 34 });
    expect(usageOfAnswer(gemini, buf({ candidates: [], usage: { prompt_tokens: 3 } }))).toBeUndefined();
    expect(lastUsageObject(' "usageMetadata": {"a":1}', 'usageMetadata')).toEqual({ start: 18, end: 25 });
  });

  it('falls back to the whole answer when the last usage object is not the answer\'s, and finds nothing in what is not JSON', () => {
    // A usage object after the answer's own (here inside metadata) is not a usage the provider reports.
    const odd = buf({ usage: { prompt_tokens: 3, completion_tokens: 5 }, metadata: { usage: { note: 'x' } } });
    expect(usageOfAnswer(openai, odd)).toEqual({ tokensIn: 3, tokensOut: 5 });
    expect(usageOfAnswer(openai, Buffer.from('<html>usage"</html>'))).toBeUndefined();
    expect(usageOfAnswer(openai, Buffer.from('{"usage":{"prompt_tokens":3,'))).toBeUndefined();
  });
});

describe('emptyArrayWithin', () => {
  it('finds "key": [] inside the range only', () => {
    const text = 'data: {"choices":[]}\n\ndata: {"choices": [ ]}\n\ndata: {"choices":[{"i":0}]}\n\n';
    const second = text.indexOf('data:', 1);
    const third = text.indexOf('data:', second + 1);
    expect(emptyArrayWithin(text, 'choices', 0, second)).toBe(true);
    expect(emptyArrayWithin(text, 'choices', second, third)).toBe(true);
    expect(emptyArrayWithin(text, 'choices', third, text.length)).toBe(false);
    expect(emptyArrayWithin('{"mychoices":[]}', 'choices', 0, 99)).toBe(false);
    expect(emptyArrayWithin('{"choices":[]}', 'choices', 0, 5)).toBe(false);
  });
});
