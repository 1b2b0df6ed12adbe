/**
 * Fake keys for tests, built from parts at run time so the repository never holds a whole key
 * (it must scan clean). Random each run; only their shape is real.
 */
import { randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomChars(n: number, alphabet = ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** An OpenAI project key with the `T3BlbkFJ` marker. */
export function fakeOpenAIKey(): string {
  return 'sk-' + 'proj-' + randomChars(40) + 'T3Blbk' + 'FJ' + randomChars(40);
}

/** An Anthropic API key (108 characters). */
export function fakeAnthropicKey(): string {
  return 'sk-' + 'ant-' + 'api03-' + randomChars(93) + 'AA';
}
