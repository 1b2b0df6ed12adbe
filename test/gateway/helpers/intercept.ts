/**
 * A fake of one more provider API put in front of a fake upstream's server: it answers the requests
 * it knows and hands every other to the listeners that were there before it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Puts `onRequest` before the server's listeners, which it is given to pass requests on to; `close` puts them back alone. */
export function intercept(server: Server, onRequest: (req: IncomingMessage, res: ServerResponse, others: readonly Listener[]) => void): { close(): void } {
  const others = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  const listener: Listener = (req, res) => onRequest(req, res, others);
  server.on('request', listener);
  return {
    close() {
      server.off('request', listener);
      for (const l of others) server.on('request', l);
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
