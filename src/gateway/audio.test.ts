import { describe, expect, it } from 'vitest';
import { wav } from '../../test/gateway/helpers/audio.js';
import { createHash } from 'node:crypto';
import { AUDIO_PARTS, audioSeconds, billedPerCharacter, billedPerSecond, MIN_AUDIO_BYTES_PER_SECOND, renderTranscript, shapeSpeech, shapeUpload, spokenTokens } from './audio.js';
import { Upload } from './upload.js';
import { validateGatewayConfig } from './config.js';

async function upload(fields: Record<string, string>, file?: Buffer): Promise<Upload> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  if (file) form.set('file', new Blob([file], { type: 'audio/wav' }), 'a.wav');
  const r = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  return Upload.read(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!, AUDIO_PARTS);
}

describe('audio requests', () => {
  it('reads how long an audio file plays from its own header, and assumes the longest for what it cannot read', async () => {
    expect(await audioSeconds(wav(2.5), 'audio/wav', 'a.wav')).toEqual({ seconds: 2.5, measured: true });
    const junk = Buffer.alloc(3000, 7);
    expect(await audioSeconds(junk, 'audio/webm', 'a.webm')).toEqual({ seconds: 3000 / MIN_AUDIO_BYTES_PER_SECOND, measured: false });
    // Noise labelled MP3 "plays" 0.07 s by the parser's count: a claim no real audio makes, not believed.
    // Fixed bytes, so that a failure can be replayed: with fresh random bytes this test failed once in
    // a full run and never again in 30 runs alone, nor in 300 buffers parsed by hand.
    const noise = Buffer.concat(Array.from({ length: (2 * 1024 * 1024) / 32 }, (_, i) => createHash('sha256').update(`noise ${i}`).digest()));
    expect(await audioSeconds(noise, 'audio/mpeg', 'a.mp3')).toEqual({ seconds: noise.length / MIN_AUDIO_BYTES_PER_SECOND, measured: false });
  });

  it('knows which models are billed by the second and by the character', () => {
    expect(['whisper-1', 'whisper-large-v3', 'whisper'].map(billedPerSecond)).toEqual([true, true, true]);
    expect(['gpt-4o-transcribe', 'whisperer'].map(billedPerSecond)).toEqual([false, false]);
    expect(['tts-1', 'tts-1-hd', 'tts-1-1106'].map(billedPerCharacter)).toEqual([true, true, true]);
    expect(['gpt-4o-mini-tts', 'tts-10'].map(billedPerCharacter)).toEqual([false, false]);
  });

  it('shapes an upload: seconds for Whisper, audio tokens and a transcript allowance for the others, JSON asked for in place of formats without usage', async () => {
    expect(await shapeUpload(await upload({ model: 'whisper-1' }, wav(2.2)), 'transcription')).toMatchObject({ model: 'whisper-1', promptTokens: 3, maxTokens: 0, stream: false });
    expect(await shapeUpload(await upload({ model: 'whisper-1' }, Buffer.alloc(1500, 1)), 'transcription')).toMatchObject({ promptTokens: 2 });
    // Formats that report no usage are asked for as JSON; srt and vtt only of Whisper, which has timed segments.
    expect(await shapeUpload(await upload({ model: 'whisper-1', response_format: 'srt' }, wav(1)), 'transcription')).toMatchObject({ renderAs: 'srt' });
    expect(await shapeUpload(await upload({ model: 'gpt-4o-transcribe', response_format: 'text' }, wav(1)), 'transcription')).toMatchObject({ renderAs: 'text' });
    expect((await shapeUpload(await upload({ model: 'gpt-4o-transcribe', response_format: 'srt' }, wav(1)), 'transcription')).renderAs).toBeUndefined();
    expect((await shapeUpload(await upload({ model: 'whisper-1', response_format: 'verbose_json' }, wav(1)), 'transcription')).renderAs).toBeUndefined();
    // A format named like an object's own property is passed on as it came, for the provider to refuse.
    const odd = await upload({ model: 'whisper-1', response_format: 'constructor' }, wav(1));
    expect((await shapeUpload(odd, 'transcription')).renderAs).toBeUndefined();
    expect(odd.field('response_format')).toBe('constructor');
    const gpt = await shapeUpload(await upload({ model: 'gpt-4o-transcribe', stream: 'true', prompt: 'Ada, Grace' }, wav(60)), 'transcription');
    expect(gpt).toMatchObject({ promptTokens: 600 + 4, maxTokens: 600, stream: true, accept: 'text/event-stream' });
    expect(gpt.contentType).toMatch(/^multipart\/form-data; boundary=/);
    await expect(shapeUpload(await upload({ model: 'whisper-1', stream: 'true' }, wav(1)), 'translation')).rejects.toThrow('translations cannot be streamed');
    await expect(shapeUpload(await upload({ model: 'whisper-1', stream: 'yes' }, wav(1)), 'transcription')).rejects.toThrow("'stream' must be true or false");
    await expect(shapeUpload(await upload({ model: 'whisper-1' }, Buffer.alloc(0)), 'transcription')).rejects.toThrow("'file' is empty");
  });

  it('writes text, SRT and WebVTT from a transcript, and leaves what is no transcript alone', () => {
    const json = Buffer.from(JSON.stringify({ text: 'a b', segments: [{ start: 0, end: 1.25, text: ' a' }, { start: 3661.5, end: 3662, text: ' b ' }] }));
    expect(renderTranscript(json, 'text')).toBe('a b\n');
    expect(renderTranscript(json, 'srt')).toBe('1\n00:00:00,000 --> 00:00:01,250\na\n\n2\n01:01:01,500 --> 01:01:02,000\nb\n');
    expect(renderTranscript(json, 'vtt')).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:01.250\na\n\n01:01:01.500 --> 01:01:02.000\nb\n');
    expect(renderTranscript(Buffer.from('{"error":{"message":"x"}}'), 'text')).toBeUndefined();
    expect(renderTranscript(Buffer.from('not json'), 'srt')).toBeUndefined();
  });

  it('shapes speech: characters for tts-1, and for the token models a reservation of 4 tokens a character', () => {
    const raw = (o: object) => Buffer.from(JSON.stringify(o));
    const tts = { model: 'tts-1', input: 'héllo wörld', voice: 'alloy' };
    expect(shapeSpeech(tts, raw(tts))).toMatchObject({ promptTokens: 11, maxTokens: 0, knownCost: true, stream: false, accept: '*/*' });
    const mini = { model: 'gpt-4o-mini-tts', input: 'x'.repeat(100), voice: 'alloy', response_format: 'wav' };
    expect(shapeSpeech(mini, raw(mini))).toMatchObject({ maxTokens: 400, outputIfUnreported: 400, audioOut: 'wav' });
    const sse = { ...mini, stream_format: 'sse' };
    expect(shapeSpeech(sse, raw(sse))).toMatchObject({ stream: true, accept: 'text/event-stream' });
    expect(() => shapeSpeech({ model: 'tts-1', input: '' }, raw({}))).toThrow("'input' is required: the text to speak");
    expect(() => shapeSpeech({ model: 'tts-1', input: 'a', stream_format: 'mp3' }, raw({}))).toThrow("'stream_format' must be 'sse' or 'audio'");
  });

  it('measures spoken audio: PCM by its size, a file by its header, nothing for bytes it cannot read', async () => {
    expect(await spokenTokens(Buffer.alloc(48_000 * 3), 'pcm', 'audio/pcm')).toBe(60);
    expect(await spokenTokens(wav(1.5, 24_000), 'wav', 'audio/wav')).toBe(30);
    expect(await spokenTokens(Buffer.from('not really mp3 '.repeat(50)), 'mp3', 'audio/mpeg')).toBeUndefined();
  });

  it('the config takes maxUploadBytes as a positive integer', () => {
    expect(validateGatewayConfig({ maxUploadBytes: 1000 }).maxUploadBytes).toBe(1000);
    expect(() => validateGatewayConfig({ maxUploadBytes: -1 })).toThrow(/maxUploadBytes/);
  });
});
