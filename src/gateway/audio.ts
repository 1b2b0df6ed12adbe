/**
 * OpenAI's audio routes: speech to text (`/v1/audio/transcriptions`, `/v1/audio/translations`, an
 * upload in multipart/form-data) and text to speech (`/v1/audio/speech`, JSON in, audio out).
 *
 * What they cost is counted in three units, each in the price table's "per million" columns:
 * - seconds of audio for Whisper (`whisper-1`, and Whisper models of other providers), as the answer
 *   reports them; the upload's duration, read from the audio file itself, is what is reserved;
 * - characters of input for `tts-1` and `tts-1-hd`: the request's text is the bill;
 * - tokens for the GPT-4o audio models, as their answers report them; where an answer reports none
 *   (a speech file), from the audio's duration at the rates OpenAI documents for audio tokens (one
 *   input token per 100 ms heard, one output token per 50 ms spoken).
 * A transcript asked for as `text`, `srt` or `vtt` reports no usage: JSON is asked for in its place.
 */
import { parseBuffer } from 'music-metadata';
import { badRequest } from './http-error.js';
import { estimatePromptTokens, isObject, type ShapedRequest } from './providers/types.js';
import type { Upload } from './upload.js';

/** What a speech-to-text upload's form holds. */
export const AUDIO_PARTS = 'a `file` (the audio) and a `model` field';

/** Audio tokens a second, for the GPT-4o audio models (OpenAI: 100 ms of input, 50 ms of output a token). */
export const AUDIO_IN_TOKENS_PER_SECOND = 10;
export const AUDIO_OUT_TOKENS_PER_SECOND = 20;
/**
 * The fewest bytes a second of uploaded audio takes (6 kbit/s, the lowest rate speech codecs such as
 * Opus are used at): an upload whose duration cannot be read is reserved as if it were this long.
 */
export const MIN_AUDIO_BYTES_PER_SECOND = 750;
/** Output tokens reserved for a transcript, at the least (a short clip's words), and per second heard (several times the rate of speech). */
const TRANSCRIPT_MIN_TOKENS = 256;
const TRANSCRIPT_TOKENS_PER_SECOND = 10;
/**
 * Output tokens reserved per character of text to speak with a token-billed model: ordinary speech
 * is about 15 characters a second, 1.3 tokens a character; this allows speech three times slower.
 */
const SPEECH_TOKENS_PER_CHAR = 4;
/** OpenAI's `pcm` speech format: 24 kHz, 16-bit, mono, no header. */
const PCM_BYTES_PER_SECOND = 48_000;
/**
 * The highest bit rate believed of a measured duration (192 kHz 16-bit stereo PCM is 6.1 Mbit/s).
 * A container's header can claim a length its data does not have (25 MB of noise labelled MP3 reads
 * as 0.07 s); such a claim is not believed, and the file is taken to be as long as it could be.
 */
const MAX_BITS_PER_SECOND = 8_000_000;

/** Models billed by the second of audio (OpenAI's Whisper; Groq's `whisper-large-v3` likewise by the hour). */
export function billedPerSecond(model: string): boolean {
  return /^whisper(?:-|$)/.test(model);
}

/** Models billed by the character of text (`tts-1`, `tts-1-hd` and their dated ids). */
export function billedPerCharacter(model: string): boolean {
  return /^tts-1(?:-|$)/.test(model);
}


/**
 * How long an audio file plays, from its own headers (WAV, MP3, M4A, WebM, Ogg, FLAC, …); when it
 * cannot be read, the longest it could be (`measured` false).
 */
export async function audioSeconds(bytes: Buffer, mimeType: string, name: string): Promise<{ seconds: number; measured: boolean }> {
  try {
    const m = await parseBuffer(bytes, { mimeType: mimeType || undefined, path: name || undefined, size: bytes.length }, { duration: true, skipCovers: true });
    const d = m.format.duration;
    if (d !== undefined && Number.isFinite(d) && d > 0 && (bytes.length * 8) / d <= MAX_BITS_PER_SECOND) return { seconds: d, measured: true };
  } catch {
    // Not a format the parser knows, or not audio at all: the provider will say which.
  }
  return { seconds: bytes.length / MIN_AUDIO_BYTES_PER_SECOND, measured: false };
}

/** Answer formats that report no usage, and what the gateway asks for instead to bill them exactly. */
const ASKED_AS: ReadonlyMap<string, string> = new Map([
  ['text', 'json'],
  ['srt', 'verbose_json'],
  ['vtt', 'verbose_json'],
]);

/**
 * A transcription or translation upload, understood well enough to limit, price and forward. A
 * `text`, `srt` or `vtt` answer reports no usage: the provider is asked for JSON instead (which
 * reports what it billed), and the gateway writes the format the client asked for from it.
 */
