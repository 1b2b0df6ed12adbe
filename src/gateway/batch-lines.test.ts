import { describe, expect, it } from 'vitest';
import { emptyGeminiFile, geminiFileSummary, OPENAI_BATCH_ENDPOINTS, readAnthropicBatch, readGeminiBatch, readGeminiFile, readOpenAiBatch, type BatchReading } from './batch-lines.js';
import { GatewayHttpError } from './http-error.js';
import { Prices } from './providers/prices.js';
import { estimatePromptTokens, type ShapedRequest } from './providers/types.js';

const prices = new Prices();
const DEFAULT_MAX = 1_000;
const USER = 'user-42';
const END_USER = 'kw-0123456789abcdef0123456789abcdef';

/** The reading object-routes.ts makes for a user, with the worst case priced as production prices it. */
function reading(over: Partial<BatchReading> = {}): BatchReading & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    defaultMaxTokens: DEFAULT_MAX,
    cap: false,
    userId: USER,
    allowModel: (model) => void asked.push(model),
    worst: (model: string, s: ShapedRequest) => prices.cost(model, s.promptTokens, s.maxTokens, s.imageTokens) * prices.tierFactor(model, 'batch') + prices.toolCost(model, s, s.searchPreview),
    ...over,
  };
}

type Body = Record<string, unknown>;
const chat = (over: Body = {}): Body => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hi.' }], ...over });
const responses = (over: Body = {}): Body => ({ model: 'gpt-4o-mini', input: 'Say hi.', ...over });
const line = (id: string, body: unknown, url = '/v1/chat/completions', method: unknown = 'POST') => JSON.stringify({ custom_id: id, method, url, body });
const jsonl = (...lines: string[]) => Buffer.from(lines.join('\n') + '\n');

interface SentLine {
  custom_id: string;
  method: string;
  url: string;
  body: Body;
}
const sentLines = (file: Buffer): SentLine[] =>
  file
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SentLine);

/** The GatewayHttpError `fn` throws; fails the test when it throws nothing or something else. */
function refusal(fn: () => unknown): GatewayHttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayHttpError) return err;
    throw err;
  }
  throw new Error('expected a refusal, and the batch was read');
}

describe('an OpenAI batch file goes to OpenAI unchanged when the gateway has nothing to add', () => {
  it('returns the very buffer it was given, whatever its spacing, when every request is capped and no identifier is set', () => {
    // Spaced as a client may write it: any re-serialisation would show as a different byte.
    const spaced = '{ "custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": { "model": "gpt-4o-mini", "messages": [], "max_tokens": 50 } }';
    const file = jsonl(spaced, line('b', chat({ max_completion_tokens: 70 })));
    for (const cap of [false, true]) {
      const read = readOpenAiBatch(file, reading({ cap }));
      expect(read.file).toBe(file);
      expect(read.summary.requests).toBe(2);
    }
  });

  it('returns an embeddings file unchanged even with an end-user identifier, since OpenAI takes none there', () => {
    const file = jsonl(line('e1', { model: 'text-embedding-3-small', input: 'one' }, '/v1/embeddings'), line('e2', { model: 'text-embedding-3-small', input: ['two', 'three'] }, '/v1/embeddings'));
    const read = readOpenAiBatch(file, reading({ endUser: END_USER, cap: true }));
    expect(read.file).toBe(file);
    expect(sentLines(read.file).every((l) => !('safety_identifier' in l.body))).toBe(true);
    expect(read.summary).toMatchObject({ endpoint: '/v1/embeddings', model: 'text-embedding-3-small', requests: 2, maxTokens: 0, uncapped: 0 });
  });

  it('reads a file with CRLF line endings and blank lines as the same requests', () => {
    const file = Buffer.from(`${line('a', chat({ max_tokens: 5 }))}\r\n\r\n${line('b', chat({ max_tokens: 5 }))}\r\n`);
    const read = readOpenAiBatch(file, reading());
    expect(read.summary.requests).toBe(2);
    expect(read.file).toBe(file);
  });
});

