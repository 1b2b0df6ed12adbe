/**
 * A fake OpenAI Realtime endpoint (`/v1/realtime?model=…`, WebSocket) on a test server: it takes only
 * the provider keys it was given, opens with `session.created`, and answers each `response.create`
 * with a response whose `response.done` reports the usage the test set.
 */
import type { IncomingMessage, Server } from 'node:http';
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

export interface FakeRealtime {
  sessions: FakeRealtimeSession[];
  /** What the next responses report in `response.done`. */
  usage: Record<string, unknown>;
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

export function attachFakeRealtime(server: Server, keys: string[]): FakeRealtime {
  const wss = new WebSocketServer({ noServer: true });
  const state: FakeRealtime = {
    sessions: [],
    usage: SPOKEN_USAGE,
    transcriptionUsage: { type: 'tokens', total_tokens: 120, input_tokens: 100, input_token_details: { text_tokens: 0, audio_tokens: 100 }, output_tokens: 20 },
    refuse: [],
    holdResponses: false,
    close: () => {
      server.off('upgrade', onUpgrade);
      return new Promise((r) => wss.close(() => r()));
    },
  };
  let n = 0;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const auth = req.headers.authorization;
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
  server.on('upgrade', onUpgrade);
  return state;
}
