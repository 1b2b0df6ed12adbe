import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { PoolKey } from './keys.js';
import { openaiDialect } from './realtime-dialects.js';
import { RealtimeRelay, type SessionAccount } from './realtime-relay.js';

/** A connected pair on 127.0.0.1: the server's end and the client's. */
async function pair(servers: WebSocketServer[]): Promise<{ near: WebSocket; far: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await once(wss, 'listening');
  const far = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const [near] = (await once(wss, 'connection')) as [WebSocket];
  if (far.readyState !== WebSocket.OPEN) await once(far, 'open');
  return { near, far };
}

describe('RealtimeRelay', () => {
  const servers: WebSocketServer[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) {
      for (const c of s.clients) c.terminate();
      s.close();
    }
  });

  it("ends a session whose client stops reading, rather than queueing the provider's audio without bound", async () => {
    const client = await pair(servers);
    const upstream = await pair(servers);
    const outcomes: string[] = [];
    const account: SessionAccount = { reqId: 'r1', bill: async () => undefined, refuse: () => undefined, cover: async () => undefined, close: (o) => outcomes.push(o) };
    new RealtimeRelay(client.near, { socket: upstream.far, key: {} as PoolKey, early: [] }, openaiDialect(), account, pino({ level: 'silent' }), (t) => t, { maxQueued: 1024 * 1024 });
    client.far.pause();
    const chunk = JSON.stringify({ type: 'response.output_audio.delta', delta: 'A'.repeat(256 * 1024) });
    const closed = once(upstream.near, 'close');
    for (let i = 0; i < 400 && upstream.near.readyState === WebSocket.OPEN; i++) {
      upstream.near.send(chunk);
      await new Promise((r) => setImmediate(r));
    }
    const [code] = (await closed) as [number];
    expect(code).toBe(1011);
    await until(() => outcomes.length > 0);
    expect(outcomes).toEqual(['client_too_slow']);
  });

  it("holds the client's events while a response is billed, and drops them when the bill ends the session", async () => {
    const client = await pair(servers);
    const upstream = await pair(servers);
    const bills: Array<(end: { type: string; message: string } | undefined) => void> = [];
    const account: SessionAccount = { reqId: 'r3', bill: () => new Promise((r) => bills.push(r)), refuse: () => undefined, cover: async () => undefined, close: () => undefined };
    new RealtimeRelay(client.near, { socket: upstream.far, key: {} as PoolKey, early: [] }, openaiDialect(), account, pino({ level: 'silent' }), (t) => t);
    const seen: string[] = [];
    upstream.near.on('message', (d) => seen.push(JSON.parse(d.toString()).type as string));
    const got: string[] = [];
    client.far.on('message', (d) => got.push(JSON.parse(d.toString()).type as string));
    const done = JSON.stringify({ type: 'response.done', response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 4 } } });
    upstream.near.send(done);
    await until(() => got.includes('response.done') && bills.length === 1);
    client.far.send('{"type":"response.create","n":1}');
    client.far.send('{"type":"input_audio_buffer.append","n":2}');
    await new Promise((r) => setTimeout(r, 50));
    // Nothing reaches the provider while the first response is being billed…
    expect(seen).toEqual([]);
    bills[0]!(undefined);
    // …and all of it, in order, once the bill is settled.
    await until(() => seen.length === 2);
    expect(seen).toEqual(['response.create', 'input_audio_buffer.append']);
    upstream.near.send(done.replace('resp_1', 'resp_2'));
    await until(() => bills.length === 2);
    client.far.send('{"type":"response.create","n":3}');
    await new Promise((r) => setTimeout(r, 50));
    const closed = once(client.far, 'close');
    bills[1]!({ type: 'budget_exceeded', message: 'budget reached' });
    expect(((await closed) as [number])[0]).toBe(1008);
    expect(seen).toEqual(['response.create', 'input_audio_buffer.append']);
    expect(got).toContain('error');
  });

  it('passes events both ways, the early ones first, and bills each response once', async () => {
    const client = await pair(servers);
    const upstream = await pair(servers);
    const billed: unknown[] = [];
    const outcomes: string[] = [];
    const account: SessionAccount = { reqId: 'r2', bill: async (c) => void billed.push(c), refuse: () => undefined, cover: async () => undefined, close: (o) => outcomes.push(o) };
    const got: string[] = [];
    client.far.on('message', (d) => got.push(JSON.parse(d.toString()).type as string));
    const early: Array<[Buffer, boolean]> = [[Buffer.from('{"type":"session.created","session":{}}'), false]];
    new RealtimeRelay(client.near, { socket: upstream.far, key: {} as PoolKey, early }, openaiDialect(), account, pino({ level: 'silent' }), (t) => t);
    const seen: string[] = [];
    upstream.near.on('message', (d) => seen.push(d.toString()));
    client.far.send('{"type":"response.create"}');
    upstream.near.send(JSON.stringify({ type: 'response.done', response: { usage: { input_tokens: 3, output_tokens: 4 } } }));
    await until(() => got.length === 2 && seen.length === 1 && billed.length === 1);
    expect(got).toEqual(['session.created', 'response.done']);
    expect(billed).toEqual([{ kinds: expect.objectContaining({ tokensIn: 3, tokensOut: 4, audioIn: 3, audioOut: 4 }) }]);
    client.far.close();
    await until(() => outcomes.length > 0);
    expect(outcomes).toEqual(['ok']);
  });
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error('timed out');
}