describe('an OpenAI batch is capped where a budget counts its user', () => {
  const file = jsonl(line('open', chat()), line('own', chat({ max_tokens: 50 })), line('own-new', chat({ max_completion_tokens: 70 })), line('open-too', chat({ temperature: 0 })));

  it("gives each chat request without a cap the default as 'max_completion_tokens' and leaves the capped ones their own", () => {
    const read = readOpenAiBatch(file, reading({ cap: true }));
    const sent = sentLines(read.file);
    expect(sent.map((l) => l.custom_id)).toEqual(['open', 'own', 'own-new', 'open-too']);
    expect(sent[0]!.body).toEqual({ ...chat(), max_completion_tokens: DEFAULT_MAX });
    // Capped by the client: nothing added, nor a second cap beside max_tokens.
    expect(sent[1]!.body).toEqual(chat({ max_tokens: 50 }));
    expect(sent[2]!.body).toEqual(chat({ max_completion_tokens: 70 }));
    expect(sent[3]!.body).toEqual({ ...chat({ temperature: 0 }), max_completion_tokens: DEFAULT_MAX });
    expect(read.summary.uncapped).toBe(0);
    expect(read.summary.maxTokens).toBe(DEFAULT_MAX + 50 + 70 + DEFAULT_MAX);
  });

  it("gives each Responses request without a cap the default as 'max_output_tokens'", () => {
    const read = readOpenAiBatch(jsonl(line('open', responses(), '/v1/responses'), line('own', responses({ max_output_tokens: 30 }), '/v1/responses')), reading({ cap: true }));
    const [open, own] = sentLines(read.file);
    expect(open!.body.max_output_tokens).toBe(DEFAULT_MAX);
    expect(open!.body).not.toHaveProperty('max_completion_tokens');
    expect(own!.body.max_output_tokens).toBe(30);
    expect(read.summary.uncapped).toBe(0);
  });

  it('counts the uncapped requests and sends them as they were when no cap is asked for', () => {
    const read = readOpenAiBatch(file, reading({ cap: false }));
    expect(read.summary.uncapped).toBe(2);
    // Still reserved for the default, which is what they may cost at most if OpenAI stops there.
    expect(read.summary.maxTokens).toBe(DEFAULT_MAX + 50 + 70 + DEFAULT_MAX);
    expect(read.file).toBe(file);
    const responsesRead = readOpenAiBatch(jsonl(line('r', responses(), '/v1/responses')), reading({ cap: false }));
    expect(responsesRead.summary.uncapped).toBe(1);
    expect(sentLines(responsesRead.file)[0]!.body).not.toHaveProperty('max_output_tokens');
  });
});

describe("an OpenAI batch's requests carry the user's identifier and owner where OpenAI reads them", () => {
  it("sets 'safety_identifier' on chat requests, over any the client set", () => {
    const read = readOpenAiBatch(jsonl(line('a', chat({ max_tokens: 5 })), line('b', chat({ max_tokens: 5, safety_identifier: 'someone-else' }))), reading({ endUser: END_USER }));
    expect(sentLines(read.file).map((l) => l.body.safety_identifier)).toEqual([END_USER, END_USER]);
  });

  it("sets 'safety_identifier' on Responses requests, and no identifier is set when there is none to set", () => {
    const file = jsonl(line('a', responses({ max_output_tokens: 5 }), '/v1/responses'));
    expect(sentLines(readOpenAiBatch(file, reading({ endUser: END_USER })).file)[0]!.body.safety_identifier).toBe(END_USER);
    expect(sentLines(readOpenAiBatch(file, reading()).file)[0]!.body).not.toHaveProperty('safety_identifier');
  });

  it("tags each stored Responses request with its user in 'metadata.keyward_user', keeping the client's own metadata", () => {
    const file = jsonl(
      line('plain', responses({ max_output_tokens: 5 }), '/v1/responses'),
      line('own-meta', responses({ max_output_tokens: 5, metadata: { app: 'x' } }), '/v1/responses'),
      line('stored', responses({ max_output_tokens: 5, store: true }), '/v1/responses'),
      line('unstored', responses({ max_output_tokens: 5, store: false }), '/v1/responses'),
    );
    const sent = sentLines(readOpenAiBatch(file, reading()).file);
    expect(sent[0]!.body.metadata).toEqual({ keyward_user: USER });
    expect(sent[1]!.body.metadata).toEqual({ app: 'x', keyward_user: USER });
    expect(sent[2]!.body.metadata).toEqual({ keyward_user: USER });
    // OpenAI keeps nothing of it, so there is no response for another user to reach.
    expect(sent[3]!.body).toEqual(responses({ max_output_tokens: 5, store: false }));
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_abc' }],
    ['conversation', { conversation: 'conv_abc' }],
  ])("refuses a Responses request that continues a stored response or conversation ('%s'), naming its line", (_name, over) => {
    const err = refusal(() => readOpenAiBatch(jsonl(line('a', responses({ max_output_tokens: 5 }), '/v1/responses'), line('b', responses({ max_output_tokens: 5, ...over }), '/v1/responses')), reading()));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^line 2 of the batch file: a request of a batch cannot continue a stored response or conversation/);
  });
});

