/** A WebSocket client for Realtime sessions through the gateway: the events it got, and waiting for the next of a type. */
import WebSocket from 'ws';

export interface Client {
  ws: WebSocket;
  events: Array<Record<string, unknown>>;
  /** Every frame the client received, as text. */
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string): Promise<Record<string, unknown>>;
  send(event: Record<string, unknown>): void;
}

export type OpenOptions = WebSocket.ClientOptions & { protocols?: string[] };

type Opened = { client: Client } | { status: number; body: string };

function open(url: string, options: OpenOptions = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    const events: Array<Record<string, unknown>> = [];
    const frames: string[] = [];
    const waiting: Array<{ type: string; done: (e: Record<string, unknown>) => void }> = [];
    ws.on('message', (data) => {
      const text = data.toString();
      frames.push(text);
      const e = JSON.parse(text) as Record<string, unknown>;
      events.push(e);
      for (const w of waiting.filter((x) => x.type === e.type)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.done(e);
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
    ws.once('open', () => {
      const next = (type: string) =>
        new Promise<Record<string, unknown>>((done, fail) => {
          const seen = events.find((e) => e.type === type && !taken.has(e));
          if (seen) {
            taken.add(seen);
            return done(seen);
          }
          const t = setTimeout(() => fail(new Error(`no ${type} event within 5 s`)), 5000);
          waiting.push({ type, done: (e) => (clearTimeout(t), taken.add(e), done(e)) });
        });
      const taken = new Set<Record<string, unknown>>();
      resolve({ client: { ws, events, frames, closed, next, send: (e) => ws.send(JSON.stringify(e)) } });
    });
  });
}

/** A session the gateway opened; throws with the refusal when it did not. */
export async function opened(url: string, options: OpenOptions = {}): Promise<Client> {
  const r = await open(url, options);
  if (!('client' in r)) throw new Error(`refused: ${r.status} ${r.body}`);
  return r.client;
}

/** The HTTP refusal of a session the gateway did not open; throws when it opened. */
export async function refused(url: string, options: OpenOptions = {}): Promise<{ status: number; body: string }> {
  const r = await open(url, options);
  if ('client' in r) {
    r.client.ws.close();
    throw new Error('the session opened');
  }
  return r;
}
