/**
 * OpenAI's stored responses, added to a fake upstream's server: `POST /v1/responses` keeps each
 * response (unless `store: false`) with its metadata, and refuses a `previous_response_id` it does not
 * keep. With `background: true` it answers at once (`queued`, no usage) and the response runs on until
 * the test finishes it, whether or not anyone still listens; its stream (`stream: true`) sends the
 * first events and waits. `GET /v1/responses/{id}` (also `?stream=true`), `…/cancel`, `DELETE` and
 * `…/input_items` answer as OpenAI's do, each only to one of the fake's keys.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface FakeBackgroundResponse {
  id: string;
  model: string;
  status: 'queued' | 'in_progress' | 'completed' | 'cancelled' | 'failed';
  usage: Record<string, number> | null;
  background: boolean;
  metadata: Record<string, unknown>;
  /** The response it continued. */
  previous?: string;
  /** The key it was started with (its authorization header). */
  authorization: string;
  deleted: boolean;
  /** Its stream's client left before the end (the response ran on). */
  streamLeft: boolean;
  /** The model is done: the response completes with this usage. */
  finish(usage: { input_tokens: number; output_tokens: number }): void;
}

export interface FakeConversation {
  id: string;
  metadata: Record<string, unknown>;
  items: Array<Record<string, unknown>>;
  authorization: string;
}

export interface FakeBackground {
  responses: FakeBackgroundResponse[];
  /** OpenAI's conversations (`/v1/conversations`), each with its items and the key that made it. */
  conversations: FakeConversation[];
  /** Each request the fake took for a response (method, path with query, authorization, the body sent). */
  requests: Array<{ method: string; url: string; authorization?: string; body?: Record<string, unknown> }>;
  /** What a response cancelled mid-way reports. */
  cancelUsage: { input_tokens: number; output_tokens: number };
  close(): void;
}

