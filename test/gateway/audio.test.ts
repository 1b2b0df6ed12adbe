import { toFile } from 'openai';
import { FormData, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryLedger } from '../../src/store/memory.js';
import { wav } from './helpers/audio.js';
import { startFakeUpstream } from './helpers/fake-upstream.js';
import { startGateway } from './helpers/gateway.js';
import { bearer, post, until } from './helpers/http.js';
import { randomChars } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

/** List prices, USD per million units: Whisper's unit is a second heard, tts-1's a character spoken. */
const WHISPER = 100;
const TTS1 = 15;
const TRANSCRIBE = { input: 6, output: 10 };
const MINI_TTS = { input: 0.6, output: 12 };

describe("OpenAI's audio endpoints (speech to text, text to speech) through the OpenAI SDK", () => {
  // The JSON body limit is below a 3-second clip: uploads have a limit of their own.
  const s = gatewaySuite({ user: 'ada', upstream: { audioSeconds: 4 }, gateway: { maxBodyBytes: 50_000, maxUploadBytes: 200_000, aliases: { listen: 'whisper-1' } } });
  const { keys, dir, ledger, oa, rowsOf } = s;
  const seenByClient: string[] = [];
  const last = async (route: string, n: number) => {
    await until(`${n} ${route} calls are in the ledger`, () => rowsOf(route).length === n);
    return rowsOf(route).at(-1)!;
  };

  it('transcribes with Whisper: the file reaches the provider intact with the real key, billed by the seconds heard', async () => {
    const clip = wav(3);
    const r = await oa().audio.transcriptions.create({ file: await toFile(clip, 'clip.wav', { type: 'audio/wav' }), model: 'whisper-1' });
    seenByClient.push(JSON.stringify(r));
    expect(r.text).toBe('fake transcript of 3 seconds');
    const seen = s.upstream.seen.at(-1)!;
    expect(seen).toMatchObject({ provider: 'openai', path: '/v1/audio/transcriptions', keyIndex: 0 });
    expect(seen.form?.fields.model).toBe('whisper-1');
    expect(seen.form?.fileName).toBe('clip.wav');
    expect(seen.form?.file?.equals(clip)).toBe(true);
    const row = await last('transcription', 1);
    expect(row).toMatchObject({ provider: 'openai', model: 'whisper-1', tokensIn: 3, tokensOut: 0, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((3 * WHISPER) / 1e6, 12);
  });

  it('answers text, SRT and WebVTT (which report no usage) from the JSON it asks for instead, billed as the provider reports', async () => {
    const ask = async (response_format: 'text' | 'srt' | 'vtt') => oa().audio.transcriptions.create({ file: await toFile(wav(2.4), 'clip.wav'), model: 'whisper-1', response_format });
    expect(String(await ask('text'))).toBe('fake transcript of 3 seconds\n');
    expect(s.upstream.seen.at(-1)!.form?.fields.response_format).toBe('json');
    expect(String(await ask('srt'))).toBe('1\n00:00:00,000 --> 00:00:01,500\nfake transcript\n\n2\n00:00:01,500 --> 00:00:03,000\nof 3 seconds\n');
    expect(s.upstream.seen.at(-1)!.form?.fields.response_format).toBe('verbose_json');
    expect(String(await ask('vtt'))).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nfake transcript\n\n00:00:01.500 --> 00:00:03.000\nof 3 seconds\n');
    // The audio went on untouched in the rebuilt form; each call billed the 3 s the provider counted.
    expect(s.upstream.seen.at(-1)!.form?.file?.equals(wav(2.4))).toBe(true);
    await last('transcription', 4);
    for (const row of rowsOf('transcription').slice(1)) expect(row).toMatchObject({ model: 'whisper-1', tokensIn: 3, outcome: 'ok' });
  });

  it('translates with Whisper, and takes an alias for the model', async () => {
    const clip = wav(2);
    const r = await oa().audio.translations.create({ file: await toFile(clip, 'fr.wav'), model: 'listen' });
    expect(r.text).toBe('fake transcript of 2 seconds');
    const seen = s.upstream.seen.at(-1)!;
    expect(seen.path).toBe('/v1/audio/translations');
    // The form was rebuilt around the model the alias stands for, the audio untouched.
    expect(seen.form?.fields.model).toBe('whisper-1');
    expect(seen.form?.file?.equals(clip)).toBe(true);
    expect(await last('translation', 1)).toMatchObject({ model: 'whisper-1', tokensIn: 2, outcome: 'ok' });
  });

  it('bills the GPT-4o transcribers from the tokens their answers report, plain and streamed', async () => {
    const r = await oa().audio.transcriptions.create({ file: await toFile(wav(3), 'clip.wav'), model: 'gpt-4o-transcribe' });
    expect(r.text).toBe('fake transcript of 3 seconds');
    const row = await last('transcription', 5);
    expect(row).toMatchObject({ model: 'gpt-4o-transcribe', tokensIn: 30, tokensOut: 7, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((30 * TRANSCRIBE.input + 7 * TRANSCRIBE.output) / 1e6, 12);

    const stream = await oa().audio.transcriptions.create({ file: await toFile(wav(2), 'clip.wav'), model: 'gpt-4o-mini-transcribe', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'transcript.text.done') text = e.text;
    }
    expect(types.at(-1)).toBe('transcript.text.done');
    expect(types.filter((t) => t === 'transcript.text.delta').length).toBeGreaterThan(1);
    expect(text).toBe('fake transcript of 2 seconds');
    expect(await last('transcription', 6)).toMatchObject({ model: 'gpt-4o-mini-transcribe', tokensIn: 20, tokensOut: 7, outcome: 'ok' });
  });

  it('bills a text answer from a GPT-4o transcriber from the usage of the JSON asked for in its place', async () => {
    const text = String(await oa().audio.transcriptions.create({ file: await toFile(wav(3), 'clip.wav'), model: 'gpt-4o-transcribe', response_format: 'text' }));
    expect(text).toBe('fake transcript of 3 seconds\n');
    expect(await last('transcription', 7)).toMatchObject({ tokensIn: 30, tokensOut: 7, outcome: 'ok' });
  });

  it('estimates what a provider that reports no usage did: the seconds measured, or 10 tokens a second and the answer', async () => {
    const quiet = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, reportUsage: false });
    const quietLedger = new MemoryLedger();
    const g = await startGateway(quiet, keys, { directory: dir, ledger: quietLedger });
    try {
      const client = oa(s.token, g.origin);
      await client.audio.transcriptions.create({ file: await toFile(wav(2.2), 'a.wav'), model: 'whisper-1' });
      await client.audio.transcriptions.create({ file: await toFile(wav(3), 'a.wav'), model: 'gpt-4o-transcribe' });
      await until('both calls are in the ledger', () => quietLedger.rows({}).length === 2);
      const [whisper, gpt] = quietLedger.rows({});
      expect(whisper).toMatchObject({ tokensIn: 3, tokensOut: 0, outcome: 'ok_estimated' });
      expect(gpt).toMatchObject({ tokensIn: 30, outcome: 'ok_estimated' });
      expect(gpt!.tokensOut).toBeGreaterThan(0);
    } finally {
      await g.stop();
      await quiet.close();
    }
  });

  it('speaks with tts-1: the audio streams through untouched, billed by the characters of text', async () => {
    const input = 'Hello there, this is only a test.';
    const r = await oa().audio.speech.create({ model: 'tts-1', voice: 'alloy', input });
    expect(r.headers.get('content-type')).toBe('audio/mpeg');
    expect(r.headers.get('x-request-id')).toBeTruthy();
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe('not really mp3 '.repeat(100));
    expect(s.upstream.seen.at(-1)).toMatchObject({ path: '/v1/audio/speech', keyIndex: 0, body: { model: 'tts-1', input } });
    const row = await last('speech', 1);
    expect(row).toMatchObject({ model: 'tts-1', tokensIn: input.length, tokensOut: 0, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((input.length * TTS1) / 1e6, 12);
  });

  it('bills gpt-4o-mini-tts by how long its speech plays (20 tokens a second), or by its usage when streamed as events', async () => {
    const input = 'x'.repeat(45); // three seconds of speech at the fake's pace
    const wavAnswer = Buffer.from(await (await oa().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, response_format: 'wav' })).arrayBuffer());
    expect(wavAnswer.toString('latin1', 0, 4)).toBe('RIFF');
    const row = await last('speech', 2);
    expect(row).toMatchObject({ model: 'gpt-4o-mini-tts', tokensOut: 60, outcome: 'ok_estimated' });
    expect(row.costUsd).toBeCloseTo((row.tokensIn * MINI_TTS.input + 60 * MINI_TTS.output) / 1e6, 12);

    await (await oa().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, response_format: 'pcm' })).arrayBuffer();
    expect(await last('speech', 3)).toMatchObject({ tokensOut: 60, outcome: 'ok_estimated' });

    // Bytes whose length cannot be read are billed what was reserved: 4 tokens a character.
    await (await oa().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input })).arrayBuffer();
    expect(await last('speech', 4)).toMatchObject({ tokensOut: 45 * 4, outcome: 'ok_estimated' });

    const events = await (await oa().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, stream_format: 'sse' })).text();
    expect(events).toContain('speech.audio.done');
    expect(await last('speech', 5)).toMatchObject({ tokensIn: 12, tokensOut: 60, outcome: 'ok' });
  });

  it("reserves an upload's full cost against a budget before it is sent: its measured length, or the longest it could be", async () => {
    // 3 s of Whisper is $0.0003: over a $0.00025 budget, refused with nothing sent; 2 s ($0.0002) fits.
    dir.addUser('tight', { budgetUsd: 0.00025, period: 'day' });
    const t = issueToken(dir, 'tight').token;
    const before = s.upstream.seen.length;
    const refused = await oa(t).audio.transcriptions.create({ file: await toFile(wav(3), 'a.wav'), model: 'whisper-1' }).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(402);
    expect(s.upstream.seen.length).toBe(before);
    dir.addUser('tight2', { budgetUsd: 0.00025, period: 'day' });
    const t2 = issueToken(dir, 'tight2').token;
    expect((await oa(t2).audio.transcriptions.create({ file: await toFile(wav(2), 'a.wav'), model: 'whisper-1' })).text).toContain('2 seconds');
    // 1500 bytes the parser cannot read may be 2 s of the lowest-rate speech: reserved as that, then billed as the provider reports (4 s here).
    dir.addUser('junk', { budgetUsd: 0.01, period: 'day' });
    const tj = issueToken(dir, 'junk').token;
    await oa(tj).audio.transcriptions.create({ file: await toFile(Buffer.from(randomChars(1500)), 'voice.webm', { type: 'audio/webm' }), model: 'whisper-1' });
    expect(await last('transcription', 9)).toMatchObject({ tokensIn: 4, outcome: 'ok' });
    dir.addUser('junk2', { budgetUsd: 0.00015, period: 'day' });
    const tj2 = issueToken(dir, 'junk2').token;
    const junkRefused = await oa(tj2).audio.transcriptions.create({ file: await toFile(Buffer.from(randomChars(1500)), 'voice.webm'), model: 'whisper-1' }).catch((e: unknown) => e);
    expect((junkRefused as { status?: number }).status).toBe(402);
  });

  it('refuses what it cannot bill or should not send, each with a clear error and nothing sent upstream', async () => {
    const before = s.upstream.seen.length;
    const url = `${s.gw.origin}/v1/audio/transcriptions`;
    const json = await post(url, { model: 'whisper-1', file: 'clip.wav' }, bearer(s.token));
    expect(json.status).toBe(400);
    expect(json.json.error).toMatchObject({ message: expect.stringMatching(/multipart\/form-data with a `file` \(the audio\) and a `model` field/) });

    const send = async (form: FormData) => {
      const r = await request(url, { method: 'POST', headers: bearer(s.token), body: form });
      return { status: r.statusCode, error: ((await r.body.json()) as { error: { message: string; type: string } }).error };
    };
    const noFile = new FormData();
    noFile.set('model', 'whisper-1');
    expect(await send(noFile)).toMatchObject({ status: 400, error: { message: expect.stringMatching(/'file' is required/) } });
    const noModel = new FormData();
    noModel.set('file', new Blob([wav(1)]), 'a.wav');
    expect(await send(noModel)).toMatchObject({ status: 400, error: { message: "'model' is required (a text field of the form)" } });
    const tooLong = new FormData();
    tooLong.set('model', 'whisper-1');
    tooLong.set('file', new Blob([wav(10)]), 'long.wav');
    expect(await send(tooLong)).toMatchObject({ status: 413, error: { type: 'request_too_large' } });

    const cut = await request(url, { method: 'POST', headers: { ...bearer(s.token), 'content-type': 'multipart/form-data; boundary=xyz' }, body: '--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1' });
    expect(cut.statusCode).toBe(400);
    expect(((await cut.body.json()) as { error: { message: string } }).error.message).toMatch(/could not be read/);

    dir.addUser('voice-only', { models: ['tts-1'] });
    const vo = issueToken(dir, 'voice-only').token;
    const notAllowed = await oa(vo).audio.transcriptions.create({ file: await toFile(wav(1), 'a.wav'), model: 'whisper-1' }).catch((e: unknown) => e);
    expect(notAllowed).toMatchObject({ status: 403, error: { message: "model 'whisper-1' is not allowed for this user" } });
    const noInput = await post(`${s.gw.origin}/v1/audio/speech`, { model: 'tts-1', voice: 'alloy' }, bearer(s.token));
    expect(noInput.status).toBe(400);
    expect(noInput.json.error).toMatchObject({ message: "'input' is required: the text to speak" });
    expect(s.upstream.seen.length).toBe(before);
  });

  it('looks for secrets in the prompt of an upload, and sends it redacted with the audio intact', async () => {
    const redacting = await startGateway(s.upstream, keys, { directory: dir, ledger, promptSecrets: 'redact' });
    try {
      const pasted = 'AK' + 'IA' + randomChars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
      const clip = wav(1);
      await oa(s.token, redacting.origin).audio.transcriptions.create({ file: await toFile(clip, 'a.wav'), model: 'whisper-1', prompt: `names: Ada, ${pasted}` });
      const seen = s.upstream.seen.at(-1)!;
      expect(seen.form?.fields.prompt).toMatch(/^names: Ada, AK/);
      expect(seen.form?.fields.prompt).not.toContain(pasted);
      expect(seen.form?.file?.equals(clip)).toBe(true);
      expect(redacting.logs.join('')).not.toContain(pasted);
    } finally {
      await redacting.stop();
    }
  });

  it('no key ever reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + s.gw.logs.join('');
    for (const k of [...keys.openai, ...keys.anthropic]) expect(all).not.toContain(k);
  });
});
