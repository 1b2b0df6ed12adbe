/**
 * Fake keys for tests, built from parts at run time so the repository never holds a whole key
 * (it must scan clean). Random each run; only their shape is real. The one source for every suite.
 */
import { randomInt } from 'node:crypto';
import { isPlaceholder } from '../../src/secrets/checks.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `n` random characters. About one draw in 20 000 holds a placeholder word the engine reads as an
 * example key (`fake`, `HERE`, `xxxx`): such a draw is made again, or a test that expects its key
 * found fails once in a while.
 */
export function randomChars(n: number, alphabet = ALNUM): string {
  for (;;) {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
    if (!isPlaceholder(s)) return s;
  }
}

/** An OpenAI project key in the current format: sk-proj- + 74 chars + the `T3BlbkFJ` marker + 74 chars. */
export function fakeOpenAiKey(): string {
  return 'sk-' + 'proj-' + randomChars(74) + 'T3Blbk' + 'FJ' + randomChars(74);
}

/** An Anthropic API key (108 characters). */
export function fakeAnthropicKey(): string {
  return 'sk-' + 'ant-' + 'api03-' + randomChars(93, ALNUM + '-_') + 'AA';
}

/** A Google API key, as Gemini's are: AIza + 35 characters. */
export function fakeGeminiKey(): string {
  return 'AI' + 'za' + randomChars(35, ALNUM + '-_');
}
