/**
 * A fake OpenAI Realtime endpoint (`/v1/realtime?model=…`, WebSocket) on a test server: it takes only
 * the provider keys it was given, opens with `session.created`, and answers each `response.create`
 * with a response whose `response.done` reports the usage the test set.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeRealtimeSession {
  url: string;
  authorization?: string;
  beta?: string;
  /** Events the gateway passed on from its client. */
  events: Array<Record<string, unknown>>;
  socket: WebSocket;
  closed: boolean;
  /** A session.update asked for input transcription. */
  transcribes?: boolean;
}

/** A browser's offer for a WebRTC call, as RTCPeerConnection.createOffer() starts one. */
export const OFFER = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=rtpmap:111 opus/48000/2', ''].join('\r\n');

/** A WebRTC call the fake opened (`POST /v1/realtime/calls`): no media, only its sideband's events. */
export interface FakeCall {
  id: string;
  authorization?: string;
  /** The form's fields as the gateway sent them. */
  sdp: string;
  session: Record<string, unknown>;
  /** Sideband WebSockets attached (`/v1/realtime?call_id=…`), with the key each came with. */
  sidebands: Array<{ socket: WebSocket; authorization?: string }>;
  hungUp: boolean;
  /** The caller spoke and the model answered: a response, its usage reported on the sideband. */
  respond(): void;
  /** A response begins and is left in progress until the gateway cancels it; returns its id. */
  begin(): string;
  /** The responses the gateway cancelled on the sideband, in order. */
  cancelled: string[];
  /** Cancelled responses report nothing until `answerCancels` (a provider slow to stop). */
  slowCancels: boolean;
  /** Each response cancelled and not yet answered reports what it produced. */
  answerCancels(): void;
  /** Whatever the caller's data channel did to the session, as the sideband hears it. */
  updated(session: Record<string, unknown>): void;
  /** The caller hung up: OpenAI closes the sideband. */
  endByCaller(): void;
}

export interface FakeRealtime {
  sessions: FakeRealtimeSession[];
  calls: FakeCall[];
  /** Statuses the next sideband attachments are refused with, in order. */
  refuseSideband: number[];
  /** Statuses the next calls are refused with, in order (OpenAI's error body). */
  refuseCall: number[];
  /** What the next responses report in `response.done`. */
  usage: Record<string, unknown>;
  /** What each Live turn reports in `usageMetadata`. */
  liveUsage: Record<string, unknown>;
  /** What a committed input's transcription reports (when the session transcribes). */
  transcriptionUsage: Record<string, unknown>;
  /** Responses are left in progress (an audio chunk, no end) until the gateway cancels them. */
  holdResponses: boolean;
  /** Statuses the next upgrades are refused with, in order. */
  refuse: number[];
  close(): Promise<void>;
}

/** The usage of a short spoken answer: mostly audio, some of the input cached. */
export const SPOKEN_USAGE = {
  total_tokens: 1300,
  input_tokens: 500,
  output_tokens: 800,
  input_token_details: { text_tokens: 200, audio_tokens: 300, image_tokens: 0, cached_tokens: 100, cached_tokens_details: { text_tokens: 100, audio_tokens: 0, image_tokens: 0 } },
  output_token_details: { text_tokens: 100, audio_tokens: 700 },
};

/** What a response cancelled as it began reports: a little text in, a little audio out. */
export const CUT_SHORT_USAGE = {
  total_tokens: 30,
  input_tokens: 20,
  output_tokens: 10,
  input_token_details: { text_tokens: 20, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
  output_token_details: { text_tokens: 0, audio_tokens: 10 },
};

/** A Live turn's usage: text and audio in, audio out. */
export const LIVE_USAGE = {
  promptTokenCount: 400,
  responseTokenCount: 600,
  totalTokenCount: 1000,
  promptTokensDetails: [
    { modality: 'TEXT', tokenCount: 100 },
    { modality: 'AUDIO', tokenCount: 300 },
  ],
  responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 600 }],
};

const LIVE = /^\/ws\/google\.ai\.generativelanguage\.v1(?:beta|alpha)\.GenerativeService\.BidiGenerateContent\?key=(.+)$/;

