/**
 * What a Realtime response used, from its `response.done` event: tokens by kind (text, audio, image;
 * cached input apart), since audio costs several times what text does.
 */
import type { TokenKinds } from './providers/prices.js';
import { isObject } from './providers/types.js';

export interface RealtimeUsage extends TokenKinds {
  tokensIn: number;
  tokensOut: number;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Reads `response.usage`. Input or output without a breakdown is counted as audio, the dearer kind,
 * and cached tokens without one as not cached, so that a missing detail never bills less than was used.
 */
export function realtimeUsage(usage: unknown): RealtimeUsage | undefined {
  if (!isObject(usage)) return undefined;
  const tokensIn = count(usage.input_tokens);
  const tokensOut = count(usage.output_tokens);
  const u: RealtimeUsage = { tokensIn, tokensOut, textIn: 0, cachedTextIn: 0, audioIn: tokensIn, cachedAudioIn: 0, imageIn: 0, textOut: 0, audioOut: tokensOut };
  const din = usage.input_token_details;
  if (isObject(din)) {
    u.textIn = count(din.text_tokens);
    u.imageIn = count(din.image_tokens);
    // Whatever the breakdown leaves out is billed as audio.
    u.audioIn = Math.max(count(din.audio_tokens), tokensIn - u.textIn - u.imageIn);
    const cached = din.cached_tokens_details;
    if (isObject(cached)) {
      u.cachedTextIn = Math.min(count(cached.text_tokens), u.textIn);
      u.cachedAudioIn = Math.min(count(cached.audio_tokens), u.audioIn);
    }
  }
  const dout = usage.output_token_details;
  if (isObject(dout)) {
    u.textOut = count(dout.text_tokens);
    u.audioOut = Math.max(count(dout.audio_tokens), tokensOut - u.textOut);
  }
  return u;
}

/** What an input transcription used (`conversation.item.input_audio_transcription.completed`): tokens, or seconds heard (whisper-1). */
export interface TranscriptionUsage {
  tokensIn: number;
  tokensOut: number;
  /** Billed by duration: `tokensIn` are the seconds heard, as for the transcription route. */
  seconds: boolean;
}

export function transcriptionUsage(usage: unknown): TranscriptionUsage | undefined {
  if (!isObject(usage)) return undefined;
  if (usage.type === 'duration') return { tokensIn: Math.ceil(typeof usage.seconds === 'number' && usage.seconds > 0 ? usage.seconds : 0), tokensOut: 0, seconds: true };
  return { tokensIn: count(usage.input_tokens), tokensOut: count(usage.output_tokens), seconds: false };
}

/** The transcription model a session's config names: GA's `audio.input.transcription.model`, or the beta's `input_audio_transcription.model`. */
export function transcriptionModel(session: Record<string, unknown>): string | undefined {
  const audio = isObject(session.audio) ? session.audio : undefined;
  const input = audio && isObject(audio.input) ? audio.input : undefined;
  const t = input && isObject(input.transcription) ? input.transcription : isObject(session.input_audio_transcription) ? session.input_audio_transcription : undefined;
  return t && typeof t.model === 'string' && t.model !== '' ? t.model : undefined;
}

type ModalityCounts = Record<'TEXT' | 'OTHER', number>;

/** Gemini's per-modality counts (`[{ modality, tokenCount }]`): text, and the rest (audio, video, images), which Live prices as audio. */
function byModality(list: unknown): ModalityCounts {
  const m: ModalityCounts = { TEXT: 0, OTHER: 0 };
  if (!Array.isArray(list)) return m;
  for (const e of list) if (isObject(e)) m[e.modality === 'TEXT' ? 'TEXT' : 'OTHER'] += count(e.tokenCount);
  return m;
}

/**
 * A Gemini Live turn's `usageMetadata`: the prompt (cached tokens a part of it) and tool-use prompt in,
 * the response and the thinking out. Audio, video and images are counted as audio, and whatever the
 * breakdowns leave out too, so that a missing detail never bills less than was used.
 */
export function geminiLiveUsage(u: unknown): RealtimeUsage | undefined {
  if (!isObject(u)) return undefined;
  const promptIn = count(u.promptTokenCount) + count(u.toolUsePromptTokenCount);
  const prompt = byModality(u.promptTokensDetails);
  const tools = byModality(u.toolUsePromptTokensDetails);
  const cached = byModality(u.cacheTokensDetails);
  const out = byModality(u.responseTokensDetails);
  const textIn = Math.min(prompt.TEXT + tools.TEXT, promptIn);
  const audioIn = Math.max(prompt.OTHER + tools.OTHER, promptIn - textIn);
  const thoughts = count(u.thoughtsTokenCount);
  const response = count(u.responseTokenCount ?? u.candidatesTokenCount);
  const textOut = Math.min(out.TEXT, response) + thoughts;
  const audioOut = Math.max(out.OTHER, response - Math.min(out.TEXT, response));
  return {
    tokensIn: textIn + audioIn,
    tokensOut: textOut + audioOut,
    textIn,
    cachedTextIn: Math.min(cached.TEXT, textIn),
    audioIn,
    cachedAudioIn: Math.min(cached.OTHER, audioIn),
    imageIn: 0,
    textOut,
    audioOut,
  };
}
