/**
 * A fake OpenAI + Anthropic + Gemini API on 127.0.0.1 for gateway tests. It answers like the real APIs
 * (plain and SSE streams with usage), records every request, and checks that it received one of
 * the real provider keys (a request with any other credential gets 401 and is counted).
 * Faults are scripted per request: status codes, a reset before or mid-stream (or mid-way through a
 * JSON answer), a hanging answer, an answer whose body never ends, a web page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Response } from 'undici';
import { startHttpServer, type TestServer } from '../../helpers/http-server.js';
import { wav, wavSeconds } from './audio.js';

export type Fault =
  | { status: number; body?: string; retryAfter?: string }
  | { reset: 'before' | 'midstream' | 'midbody' }
  | { hang: true }
  /** This status, then a body that never ends, as fast as the connection takes it. */
  | { endless: number }
  /** A web page with this status, as a website or a login page would answer. */
  | { page: number }
  /** Answers normally, with this delay between streamed chunks. */
  | { chunkDelayMs: number };

export interface SeenRequest {
  path: string;
  /** The path with its query. */
  url: string;
  method: string;
  /** Which configured key authenticated it (index), or -1. */
  keyIndex: number;
  provider: 'openai' | 'anthropic' | 'gemini';
  body: Record<string, unknown> | undefined;
  /** An upload's text fields, and its file's bytes. */
  form?: { fields: Record<string, string>; file?: Buffer; fileName?: string; images: Buffer[]; mask?: Buffer };
  headers: IncomingMessage['headers'];
}

export interface FakeUpstreamOptions {
  openaiKeys: string[];
  anthropicKeys: string[];
  geminiKeys?: string[];
  /** Thinking tokens Gemini reports (billed as output). */
  thoughtTokens?: number;
  /** Prompt tokens reported for every request. */
  promptTokens?: number;
  /** Output tokens produced when the request sets no maximum. */
  outputTokens?: number;
  /** Delay between streamed chunks (ms). */
  chunkDelayMs?: number;
  /** Report usage in streams (OpenAI: only when include_usage was asked). */
  reportUsage?: boolean;
  /** Seconds heard in an uploaded file that is not WAV (default 1). */
  audioSeconds?: number;
  /** Prompt tokens reported as read from the prompt cache (OpenAI chat, Anthropic): part of promptTokens. */
  cachedTokens?: number;
  /** Prompt tokens Anthropic reports written to its cache for 5 minutes, and for an hour: part of promptTokens. */
  cacheWrites?: { fiveMinutes: number; hour: number };
}