export async function shapeUpload(upload: Upload, kind: 'transcription' | 'translation'): Promise<ShapedRequest> {
  const model = upload.model();
  const stream = upload.flag('stream');
  if (stream && kind === 'translation') throw badRequest('translations cannot be streamed');
  const prompt = upload.field('prompt') ?? '';
  const file = await upload.file('file', 'the audio to transcribe');
  const { seconds } = await audioSeconds(file.bytes, file.type, file.name);
  const format = upload.field('response_format');
  // SRT and VTT come from Whisper's timed segments; a model without them answers its own error.
  const askAs = !stream && format !== undefined && (format === 'text' || billedPerSecond(model)) ? ASKED_AS.get(format) : undefined;
  if (askAs !== undefined) await upload.set('response_format', askAs);
  const base = { model, stream, body: upload.body, contentType: upload.contentType, accept: stream ? 'text/event-stream' : 'application/json', ...(askAs !== undefined ? { renderAs: format } : {}) };
  // Reserved by the second as the provider rounds (up); billed as the provider reports.
  if (billedPerSecond(model)) return { ...base, promptTokens: Math.max(1, Math.ceil(seconds)), maxTokens: 0 };
  const heard = Math.ceil(seconds * AUDIO_IN_TOKENS_PER_SECOND);
  return { ...base, promptTokens: heard + (prompt ? estimatePromptTokens(Buffer.byteLength(prompt)) : 0), maxTokens: Math.max(TRANSCRIPT_MIN_TOKENS, Math.ceil(seconds * TRANSCRIPT_TOKENS_PER_SECOND)) };
}

/** A speech request (JSON): the text to speak, in the unit its model is billed by. */
export function shapeSpeech(o: Record<string, unknown>, raw: Buffer): ShapedRequest {
  const model = o.model;
  if (typeof model !== 'string' || model === '') throw badRequest("'model' is required and must be a string");
  if (typeof o.input !== 'string' || o.input === '') throw badRequest("'input' is required: the text to speak");
  if (o.instructions !== undefined && typeof o.instructions !== 'string') throw badRequest("'instructions' must be a string");
  if (o.stream_format !== undefined && o.stream_format !== 'sse' && o.stream_format !== 'audio') throw badRequest("'stream_format' must be 'sse' or 'audio'");
  const stream = o.stream_format === 'sse';
  const base = { model, stream, body: raw, accept: stream ? 'text/event-stream' : '*/*' };
  const chars = [...o.input].length;
  if (billedPerCharacter(model)) return { ...base, promptTokens: chars, maxTokens: 0, knownCost: true };
  const maxTokens = chars * SPEECH_TOKENS_PER_CHAR;
  return { ...base, promptTokens: estimatePromptTokens(raw.length), maxTokens, outputIfUnreported: maxTokens, audioOut: typeof o.response_format === 'string' ? o.response_format : 'mp3' };
}


/** `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (VTT). */
function timestamp(seconds: number, sep: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

/**
 * The answer in the format the client asked for, from the JSON the provider was asked for instead:
 * the transcript as text, or its timed segments as SRT or WebVTT cues. Undefined when the JSON is not
 * a transcript (the client then gets the JSON as it came).
 */
export function renderTranscript(json: Buffer, format: string): string | undefined {
  let o: unknown;
  try {
    o = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(o) || typeof o.text !== 'string') return undefined;
  if (format === 'text') return `${o.text}\n`;
  const segments = Array.isArray(o.segments) ? o.segments.filter(isObject) : [];
  const sep = format === 'srt' ? ',' : '.';
  const cues = segments.map((seg, i) => {
    const start = typeof seg.start === 'number' ? seg.start : 0;
    const end = typeof seg.end === 'number' ? seg.end : start;
    const text = typeof seg.text === 'string' ? seg.text.trim() : '';
    return `${format === 'srt' ? `${i + 1}\n` : ''}${timestamp(start, sep)} --> ${timestamp(end, sep)}\n${text}\n`;
  });
  return (format === 'vtt' ? 'WEBVTT\n\n' : '') + cues.join('\n');
}

/**
 * Output tokens of a speech answer whose usage the provider does not report: its duration at
 * OpenAI's rate for audio output, or undefined when the duration cannot be read.
 */
export async function spokenTokens(audio: Buffer, format: string, contentType: string): Promise<number | undefined> {
  let seconds: number | undefined;
  if (format === 'pcm') seconds = audio.length / PCM_BYTES_PER_SECOND;
  else {
    const a = await audioSeconds(audio, contentType, `speech.${format}`);
    if (a.measured) seconds = a.seconds;
  }
  return seconds === undefined ? undefined : Math.max(1, Math.ceil(seconds * AUDIO_OUT_TOKENS_PER_SECOND));
}