export function attachFakeBackground(server: Server, keys: string[]): FakeBackground {
  const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const streams = new Map<string, Set<ServerResponse>>();
  let n = 0;
  let seq = 0;
  const objectOf = (r: FakeBackgroundResponse) => ({
    id: r.id,
    object: 'response',
    created_at: 1,
    status: r.status,
    background: r.background,
    model: r.model,
    metadata: r.metadata,
    previous_response_id: r.previous ?? null,
    output: r.status === 'completed' ? [{ type: 'message', id: 'msg_bg', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'done', annotations: [] }] }] : [],
    usage: r.usage === null ? null : { ...r.usage, total_tokens: r.usage.input_tokens! + r.usage.output_tokens! },
  });
  const event = (type: string, r: FakeBackgroundResponse) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, response: objectOf(r) })}\n\n`;
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const openStream = (res: ServerResponse, r: FakeBackgroundResponse, first: string[]) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const e of first) res.write(e);
    if (r.status === 'completed' || r.status === 'cancelled') return res.end();
    const open = streams.get(r.id) ?? new Set();
    streams.set(r.id, open);
    open.add(res);
    res.on('close', () => {
      if (!res.writableFinished) r.streamLeft = true;
      open.delete(res);
    });
  };
  const state: FakeBackground = {
    responses: [],
    conversations: [],
    requests: [],
    cancelUsage: { input_tokens: 40, output_tokens: 7 },
    close() {
      server.off('request', onRequest);
      for (const l of others) server.on('request', l);
    },
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const object = /^\/v1\/responses\/([^/]+)(?:\/(cancel|input_items))?$/.exec(path);
    const conversation = /^\/v1\/conversations(?:\/([^/]+)(?:\/items(?:\/([^/]+))?)?)?$/.exec(path);
    if (conversation) return conversations(req, res, conversation, path.includes('/items'));
    if (path !== '/v1/responses' && !object) return others.forEach((l) => l(req, res));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const asked = path === '/v1/responses' ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : undefined;
      const auth = String(req.headers.authorization ?? '');
      state.requests.push({ method: req.method ?? '', url, authorization: auth, body: asked });
      if (!keys.some((k) => auth === `Bearer ${k}`)) return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
      if (asked !== undefined) {
        const previous = asked.previous_response_id as string | undefined;
        // A project's responses and conversations are reached with its keys alone.
        if (previous !== undefined && !state.responses.some((x) => x.id === previous && !x.deleted && x.authorization === auth)) return json(res, 400, { error: { message: `Previous response with id '${previous}' not found.`, type: 'invalid_request_error', param: 'previous_response_id' } });
        const conv = asked.conversation as string | { id?: string } | undefined;
        const convId = typeof conv === 'string' ? conv : conv?.id;
        if (convId !== undefined && !state.conversations.some((x) => x.id === convId && x.authorization === auth)) return json(res, 404, { error: { message: `Conversation with id '${convId}' not found.`, type: 'invalid_request_error', param: 'conversation' } });
        const r: FakeBackgroundResponse = {
          id: `resp_bg${++n}`,
          model: String(asked.model),
          status: 'queued',
          usage: null,
          background: asked.background === true,
          metadata: (asked.metadata as Record<string, unknown> | undefined) ?? {},
          ...(previous !== undefined ? { previous } : {}),
          authorization: auth,
          deleted: false,
          streamLeft: false,
          finish(usage) {
            r.status = 'completed';
            r.usage = usage;
            for (const s of streams.get(r.id) ?? []) s.end(event('response.completed', r));
          },
        };
        if (asked.store !== false) state.responses.push(r);
        // Not in the background: done before the answer.
        if (!r.background) r.finish({ input_tokens: 12, output_tokens: 5 });
        if (asked.stream === true && !r.background) return openStream(res, r, [event('response.created', { ...r, status: 'in_progress', usage: null }), event('response.completed', r)]);
        if (asked.stream === true) return openStream(res, r, [event('response.created', r), event('response.in_progress', { ...r, status: 'in_progress' })]);
        return json(res, 200, objectOf(r));
      }
      const r = state.responses.find((x) => x.id === object![1] && !x.deleted);
      if (!r) return json(res, 404, { error: { message: `Response with id '${object![1]}' not found.`, type: 'invalid_request_error' } });
      if (object![2] === 'cancel') {
        if (r.status === 'queued' || r.status === 'in_progress') {
          r.status = 'cancelled';
          r.usage = state.cancelUsage;
          for (const s of streams.get(r.id) ?? []) s.end(event('response.cancelled', r));
        }
        return json(res, 200, objectOf(r));
      }
      if (object![2] === 'input_items') return json(res, 200, { object: 'list', data: [{ id: 'msg_in', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], has_more: false });
      if (req.method === 'DELETE') {
        r.deleted = true;
        return json(res, 200, { id: r.id, object: 'response', deleted: true });
      }
      if (url.includes('stream=true')) return openStream(res, r, [event(r.status === 'completed' ? 'response.completed' : 'response.in_progress', r)]);
      json(res, 200, objectOf(r));
    });
  };
  let c = 0;
  const conversationObject = (x: FakeConversation) => ({ id: x.id, object: 'conversation', created_at: 1, metadata: x.metadata });
  const conversations = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, items: boolean) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw === '' ? undefined : (JSON.parse(raw) as Record<string, unknown>);
      const auth = String(req.headers.authorization ?? '');
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: auth, body });
      if (!keys.some((k) => auth === `Bearer ${k}`)) return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
      const [, id, item] = m;
      if (id === undefined) {
        const made: FakeConversation = { id: `conv_fake${++c}`, metadata: (body?.metadata as Record<string, unknown> | undefined) ?? {}, items: ((body?.items as Array<Record<string, unknown>> | undefined) ?? []).map((x, i) => ({ id: `msg_${i}`, ...x })), authorization: auth };
        state.conversations.push(made);
        return json(res, 200, conversationObject(made));
      }
      const x = state.conversations.find((y) => y.id === id && y.authorization === auth);
      if (x === undefined) return json(res, 404, { error: { message: `Conversation with id '${id}' not found.`, type: 'invalid_request_error' } });
      if (!items) {
        if (req.method === 'DELETE') {
          state.conversations.splice(state.conversations.indexOf(x), 1);
          return json(res, 200, { id, object: 'conversation.deleted', deleted: true });
        }
        if (req.method === 'POST') x.metadata = (body?.metadata as Record<string, unknown> | undefined) ?? {};
        return json(res, 200, conversationObject(x));
      }
      if (item !== undefined) {
        const found = x.items.find((y) => y.id === item);
        if (found === undefined) return json(res, 404, { error: { message: 'Item not found.', type: 'invalid_request_error' } });
        if (req.method === 'DELETE') {
          x.items.splice(x.items.indexOf(found), 1);
          return json(res, 200, conversationObject(x));
        }
        return json(res, 200, found);
      }
      if (req.method === 'POST') {
        const added = ((body?.items as Array<Record<string, unknown>> | undefined) ?? []).map((y, i) => ({ id: `msg_add${x.items.length + i}`, ...y }));
        x.items.push(...added);
        return json(res, 200, { object: 'list', data: added, has_more: false, first_id: added[0]?.id ?? null, last_id: added.at(-1)?.id ?? null });
      }
      json(res, 200, { object: 'list', data: x.items, has_more: false, first_id: x.items[0]?.id ?? null, last_id: x.items.at(-1)?.id ?? null });
    });
  };

  server.on('request', onRequest);
  return state;
}