export interface FakeUpstream extends TestServer {
  openaiBase: string;
  anthropicBase: string;
  geminiBase: string;
  seen: SeenRequest[];
  badAuth: number;
  /** Streams the client (the gateway) hung up on before the end. */
  aborted: number;
  /** Streamed events written, over all requests. */
  eventsWritten: number;
  faults: Fault[];
  /** Queues faults for the next requests, in order. */
  fail(...f: Fault[]): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeUpstream(o: FakeUpstreamOptions): Promise<FakeUpstream> {
  const promptTokens = o.promptTokens ?? 12;
  const defaultOut = o.outputTokens ?? 5;
  const chunkDelay = o.chunkDelayMs ?? 0;
  const reportUsage = o.reportUsage ?? true;
  const cached = o.cachedTokens ?? 0;
  const writes = o.cacheWrites ?? { fiveMinutes: 0, hour: 0 };
  const chatUsage = (out: number) => ({ prompt_tokens: promptTokens, completion_tokens: out, total_tokens: promptTokens + out, ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}) });
  const claudeInput = () => {
    const written = writes.fiveMinutes + writes.hour;
    if (!cached && !written) return { input_tokens: promptTokens };
    return { input_tokens: promptTokens - cached - written, cache_read_input_tokens: cached, cache_creation_input_tokens: written, cache_creation: { ephemeral_5m_input_tokens: writes.fiveMinutes, ephemeral_1h_input_tokens: writes.hour } };
  };
  const state = { seen: [] as SeenRequest[], badAuth: 0, aborted: 0, eventsWritten: 0, faults: [] as Fault[], containers: 0 };

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks);
    const text = rawBody.toString('utf8');
    let body: Record<string, unknown> | undefined;
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    let form: SeenRequest['form'];
    const ctype = String(req.headers['content-type'] ?? '');
    if (ctype.startsWith('multipart/form-data')) {
      const fd = await new Response(rawBody, { headers: { 'content-type': ctype } }).formData();
      form = { fields: {}, images: [] };
      for (const [k, v] of fd) {
        if (typeof v === 'string') form.fields[k] = v;
        else if (k === 'image' || k === 'image[]') form.images.push(Buffer.from(await v.arrayBuffer()));
        else if (k === 'mask') form.mask = Buffer.from(await v.arrayBuffer());
        else {
          form.file = Buffer.from(await v.arrayBuffer());
          form.fileName = v.name;
        }
      }
    }
    const path = (req.url ?? '').split('?')[0]!;
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    // Gemini (under /v1beta/openai/) and Anthropic serve OpenAI's API too, taking the key as Bearer, as their docs say.
    const compat = path.startsWith('/v1beta/openai/') ? 'gemini' : bearer !== '' && o.anthropicKeys.includes(bearer) ? 'anthropic' : undefined;
    const provider = compat ?? (path.startsWith('/v1beta/') || req.headers['x-goog-api-key'] !== undefined ? 'gemini' : path === '/v1/messages' || req.headers['x-api-key'] !== undefined ? 'anthropic' : 'openai');
    const cred = compat ? bearer : provider === 'gemini' ? String(req.headers['x-goog-api-key'] ?? '') : provider === 'anthropic' ? String(req.headers['x-api-key'] ?? '') : bearer || String(req.headers['api-key'] ?? '');
    const keys = provider === 'gemini' ? (o.geminiKeys ?? []) : provider === 'anthropic' ? o.anthropicKeys : o.openaiKeys;
    const keyIndex = keys.indexOf(cred);
    state.seen.push({ path, url: req.url ?? '', method: req.method ?? '', keyIndex, provider, body, form, headers: req.headers });
    if (keyIndex === -1) {
      state.badAuth++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(provider === 'gemini' ? '{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}' : provider === 'anthropic' ? '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}' : '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}');
      return;
    }
    const fault = state.faults.shift();
    if (fault && 'status' in fault) {
      const h: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter) h['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, h);
      res.end(fault.body ?? JSON.stringify({ error: { message: `fake upstream failure ${fault.status}`, type: 'server_error' } }));
      return;
    }
    if (fault && 'reset' in fault && fault.reset === 'before') {
      req.socket.destroy();
      return;
    }
    if (fault && 'hang' in fault) return; // never answers
    if (fault && 'page' in fault) {
      res.writeHead(fault.page, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><title>Welcome</title></head><body><h1>Sign in</h1></body></html>');
      return;
    }
    if (fault && 'endless' in fault) {
      res.writeHead(fault.endless, { 'content-type': 'application/json' });
      const chunk = 'z'.repeat(64 * 1024);
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
      return;
    }
    if (fault && 'reset' in fault && fault.reset === 'midbody') {
      // A JSON answer cut off after its headers and half its body.
      res.end = ((chunk?: unknown) => {
        const text = typeof chunk === 'string' ? chunk : '';
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setTimeout(() => req.socket.destroy(), 5);
        return res;
      }) as typeof res.end;
    }
    // Gemini serves OpenAI's API under /v1beta/openai/.
    const api = path.startsWith('/v1beta/openai/') ? path.replace('/v1beta/openai/', '/v1/') : path;
    const midstreamReset = fault !== undefined && 'reset' in fault && fault.reset === 'midstream';
    const stream = body?.stream === true;
    const max = Number(body?.max_tokens ?? body?.max_completion_tokens ?? body?.max_output_tokens ?? defaultOut);
    const out = Math.min(defaultOut, max);
    const model = String(body?.model ?? 'unknown');

    if (path === '/v1/models' && req.method === 'GET' && provider === 'anthropic') {
      const ids = ['claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-1'];
      const data = ids.map((id, i) => ({ type: 'model', id, display_name: id, created_at: `2025-0${i + 1}-01T00:00:00Z` }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data, has_more: false, first_id: ids[0], last_id: ids.at(-1) }));
      return;
    }
    if (path === '/v1/models' && req.method === 'GET') {
      const ids = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-haiku-4-5'];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1, owned_by: 'fake' })) }));
      return;
    }
    if (api === '/v1/embeddings') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const vector = [0.1, 0.2, 0.3];
      const embedding = body?.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding }], model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }));
      return;
    }
    if (api === '/v1/moderations') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'modr-fake', model: String(body?.model ?? 'omni-moderation-latest'), results: [{ flagged: false, categories: {}, category_scores: {} }] }));
      return;
    }
    const events: string[] = [];
    // A Realtime client secret, as OpenAI mints one (ten minutes unless asked otherwise).
    if (api === '/v1/realtime/client_secrets') {
      const seconds = Number((body?.expires_after as { seconds?: number } | undefined)?.seconds ?? 600);
      const session = (body?.session ?? { type: 'realtime', model: 'gpt-realtime' }) as Record<string, unknown>;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: `ek_${'f'.repeat(32)}`, expires_at: Math.floor(Date.now() / 1000) + seconds, session: { ...session, id: 'sess_fake', object: 'realtime.session' } }));
      return;
    }
    // Speech to text: Whisper reports the seconds heard, the GPT-4o models tokens (10 a second heard); `text` answers report nothing.
    if (api === '/v1/audio/transcriptions' || api === '/v1/audio/translations') {
      const f = form?.fields ?? {};
      const m = f.model ?? 'unknown';
      const seconds = Math.ceil(form?.file ? (wavSeconds(form.file) ?? o.audioSeconds ?? 1) : 0);
      const transcript = `fake transcript of ${seconds} seconds`;
      const usage = m.startsWith('whisper') ? { type: 'duration', seconds } : { type: 'tokens', input_tokens: seconds * 10, output_tokens: 7, total_tokens: seconds * 10 + 7 };
      const format = f.response_format ?? 'json';
      if (f.stream === 'true' && !m.startsWith('whisper')) {
        for (const word of transcript.split(' ')) events.push(`data: ${JSON.stringify({ type: 'transcript.text.delta', delta: `${word} ` })}\n\n`);
        events.push(`data: ${JSON.stringify({ type: 'transcript.text.done', text: transcript, ...(reportUsage ? { usage } : {}) })}\n\n`);
      } else if (format === 'text' || format === 'srt' || format === 'vtt') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(transcript);
        return;
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        const segments = [
          { id: 0, start: 0, end: seconds / 2, text: ' fake transcript' },
          { id: 1, start: seconds / 2, end: seconds, text: ` of ${seconds} seconds` },
        ];
        res.end(JSON.stringify({ text: transcript, ...(format === 'verbose_json' ? { task: 'transcribe', language: 'english', duration: seconds, segments } : {}), ...(reportUsage ? { usage } : {}) }));
        return;
      }
    }
    // Text to speech: a WAV or PCM file of about 15 characters a second; mp3 (the default) is bytes no player would take.
    if (api === '/v1/audio/speech') {
      const input = String(body?.input ?? '');
      const seconds = Math.max(1, Math.round(input.length / 15));
      const format = String(body?.response_format ?? 'mp3');
      if (body?.stream_format === 'sse') {
        events.push(`data: ${JSON.stringify({ type: 'speech.audio.delta', audio: Buffer.alloc(64).toString('base64') })}\n\n`);
        events.push(`data: ${JSON.stringify({ type: 'speech.audio.done', ...(reportUsage ? { usage: { input_tokens: promptTokens, output_tokens: seconds * 20, total_tokens: promptTokens + seconds * 20 } } : {}) })}\n\n`);
      } else {
        const file = format === 'wav' ? wav(seconds, 24_000) : format === 'pcm' ? Buffer.alloc(48_000 * seconds) : Buffer.from('not really mp3 '.repeat(100));
        res.writeHead(200, { 'content-type': format === 'wav' ? 'audio/wav' : format === 'pcm' ? 'audio/pcm' : 'audio/mpeg' });
        // In two writes, as a file streamed from the provider comes.
        res.write(file.subarray(0, 100));
        await sleep(5);
        res.end(file.subarray(100));
        return;
      }
    }
    // gpt-image models report usage (272 image tokens a low-quality square image here); DALL·E reports none.
    if (api === '/v1/images/generations') {
      const n = Number(body?.n ?? 1);
      const usage = model.startsWith('gpt-image') && reportUsage ? { input_tokens: promptTokens, output_tokens: 272 * n, total_tokens: promptTokens + 272 * n, input_tokens_details: { text_tokens: promptTokens, image_tokens: 0 } } : undefined;
      const image = Buffer.from('fake image bytes').toString('base64');
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ created: 1, data: Array.from({ length: n }, () => ({ b64_json: image })), ...(usage ? { usage } : {}) }));
        return;
      }
      events.push(`event: image_generation.partial_image\ndata: ${JSON.stringify({ type: 'image_generation.partial_image', b64_json: image, partial_image_index: 0 })}\n\n`);
      events.push(`event: image_generation.completed\ndata: ${JSON.stringify({ type: 'image_generation.completed', b64_json: image, ...(usage ? { usage } : {}) })}\n\n`);
    }
    // Edits and variations of uploaded images: a GPT image model bills each input image (323 image tokens here) and reports it; DALL·E reports nothing.
    if (api === '/v1/images/edits' || api === '/v1/images/variations') {
      const f = form?.fields ?? {};
      const m = f.model ?? 'dall-e-2';
      const n = Number(f.n ?? 1);
      const images = form?.images.length ?? 0;
      const text = Math.ceil((f.prompt ?? '').length / 4);
      const usage = m.startsWith('gpt-image') && reportUsage ? { input_tokens: text + 323 * images, output_tokens: 272 * n, total_tokens: text + 323 * images + 272 * n, input_tokens_details: { text_tokens: text, image_tokens: 323 * images } } : undefined;
      const image = Buffer.from(`edited ${images} image(s)`).toString('base64');
      if (f.stream !== 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ created: 1, data: Array.from({ length: n }, () => ({ b64_json: image })), ...(usage ? { usage } : {}) }));
        return;
      }
      events.push(`event: image_edit.partial_image\ndata: ${JSON.stringify({ type: 'image_edit.partial_image', b64_json: image, partial_image_index: 0 })}\n\n`);
      events.push(`event: image_edit.completed\ndata: ${JSON.stringify({ type: 'image_edit.completed', b64_json: image, ...(usage ? { usage } : {}) })}\n\n`);
    }
    // The tier OpenAI processed the request in, as its answers say: the one asked for, else standard.
    const tier = body?.service_tier === 'priority' || body?.service_tier === 'flex' ? body.service_tier : 'default';
    // A web search tool in the request: the model runs two searches (OpenAI's web_search_call items, Anthropic's server_tool_use).
    const searches = Array.isArray(body?.tools) && body.tools.some((t) => typeof (t as { type?: unknown }).type === 'string' && String((t as { type: string }).type).startsWith('web_search')) ? 2 : 0;
    const serverTools = () => (searches > 0 ? { server_tool_use: { web_search_requests: searches } } : {});
    // Anthropic's fast mode, asked for with speed: "fast", is reported in the message's usage (a stream's message_start).
    const speed = () => (body?.speed === 'fast' ? { speed: 'fast' } : {});
    const gem = /^\/v1(?:beta)?\/models\/([^/:]+):(\w+)$/.exec(path);
    // Gemini Live's ephemeral token, as Google mints one: its name is the credential.
    if (provider === 'gemini' && path === '/v1alpha/auth_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: `auth_tokens/${'e'.repeat(24)}` }));
      return;
    }
    if (provider === 'gemini' && path.endsWith('/models') && req.method === 'GET') {
      const ids = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001'];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ models: ids.map((id) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ['generateContent'] })) }));
      return;
    }
    if (gem && gem[2] === 'countTokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ totalTokens: promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }] }));
      return;
    }
    if (gem && (gem[2] === 'embedContent' || gem[2] === 'batchEmbedContents')) {
      const values = Array.from({ length: 768 }, (_, i) => i / 768);
      const n = Array.isArray(body?.requests) ? body.requests.length : 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(gem[2] === 'embedContent' ? { embedding: { values } } : { embeddings: Array.from({ length: n }, () => ({ values })) }));
      return;
    }
    if (events.length > 0) {
      // An image, transcript or speech stream, written below.
    } else if (gem && (gem[2] === 'generateContent' || gem[2] === 'streamGenerateContent')) {
      const gc = (body?.generationConfig ?? {}) as { maxOutputTokens?: number };
      const n = Math.min(defaultOut, gc.maxOutputTokens ?? defaultOut);
      const thoughts = o.thoughtTokens ?? 0;
      // An image model draws: all but two of its output tokens are a picture's (the rest, its caption).
      const drawn = (k: number) => (gem[1]!.includes('-image') && k > 2 ? { candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: k - 2 }, { modality: 'TEXT', tokenCount: 2 }] } : {});
      const usage = (k: number) => ({ promptTokenCount: promptTokens, candidatesTokenCount: k, ...drawn(k), ...(thoughts ? { thoughtsTokenCount: thoughts } : {}), totalTokenCount: promptTokens + k + thoughts });
      // With Google Search as a tool, the answer is grounded: its last candidate says which queries ran.
      const grounding = Array.isArray(body?.tools) && body.tools.some((t) => typeof t === 'object' && t !== null && 'googleSearch' in t) ? { groundingMetadata: { webSearchQueries: ['keyward gateway', '', 'keyward gateway', 'keyward docs'], groundingChunks: [{ web: { uri: 'https://example.com', title: 'example' } }] } } : {};
      const candidate = (text: string, done: boolean) => ({ content: { parts: [{ text }], role: 'model' }, index: 0, ...(done ? { finishReason: 'STOP', ...grounding } : {}) });
      if (gem[2] === 'generateContent') {
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ candidates: [candidate('tok'.repeat(n), true)], usageMetadata: reportUsage ? usage(n) : undefined, modelVersion: gem[1], responseId: 'fake' }));
        return;
      }
      // As Google sends them: every chunk carries the usage so far, events end in CRLF CRLF.
      for (let i = 0; i < n; i++) {
        events.push(`data: ${JSON.stringify({ candidates: [candidate('tok', i === n - 1)], ...(reportUsage ? { usageMetadata: usage(i + 1) } : {}), modelVersion: gem[1], responseId: 'fake' })}\r\n\r\n`);
      }
    } else if (api === '/v1/chat/completions') {
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'tok'.repeat(out) }, finish_reason: 'stop' }], usage: chatUsage(out), service_tier: tier }));
        return;
      }
      const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, service_tier: tier };
      const inc = (body?.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      for (let i = 0; i < out; i++) events.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: 'tok' } : { content: 'tok' }, finish_reason: null }], ...(inc ? { usage: null } : {}) })}\n\n`);
      events.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...(inc ? { usage: null } : {}) })}\n\n`);
      if (inc && reportUsage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage: chatUsage(out) })}\n\n`);
      events.push('data: [DONE]\n\n');
    } else if (api === '/v1/completions') {
      // Legacy completions: one choice per prompt of an array, as OpenAI answers.
      const prompts = Array.isArray(body?.prompt) && typeof body.prompt[0] !== 'number' ? body.prompt.length : 1;
      const base = { id: 'cmpl-fake', object: 'text_completion', created: 1, model };
      const usage = { prompt_tokens: promptTokens, completion_tokens: out * prompts, total_tokens: promptTokens + out * prompts };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...base, choices: Array.from({ length: prompts }, (_, index) => ({ index, text: 'tok'.repeat(out), finish_reason: 'length', logprobs: null })), usage }));
        return;
      }
      const inc = (body?.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      for (let i = 0; i < out; i++) events.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, text: 'tok', finish_reason: i === out - 1 ? 'length' : null, logprobs: null }], ...(inc ? { usage: null } : {}) })}\n\n`);
      if (inc && reportUsage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
      events.push('data: [DONE]\n\n');
    } else if (path === '/v1/responses') {
      const usage = { input_tokens: promptTokens, output_tokens: out, total_tokens: promptTokens + out };
      // With a search tool, the model searches the web twice before it answers; with file_search, its files three times.
      const searched = searches > 0 ? Array.from({ length: searches }, (_, i) => ({ type: 'web_search_call', id: `ws_${i}`, status: 'completed', action: { type: 'search', query: 'q' } })) : [];
      const filed = Array.isArray(body?.tools) && body.tools.some((t) => (t as { type?: unknown }).type === 'file_search') ? Array.from({ length: 3 }, (_, i) => ({ type: 'file_search_call', id: `fs_${i}`, status: 'completed', queries: ['q'], results: null })) : [];
      // With a code interpreter, the code runs in a new container, or in the last one when the request continues a response.
      const coding = Array.isArray(body?.tools) && body.tools.some((t) => (t as { type?: unknown }).type === 'code_interpreter');
      if (coding && body?.previous_response_id === undefined) state.containers++;
      const ran = coding ? [{ type: 'code_interpreter_call', id: `ci_${state.containers}`, status: 'completed', code: 'print(1)', container_id: `cntr_fake${state.containers}`, outputs: [] }] : [];
      // With the image tool, the model draws twice: each image 1.5 MB of base64, so that the final event is larger than what a stream's meter keeps.
      const drawing = Array.isArray(body?.tools) && body.tools.some((t) => (t as { type?: unknown }).type === 'image_generation');
      const drawn = drawing ? [0, 1].map((i) => ({ type: 'image_generation_call', id: `ig_${i}`, status: 'completed', result: 'A'.repeat(1_500_000) })) : [];
      const response = { id: 'resp_fake', object: 'response', created_at: 1, status: 'completed', model, service_tier: tier, output: [...searched, ...filed, ...ran, ...drawn, { type: 'message', id: 'msg_fake', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'tok'.repeat(out), annotations: [] }] }], usage };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(response));
        return;
      }
      let seq = 0;
      events.push(`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: seq++, response: { ...response, status: 'in_progress', output: [], usage: null } })}\n\n`);
      for (let i = 0; i < out; i++) events.push(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg_fake', output_index: 0, content_index: 0, delta: 'tok' })}\n\n`);
      for (const d of drawn) events.push(`event: response.image_generation_call.completed\ndata: ${JSON.stringify({ type: 'response.image_generation_call.completed', sequence_number: seq++, item_id: d.id, output_index: 0 })}\n\n`);
      events.push(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: seq, response: reportUsage ? response : { ...response, usage: null } })}\n\n`);
    } else if (path === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: promptTokens }));
      return;
    } else if (path === '/v1/messages') {
      const msg = { id: 'msg_fake', type: 'message', role: 'assistant', model, stop_reason: 'end_turn', stop_sequence: null };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...msg, content: [{ type: 'text', text: 'tok'.repeat(out) }], usage: { ...claudeInput(), output_tokens: out, ...serverTools(), ...speed() } }));
        return;
      }
      const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      events.push(ev('message_start', { message: { ...msg, content: [], stop_reason: null, usage: { ...(reportUsage ? claudeInput() : { input_tokens: 0 }), output_tokens: 1, ...speed() } } }));
      events.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
      for (let i = 0; i < out; i++) events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'tok' } }));
      events.push(ev('content_block_stop', { index: 0 }));
      if (reportUsage) events.push(ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: out, ...serverTools() } }));
      events.push(ev('message_stop', {}));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found","type":"not_found"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < events.length; i++) {
      if (midstreamReset && i === Math.floor(events.length / 2)) {
        req.socket.destroy();
        return;
      }
      if (res.destroyed) {
        state.aborted++;
        return;
      }
      res.write(events[i]);
      state.eventsWritten++;
      const delay = fault !== undefined && 'chunkDelayMs' in fault ? fault.chunkDelayMs : chunkDelay;
      if (delay) await sleep(delay);
    }
    res.end();
  }

  const server = await startHttpServer((req, res) => void handler(req, res));
  const fake = server as FakeUpstream;
  Object.defineProperties(fake, {
    seen: { get: () => state.seen },
    badAuth: { get: () => state.badAuth },
    aborted: { get: () => state.aborted },
    eventsWritten: { get: () => state.eventsWritten },
    faults: { get: () => state.faults },
  });
  fake.openaiBase = `${server.origin}/v1`;
  fake.anthropicBase = server.origin;
  fake.geminiBase = server.origin;
  fake.fail = (...f: Fault[]) => void state.faults.push(...f);
  return fake;
}