describe("an OpenAI batch's summary is what its requests may cost together, at batch rates", () => {
  it('sums the requests, their prompt and output tokens, and reserves the sum of their worst cases at half the standard rates', () => {
    const bodies = [chat({ max_tokens: 200 }), chat({ messages: [{ role: 'user', content: 'A longer question, '.repeat(40) }] }), chat({ max_completion_tokens: 10, n: 3 })];
    const read = readOpenAiBatch(jsonl(...bodies.map((b, i) => line(`r${i}`, b))), reading());
    const prompts = bodies.map((b) => estimatePromptTokens(Buffer.byteLength(JSON.stringify(b))));
    // n choices may each be as long as the cap.
    const outputs = [200, DEFAULT_MAX, 30];
    const standard = bodies.reduce((sum, _b, i) => sum + prices.cost('gpt-4o-mini', prompts[i]!, outputs[i]!), 0);
    expect(read.summary).toEqual({
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      requests: 3,
      promptTokens: prompts[0]! + prompts[1]! + prompts[2]!,
      maxTokens: 200 + DEFAULT_MAX + 30,
      reserveUsd: expect.closeTo(standard * prices.tierFactor('gpt-4o-mini', 'batch'), 15),
      uncapped: 1,
    });
    expect(prices.tierFactor('gpt-4o-mini', 'batch')).toBe(0.5);
    expect(read.summary.reserveUsd).toBeCloseTo(standard / 2, 15);
  });

  it("reserves a request's searches at their full price on top of its tokens at batch rates", () => {
    const body = responses({ max_output_tokens: 100, tools: [{ type: 'web_search_preview' }], max_tool_calls: 2 });
    const read = readOpenAiBatch(jsonl(line('s', body, '/v1/responses')), reading());
    const tokens = prices.cost('gpt-4o-mini', estimatePromptTokens(Buffer.byteLength(JSON.stringify(body))), 100) * 0.5;
    // gpt-4o-mini's web_search_preview is $25 a thousand calls.
    expect(read.summary.reserveUsd).toBeCloseTo(tokens + (2 * 25) / 1000, 15);
  });
});

