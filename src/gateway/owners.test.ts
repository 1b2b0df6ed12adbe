import { describe, expect, it } from 'vitest';
import type { SharedValues } from '../store/types.js';
import { emptyGeminiFile, readGeminiFile } from './batch-lines.js';
import { Owners, type OwnerRecord } from './owners.js';

/** A store every instance shares (Redis, or the SQLite file of a gateway alone), in memory. */
function sharedStore(): SharedValues & { raw: Map<string, Buffer> } {
  const raw = new Map<string, Buffer>();
  return { raw, get: async (k) => raw.get(k), set: (k, v) => void raw.set(k, v), delete: (k) => void raw.delete(k) };
}

describe('whose a file, batch or upload is, as another instance or a restarted gateway reads it back', () => {
  const read = readGeminiFile(emptyGeminiFile(), Buffer.from('{"key":"a","request":{"contents":[{"parts":[{"text":"hi"}]}]}}\n{"key":"b","req'), false, 1_000);
  const record: OwnerRecord = { user: 'u1', provider: 'gemini', key: 'gemini…abcd', upload: { path: '/upload/v1beta/files?upload_id=s1', bytes: 200, type: 'jsonl', lines: read }, geminiBatch: read };

  it('keeps every field of a record: an upload under way and the batch file it read', async () => {
    const shared = sharedStore();
    new Owners('upload', 60_000, shared).set('s1', record);
    expect(await new Owners('upload', 60_000, shared).get('s1')).toEqual(record);
  });

  it("keeps an OpenAI upload's parts: the bytes they hold, and each text part's ends", async () => {
    const shared = sharedStore();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const parts: OwnerRecord = {
      user: 'u1',
      provider: 'openai',
      key: 'openai…abcd',
      upload: { path: '/v1/uploads/upload_1', bytes: 9_000, type: 'text/plain', parts: { received: 8_300, ends: { part_a: { head: b64('short, kept whole') }, part_b: { head: b64('the start…'), tail: b64('…the end') } } } },
    };
    new Owners('upload', 60_000, shared).set('upload_1', parts);
    expect(await new Owners('upload', 60_000, shared).get('upload_1')).toEqual(parts);
    // A part's end that is not base64, or longer than the 8 KiB kept of a part, drops the upload rather than being read.
    for (const bad of [{ head: 'not base64!' }, { head: 'A'.repeat(10_928) }, { head: b64('x'), tail: 5 }, 'part']) {
      shared.raw.set('upload:upload_1', Buffer.from(JSON.stringify({ ...parts, upload: { ...parts.upload, parts: { received: 1, ends: { part_a: bad } } } })));
      expect(await new Owners('upload', 60_000, shared).get('upload_1')).toEqual({ user: 'u1', provider: 'openai', key: 'openai…abcd' });
    }
    shared.raw.set('upload:upload_1', Buffer.from(JSON.stringify({ ...parts, upload: { ...parts.upload, parts: { received: -1, ends: {} } } })));
    expect((await new Owners('upload', 60_000, shared).get('upload_1'))?.upload).toBeUndefined();
  });

  it('keeps a context cache for as long as it was asked, with its tokens, when its billed time ends and what its storage was billed today', async () => {
    const raw = new Map<string, { v: Buffer; ttl: number }>();
    const shared: SharedValues = { get: async (k) => raw.get(k)?.v, set: (k, v, ttl) => void raw.set(k, { v, ttl }), delete: (k) => void raw.delete(k) };
    const cache: OwnerRecord = { user: 'u1', provider: 'gemini', key: 'gemini…abcd', model: 'gemini-2.5-flash', cache: { tokens: 4_096, expires: Date.now() + 90 * 86_400_000, day: 'd20261130', dayUsd: 0.25 } };
    new Owners('cache', 60_000, shared).set('cachedContents/c1', cache, 90 * 86_400_000);
    expect(raw.get('cache:cachedContents/c1')!.ttl).toBe(90 * 86_400_000);
    expect(await new Owners('cache', 60_000, shared).get('cachedContents/c1')).toEqual(cache);
    for (const bad of [{ tokens: -1, expires: 1 }, { tokens: 1.5, expires: 1 }, { tokens: 1 }, 'cache', { tokens: 1, expires: 1, day: 20261130 }, { tokens: 1, expires: 1, dayUsd: -1 }, { tokens: 1, expires: 1, dayUsd: 'all' }]) {
      raw.set('cache:cachedContents/c1', { v: Buffer.from(JSON.stringify({ ...cache, cache: bad })), ttl: 1 });
      expect((await new Owners('cache', 60_000, shared).get('cachedContents/c1'))?.cache).toBeUndefined();
    }
  });

  it('drops what is not what it should be, rather than trusting it', async () => {
    const shared = sharedStore();
    shared.raw.set('upload:s1', Buffer.from(JSON.stringify({ ...record, upload: { path: 1 }, geminiBatch: { ...read, costs: [1, 2] } })));
    const got = await new Owners('upload', 60_000, shared).get('s1');
    expect(got).toEqual({ user: 'u1', provider: 'gemini', key: 'gemini…abcd' });
  });

  it('reads a record that changes from the shared store first, where another instance wrote its progress', async () => {
    const shared = sharedStore();
    const here = new Owners('upload', 60_000, shared);
    here.set('s1', record);
    const moved = { ...record, upload: { ...record.upload!, lines: { ...read, bytes: 150 } } };
    new Owners('upload', 60_000, shared).set('s1', moved);
    expect((await here.get('s1'))?.upload?.lines?.bytes).toBe(read.bytes);
    expect((await here.get('s1', true))?.upload?.lines?.bytes).toBe(150);
  });
});
