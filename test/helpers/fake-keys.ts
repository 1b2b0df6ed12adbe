/**
 * Fake keys for tests, built from parts at run time so the repository never holds a whole key
 * (it must scan clean). Random each run; only their shape is real. The one source for every suite.
 */
import { randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomChars(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
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
