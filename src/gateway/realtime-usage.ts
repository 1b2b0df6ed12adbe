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
