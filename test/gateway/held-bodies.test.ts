import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { attachFakeBatches } from './helpers/fake-batches.js';
import { until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

/** A multipart upload of a text file of `size` bytes to /v1/files, as OpenAI's SDK sends one. */
function fileUpload(size: number): { body: Buffer; type: string } {
  const boundary = 'keyward-test-boundary';
  const head = `--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="notes.txt"\r\ncontent-type: text/plain\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.alloc(size, 'a'), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

describe('the request bodies held in memory at once are bounded (maxBufferedBytes): past it, a 503 to send again', () => {
  const s = gatewaySuite({ user: 'held-bodies', gateway: { maxBufferedBytes: 300_000 } });

  it('refuses an upload while others hold the room, takes it once they are done, and never counts a chat request', async () => {
    attachFakeBatches(s.upstream.server, s.keys);
    const token = s.tokenFor('uploader');
    const url = new URL('/v1/files', s.gw.origin);
    const post = async (size: number) => {
      const { body, type } = fileUpload(size);
      const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
      return { status: r.status, retry: r.headers.get('retry-after'), text: await r.text() };
    };
    // An upload that has sent 250 KB of its 400 KB and waits: the gateway holds what it sent.
    const slow = fileUpload(400_000);
    const open = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': slow.type, 'content-length': String(slow.body.length) } });
    open.on('error', () => undefined);
    open.write(slow.body.subarray(0, 250_000));
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    await until('a second upload is refused while the first holds the room', async () => (refused = await post(100_000)).status === 503);
    expect(refused!.retry).toBe('2');
    const heldNow = async () => Number(/^keyward_gateway_held_body_bytes (\d+)$/m.exec((await s.gw.gateway.metrics.scrape()).body)?.[1]);
    expect(await heldNow()).toBeGreaterThanOrEqual(250_000);
    expect(refused!.text).toMatch(/gateway_busy/);
    expect(refused!.text).toMatch(/maxBufferedBytes/);
    // A chat request is too small to be counted: it goes on.
    expect((await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).choices.length).toBe(1);
    // The slow one gone, its bytes are given back: the upload is taken.
    open.destroy();
    await until('the room is given back', async () => (await post(100_000)).status === 200);
    await until('nothing is held once the uploads are done', async () => (await heldNow()) === 0);
    // Larger alone than the bound: a 413 (sending it again would not help), and nothing is left held.
    const huge = await post(400_000);
    expect([huge.status, (JSON.parse(huge.text) as { error: { message: string } }).error.message]).toEqual([413, expect.stringMatching(/larger than all the gateway holds in memory at once \(300000 bytes, "maxBufferedBytes"/)]);
    await until('nothing is held after the refusal', async () => (await heldNow()) === 0);
  });

  it('warns when the bound is below the largest file the gateway accepts, which it would then always refuse', async () => {
    const small = await s.another({ maxBufferedBytes: 1_000_000, maxFileBytes: 2_000_000 });
    expect(small.logs.join('')).toMatch(/maxBufferedBytes is below the largest file or upload the gateway accepts/);
    // The defaults (512 MiB against 100 MiB files) say nothing.
    expect((await s.another({ maxBufferedBytes: undefined })).logs.join('')).not.toMatch(/maxBufferedBytes is below/);
  });
});