/** `keys`: OpenAI's, taken by `/v1/realtime`; `liveKeys`: Gemini's, taken by Live's path (in `?key=`, as Google's SDK sends them). */
export function attachFakeRealtime(server: Server, keys: string[], liveKeys: string[] = []): FakeRealtime {
  const wss = new WebSocketServer({ noServer: true });
  const state: FakeRealtime = {
    sessions: [],
    usage: SPOKEN_USAGE,
    liveUsage: LIVE_USAGE,
    transcriptionUsage: { type: 'tokens', total_tokens: 120, input_tokens: 100, input_token_details: { text_tokens: 0, audio_tokens: 100 }, output_tokens: 20 },
    refuse: [],
    holdResponses: false,
    calls: [],
    refuseSideband: [],
    refuseCall: [],
    close: () => {
      server.off('upgrade', onUpgrade);
      server.off('request', onRequest);
      for (const l of others) server.on('request', l);
      return new Promise((r) => wss.close(() => r()));
    },
  };
  let n = 0;
  const event = (e: Record<string, unknown>) => JSON.stringify({ event_id: `event_${++n}`, ...e });
  /** A call's cancelled responses not yet answered, by the call's id (`slowCancels`). */
  const unansweredCancels = new Map<string, string[]>();
  // Calls are answered here; every other request goes to the server's own handler.
  const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    const hangup = /^\/v1\/realtime\/calls\/([^/]+)\/hangup$/.exec(path);
    if (path !== '/v1/realtime/calls' && !hangup) return others.forEach((l) => l(req, res));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void answerCall(req, res, Buffer.concat(chunks), hangup?.[1]));
  };
  const answerCall = async (req: IncomingMessage, res: ServerResponse, body: Buffer, hangupId: string | undefined) => {
    const auth = req.headers.authorization;
    if (!keys.some((k) => auth === `Bearer ${k}`)) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}');
    }
    if (hangupId !== undefined) {
      const call = state.calls.find((c) => c.id === hangupId && !c.hungUp);
      if (!call) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"error":{"message":"no such call","type":"invalid_request_error"}}');
      }
      call.hungUp = true;
      for (const sb of call.sidebands) sb.socket.close(1000);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{}');
    }
    const refused = state.refuseCall.shift();
    if (refused !== undefined) {
      res.writeHead(refused, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: `the call was refused (${refused})`, type: 'invalid_request_error', code: null } }));
    }
    const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
    const id = `rtc_${randomUUID().replace(/-/g, '')}`;
    const sidebands: FakeCall['sidebands'] = [];
    const all = (e: Record<string, unknown>) => sidebands.forEach((sb) => sb.socket.send(event(e)));
    let r = 0;
    const unanswered: string[] = [];
    unansweredCancels.set(id, unanswered);
    const call: FakeCall = {
      id,
      authorization: auth,
      sdp: String(form.get('sdp')),
      session: JSON.parse(String(form.get('session') ?? '{}')) as Record<string, unknown>,
      sidebands,
      hungUp: false,
      respond() {
        const rid = `resp_${id}_${++r}`;
        all({ type: 'response.created', response: { id: rid, object: 'realtime.response', status: 'in_progress' } });
        all({ type: 'response.done', response: { id: rid, object: 'realtime.response', status: 'completed', output: [], usage: state.usage } });
      },
      begin() {
        const rid = `resp_${id}_${++r}`;
        all({ type: 'response.created', response: { id: rid, object: 'realtime.response', status: 'in_progress' } });
        return rid;
      },
      cancelled: [],
      slowCancels: false,
      answerCancels() {
        for (const rid of unanswered.splice(0)) all({ type: 'response.done', response: { id: rid, object: 'realtime.response', status: 'cancelled', output: [], usage: state.usage } });
      },
      updated(session) {
        all({ type: 'session.updated', session });
      },
      endByCaller() {
        call.hungUp = true;
        for (const sb of sidebands) sb.socket.close(1000);
      },
    };
    state.calls.push(call);
    res.writeHead(201, { 'content-type': 'application/sdp', location: `/v1/realtime/calls/${id}` });
    res.end(`v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=fake answer to ${call.sdp.length} bytes\r\n`);
  };
  server.on('request', onRequest);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const auth = req.headers.authorization;
    const live = LIVE.exec(req.url ?? '');
    if (live) return void liveSession(req, socket, head, decodeURIComponent(live[1]!));
    const callId = /^\/v1\/realtime\?call_id=([^&]+)$/.exec(req.url ?? '')?.[1];
    if (callId !== undefined) return void sideband(req, socket, head, callId);
    const status = state.refuse.shift() ?? (!req.url?.startsWith('/v1/realtime?model=') ? 404 : keys.some((k) => auth === `Bearer ${k}`) ? 0 : 401);
    if (status !== 0) {
      const body = JSON.stringify({ error: { message: `refused (${status})`, type: 'invalid_request_error' } });
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const model = new URL(req.url!, 'http://x').searchParams.get('model');
      const s: FakeRealtimeSession = { url: req.url!, authorization: auth, beta: req.headers['openai-beta'] as string | undefined, events: [], socket: ws, closed: false };
      state.sessions.push(s);
      ws.on('close', () => (s.closed = true));
      const send = (e: Record<string, unknown>) => ws.send(JSON.stringify({ event_id: `event_${++n}`, ...e }));
      send({ type: 'session.created', session: { object: 'realtime.session', model, type: 'realtime' } });
      const held: string[] = [];
      ws.on('message', (data) => {
        const e = JSON.parse(data.toString()) as Record<string, unknown>;
        s.events.push(e);
        if (e.type === 'session.update') {
          send({ type: 'session.updated', session: e.session });
          s.transcribes = JSON.stringify(e.session).includes('transcription');
        }
        if (e.type === 'input_audio_buffer.commit' && s.transcribes) {
          send({ type: 'input_audio_buffer.committed', item_id: 'item_1' });
          send({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: 'hello', usage: state.transcriptionUsage });
        }
        if (e.type === 'response.create') {
          const id = `resp_${n}`;
          send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress' } });
          send({ type: 'response.output_audio.delta', response_id: id, delta: Buffer.alloc(3000, 7).toString('base64') });
          if (state.holdResponses) {
            held.push(id);
            return;
          }
          send({ type: 'response.output_audio_transcript.delta', response_id: id, delta: 'Hello there' });
          send({ type: 'response.done', response: { id, object: 'realtime.response', status: 'completed', output: [], usage: state.usage } });
        }
        // A cancelled response reports what it produced, as OpenAI's do.
        if (e.type === 'response.cancel' && held.includes(e.response_id as string)) {
          held.splice(held.indexOf(e.response_id as string), 1);
          send({ type: 'response.done', response: { id: e.response_id, object: 'realtime.response', status: 'cancelled', output: [], usage: state.usage } });
        }
      });
    });
  };
  /** A call's sideband: taken with a key of the fake's, for a call it opened and not yet hung up. Cancelled responses report what they produced. */
  const sideband = (req: IncomingMessage, socket: Duplex, head: Buffer, id: string) => {
    const auth = req.headers.authorization;
    const call = state.calls.find((c) => c.id === id && !c.hungUp);
    const status = state.refuseSideband.shift() ?? (!keys.some((k) => auth === `Bearer ${k}`) ? 401 : !call ? 404 : 0);
    if (status !== 0 || !call) {
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      call.sidebands.push({ socket: ws, authorization: auth });
      ws.on('message', (data) => {
        const e = JSON.parse(data.toString()) as Record<string, unknown>;
        if (e.type !== 'response.cancel') return;
        call.cancelled.push(e.response_id as string);
        if (call.slowCancels) unansweredCancels.get(call.id)!.push(e.response_id as string);
        else ws.send(event({ type: 'response.done', response: { id: e.response_id, object: 'realtime.response', status: 'cancelled', output: [], usage: state.usage } }));
      });
    });
  };
  /** Gemini Live: `setupComplete` after the setup, and a spoken answer, its turn's end and its usage for each turn the client completes. */
  const liveSession = (req: IncomingMessage, socket: Duplex, head: Buffer, key: string) => {
    if (!liveKeys.includes(key)) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s: FakeRealtimeSession = { url: req.url!.replace(/key=.*/, 'key=…'), authorization: key, events: [], socket: ws, closed: false };
      state.sessions.push(s);
      ws.on('close', () => (s.closed = true));
      const send = (e: Record<string, unknown>) => ws.send(JSON.stringify(e));
      ws.on('message', (data) => {
        const e = JSON.parse(data.toString()) as Record<string, unknown>;
        s.events.push(e);
        if (e.setup) send({ setupComplete: {} });
        const content = e.clientContent as { turnComplete?: boolean } | undefined;
        if (content?.turnComplete) {
          send({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: Buffer.alloc(3000, 7).toString('base64') } }] } } });
          send({ serverContent: { turnComplete: true } });
          send({ usageMetadata: state.liveUsage });
        }
      });
    });
  };
  server.on('upgrade', onUpgrade);
  return state;
}