describe('an OpenAI batch file is refused with the line at fault and what is wrong with it', () => {
  const ok = line('ok', chat({ max_tokens: 5 }));
  // The bad request is the third line: the blank second line counts, as an editor numbers it.
  it.each([
    ['a line that is not JSON', '{"custom_id": "x", ', /^line 3 of the batch file is not JSON/],
    ['a line that is not an object', '[1, 2]', /^line 3 of the batch file: it must be a JSON object$/],
    ['a line without a custom_id', JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: chat() }), /^line 3 of the batch file: 'custom_id' is required and must be a string$/],
    ['a custom_id used twice', line('ok', chat({ max_tokens: 5 })), /^line 3 of the batch file: 'custom_id' 'ok' is used twice; each request needs its own$/],
    ['a method other than POST', line('x', chat(), '/v1/chat/completions', 'GET'), /^line 3 of the batch file: 'method' must be "POST"$/],
    ['a url the Batch API does not run', line('x', chat(), '/v1/images/generations'), new RegExp(`^line 3 of the batch file: 'url' must be one of ${OPENAI_BATCH_ENDPOINTS.join(', ')}$`)],
    ['a second endpoint', line('x', responses(), '/v1/responses'), /^line 3 of the batch file: it calls \/v1\/responses, another line \/v1\/chat\/completions: a batch calls one endpoint$/],
    ['a body that is not an object', line('x', 'hello'), /^line 3 of the batch file: 'body' must be the request, a JSON object$/],
    ['a second model', line('x', chat({ model: 'gpt-4o' })), /^line 3 of the batch file: it asks for 'gpt-4o' where line 1 asks for 'gpt-4o-mini': .*send one batch per model$/],
    ['a streamed request', line('x', chat({ stream: true })), /^line 3 of the batch file: a request of a batch cannot stream/],
    ['a request shapeRequest refuses', line('x', chat({ max_tokens: 0 })), /^line 3 of the batch file: 'max_tokens' must be a positive integer$/],
  ])('refuses %s', (_what, bad, message) => {
    const err = refusal(() => readOpenAiBatch(jsonl(ok, '', bad, ok.replace('"ok"', '"later"')), reading()));
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toMatch(message);
  });

  it('refuses a Responses request asked to run in the background', () => {
    const err = refusal(() => readOpenAiBatch(jsonl(line('x', responses({ background: true }), '/v1/responses')), reading()));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^line 1 of the batch file: a request of a batch cannot run in the background/);
  });

  it("keeps the status of a model the user may not use, with the line that asked for it, and asks about the batch's model once", () => {
    const r = reading({
      allowModel: (model) => {
        if (model === 'gpt-4o') throw new GatewayHttpError(403, 'model_not_allowed', `model 'gpt-4o' is not allowed for this key`);
      },
    });
    const err = refusal(() => readOpenAiBatch(jsonl('', line('x', chat({ model: 'gpt-4o' }))), r));
    expect(err.status).toBe(403);
    expect(err.type).toBe('model_not_allowed');
    expect(err.message).toBe("line 2 of the batch file: model 'gpt-4o' is not allowed for this key");
    const allowed = reading();
    readOpenAiBatch(jsonl(ok, line('b', chat({ max_tokens: 5 })), line('c', chat({ max_tokens: 5 }))), allowed);
    expect(allowed.asked).toEqual(['gpt-4o-mini']);
  });

  it('refuses a file that holds no requests', () => {
    for (const empty of [Buffer.alloc(0), Buffer.from('\n\n  \n')]) {
      const err = refusal(() => readOpenAiBatch(empty, reading()));
      expect(err.status).toBe(400);
      expect(err.message).toBe('the batch holds no requests');
    }
  });
});

describe('an OpenAI batch names the stored objects its requests use', () => {
  it('lists each file id named in any line once', () => {
    const withFile = (id: string) => chat({ max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'text', text: 'Read this.' }, { type: 'file', file: { file_id: id } }] }] });
    const read = readOpenAiBatch(jsonl(line('a', withFile('file-abc')), line('b', withFile('file-def')), line('c', withFile('file-abc')), line('d', chat({ max_tokens: 5 }))), reading());
    expect(read.objects).toEqual(['file-abc', 'file-def']);
    expect(readOpenAiBatch(jsonl(line('d', chat({ max_tokens: 5 }))), reading()).objects).toEqual([]);
  });
});

describe("an Anthropic Message Batches body is read request by request and sent with the user's identifier", () => {
  const messages = (over: Body = {}): Body => ({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Say hi.' }], ...over });
  const batch = (...params: Body[]) => ({ requests: params.map((p, i) => ({ custom_id: `req-${i}`, params: p })) });
  interface SentBody {
    requests: { custom_id: string; params: Body }[];
    [other: string]: unknown;
  }
  const sent = (body: Buffer) => JSON.parse(body.toString('utf8')) as SentBody;

  it("sets 'metadata.user_id' on every request, keeps its other metadata and the body's other fields, and keeps the requests in order", () => {
    const parsed = { ...batch(messages(), messages({ metadata: { user_id: 'spoofed', tag: 'keep' } }), messages({ system: 'Be brief.' })), note: 'kept' };
    const read = readAnthropicBatch(parsed, reading({ endUser: END_USER }));
    const body = sent(read.body);
    expect(body.note).toBe('kept');
    expect(body.requests.map((q) => q.custom_id)).toEqual(['req-0', 'req-1', 'req-2']);
    expect(body.requests[0]!.params).toEqual({ ...messages(), metadata: { user_id: END_USER } });
    expect(body.requests[1]!.params).toEqual(messages({ metadata: { user_id: END_USER, tag: 'keep' } }));
    expect(body.requests[2]!.params).toEqual({ ...messages({ system: 'Be brief.' }), metadata: { user_id: END_USER } });
  });

  it('sends the params as they were when no identifier is set', () => {
    const parsed = batch(messages(), messages({ max_tokens: 7 }));
    const body = sent(readAnthropicBatch(parsed, reading()).body);
    expect(body).toEqual(parsed);
  });

  it('sums the requests into one reservation at half the standard rates', () => {
    const params = [messages(), messages({ max_tokens: 400 })];
    const read = readAnthropicBatch(batch(...params), reading());
    const prompts = params.map((p) => estimatePromptTokens(Buffer.byteLength(JSON.stringify(p))));
    const standard = prices.cost('claude-sonnet-4-5', prompts[0]!, 100) + prices.cost('claude-sonnet-4-5', prompts[1]!, 400);
    expect(read.summary).toEqual({ endpoint: '/v1/messages', model: 'claude-sonnet-4-5', requests: 2, promptTokens: prompts[0]! + prompts[1]!, maxTokens: 500, reserveUsd: expect.closeTo(standard / 2, 15), uncapped: 0 });
  });

  it.each([
    ['a body without a requests array', { requests: 'all of them' }, /^the body must be \{"requests": /],
    ['a body that is not an object', [1], /^the body must be \{"requests": /],
    ['a request without params', { requests: [{ custom_id: 'a', params: messages() }, { custom_id: 'b' }] }, /^request 2 of the batch: 'params' must be the request, a JSON object$/],
    ['a request without a custom_id', { requests: [{ custom_id: 'a', params: messages() }, { params: messages() }] }, /^request 2 of the batch: 'custom_id' is required and must be a string$/],
    ['a custom_id used twice', { requests: [{ custom_id: 'a', params: messages() }, { custom_id: 'a', params: messages() }] }, /^request 2 of the batch: 'custom_id' 'a' is used twice; each request needs its own$/],
    ['a second model', batch(messages(), messages(), messages({ model: 'claude-haiku-4-5' })), /^request 3 of the batch: it asks for 'claude-haiku-4-5' where request 1 asks for 'claude-sonnet-4-5': .*send one batch per model$/],
    ['a streamed request', batch(messages(), messages({ stream: true })), /^request 2 of the batch: a request of a batch cannot stream/],
    ['an empty list of requests', { requests: [] }, /^the batch holds no requests$/],
  ])('refuses %s', (_what, parsed, message) => {
    const err = refusal(() => readAnthropicBatch(parsed, reading()));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });
});

describe('what a request sent as null is given by the gateway', () => {
  it('replaces a cap, a tag or an identifier sent as null, rather than adding one before it that the null would win over', () => {
    // One endpoint a file: the two are read apart.
    const [c] = sentLines(readOpenAiBatch(jsonl(line('c', chat({ max_completion_tokens: null }))), reading({ cap: true, endUser: END_USER })).file);
    expect(c!.body).toMatchObject({ max_completion_tokens: DEFAULT_MAX, safety_identifier: END_USER });
    const [r] = sentLines(readOpenAiBatch(jsonl(line('r', responses({ max_output_tokens: null, metadata: null }), '/v1/responses')), reading({ cap: true, endUser: END_USER })).file);
    expect(r!.body).toMatchObject({ max_output_tokens: DEFAULT_MAX, metadata: { keyward_user: USER } });
    const a = JSON.parse(readAnthropicBatch({ requests: [{ custom_id: 'x', params: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [], metadata: null } }] }, reading({ endUser: END_USER })).body.toString('utf8')) as { requests: Array<{ params: Body }> };
    expect(a.requests[0]!.params.metadata).toEqual({ user_id: END_USER });
  });
});

describe("a Gemini batch's inline requests", () => {
  const batchOf = (...requests: unknown[]) => ({ batch: { displayName: 'n', inputConfig: { requests: { requests } } } });
  const ask = (text: string, generationConfig?: Body) => ({ request: { contents: [{ role: 'user', parts: [{ text }] }], ...(generationConfig ? { generationConfig } : {}) }, metadata: { key: text } });

  it('reads each request as the generateContent call it would be, capping one that sets no cap, keeping the rest of the body', () => {
    const read = readGeminiBatch(batchOf(ask('a', { maxOutputTokens: 50, temperature: 0.1 }), ask('b')), 'gemini-2.5-flash', reading({ cap: true }));
    const sent = JSON.parse(read.body.toString('utf8')) as { batch: { displayName: string; inputConfig: { requests: { requests: Array<{ request: { generationConfig?: Body }; metadata: Body }> } } } };
    expect(sent.batch.displayName).toBe('n');
    expect(sent.batch.inputConfig.requests.requests.map((q) => [q.metadata.key, q.request.generationConfig])).toEqual([
      ['a', { maxOutputTokens: 50, temperature: 0.1 }],
      ['b', { maxOutputTokens: DEFAULT_MAX }],
    ]);
    expect(read.summary).toMatchObject({ endpoint: '/v1beta/models/gemini-2.5-flash:generateContent', model: 'gemini-2.5-flash', requests: 2, maxTokens: 50 + DEFAULT_MAX, uncapped: 0 });
  });

  it('refuses a request naming another model, a batch from a file, and a body that is not a batch, naming what is wrong', () => {
    expect(refusal(() => readGeminiBatch(batchOf(ask('a'), { request: { model: 'models/gemini-2.5-pro', contents: [] } }), 'gemini-2.5-flash', reading())).message).toMatch(/^request 2 of the batch: it names model 'models\/gemini-2.5-pro', the batch 'gemini-2.5-flash'/);
    expect(refusal(() => readGeminiBatch({ batch: { inputConfig: { fileName: 'files/x', requests: { requests: [] } } } }, 'gemini-2.5-flash', reading())).message).toMatch(/inline .* or in a file .*, one or the other/);
    expect(refusal(() => readGeminiBatch({ requests: [] }, 'gemini-2.5-flash', reading())).status).toBe(400);
    expect(refusal(() => readGeminiBatch(batchOf(ask('a')), 'gemini/../x', reading())).message).toMatch(/not a Gemini model id/);
  });
});

describe('a Gemini batch file, read chunk by chunk as it goes up', () => {
  const req = (text: string, config?: Body, key = 'k') => JSON.stringify({ key, request: { contents: [{ parts: [{ text }] }], ...(config ?? {}) } });
  /** Reads `file` cut at each of `cuts` (byte offsets), as its upload's chunks would bring it. */
  const readCut = (file: Buffer, cuts: number[]) => {
    let read = emptyGeminiFile();
    let from = 0;
    for (const at of [...cuts, file.length]) {
      read = readGeminiFile(read, file.subarray(from, at), at === file.length, DEFAULT_MAX);
      from = at;
    }
    return read;
  };

  it('reads the same requests wherever the chunks cut the lines, a character of several bytes included', () => {
    const file = Buffer.from([req('héllo wörld ✓', { generationConfig: { maxOutputTokens: 50 } }), req('second', { generation_config: { max_output_tokens: 70 } }), req('third')].join('\n') + '\n');
    const whole = readCut(file, []);
    expect(whole.costs.length / 3).toBe(3);
    // Each cap as given, camelCase or snake_case; the uncapped one reserved for the default and counted.
    expect([whole.costs[1], whole.costs[4], whole.costs[7]]).toEqual([50, 70, DEFAULT_MAX]);
    expect(whole.uncapped).toBe(1);
    const accent = file.indexOf(Buffer.from('é'));
    for (const cuts of [[accent + 1], [1, 2, 3], [file.indexOf(10)], [file.indexOf(10) + 1, file.length - 5], Array.from({ length: 20 }, (_, i) => (i + 1) * 9)]) {
      const read = readCut(file, cuts);
      expect([read.costs, read.uncapped, read.lines]).toEqual([whole.costs, whole.uncapped, whole.lines]);
      expect(read.carry).toBe('');
    }
  });

  it('reads a last line with no end when the file ends, and carries it until then', () => {
    const file = Buffer.from(`${req('one')}\n${req('two')}`);
    const partial = readGeminiFile(emptyGeminiFile(), file, false, DEFAULT_MAX);
    expect(partial.costs.length / 3).toBe(1);
    expect(Buffer.from(partial.carry, 'base64').toString()).toBe(req('two'));
    expect(readGeminiFile(partial, Buffer.alloc(0), true, DEFAULT_MAX).costs.length / 3).toBe(2);
  });

  it('refuses a line at fault with its number, counting the lines of earlier chunks', () => {
    const first = readGeminiFile(emptyGeminiFile(), Buffer.from(`${req('a')}\n\n${req('b')}\n`), false, DEFAULT_MAX);
    expect(() => readGeminiFile(first, Buffer.from('{"key": "c", "request": {"contents": 1}}\n'), false, DEFAULT_MAX)).toThrow(/^line 4 of the batch file: 'contents' is required/);
    expect(() => readGeminiFile(first, Buffer.from('not json\n'), false, DEFAULT_MAX)).toThrow(/^line 4 of the batch file is not JSON/);
    expect(() => readGeminiFile(first, Buffer.from('{"key": "c"}\n'), false, DEFAULT_MAX)).toThrow(/line 4 of the batch file: it must be \{"key"/);
  });

  it('names the stored objects its requests use, whichever chunk they come in', () => {
    const named = (uri: string) => JSON.stringify({ key: 'f', request: { contents: [{ parts: [{ file_data: { file_uri: uri, mime_type: 'text/plain' } }] }] } });
    const read = readCut(Buffer.from(`${named('files/aaa')}\n${req('x')}\n${named('https://generativelanguage.googleapis.com/v1beta/files/bbb')}\n`), [30, 200]);
    expect(read.objects.sort()).toEqual(['files/aaa', 'https://generativelanguage.googleapis.com/v1beta/files/bbb']);
  });

  it('is priced for the model a batch runs it with, each request at batch rates, and asks that the user may call it', () => {
    const read = readCut(Buffer.from(`${req('a', { generationConfig: { maxOutputTokens: 100 } })}\n${req('b', { generationConfig: { maxOutputTokens: 300 } })}\n`), []);
    const r = reading();
    const s = geminiFileSummary(read, 'gemini-2.5-flash', r);
    expect(r.asked).toEqual(['gemini-2.5-flash']);
    expect([s.requests, s.maxTokens, s.endpoint, s.uncapped]).toEqual([2, 400, '/v1beta/models/gemini-2.5-flash:generateContent', 0]);
    expect(s.reserveUsd).toBeCloseTo(prices.cost('gemini-2.5-flash', s.promptTokens, 400) * prices.tierFactor('gemini-2.5-flash', 'batch'), 12);
    expect(() => geminiFileSummary(emptyGeminiFile(), 'gemini-2.5-flash', r)).toThrow(/holds no requests/);
    expect(() => geminiFileSummary(read, 'models/../x', r)).toThrow(/not a Gemini model id/);
  });
});
