/** Provider keys for tests, built from parts at run time (never a whole key literal in the repository). */
import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomChars(n: number, alphabet = ALNUM): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

/** An OpenAI project key shape: sk-proj- + 74 chars + the T3BlbkFJ marker + 74 chars. */
export function fakeOpenAiKey(): string {
  return 'sk-' + 'proj-' + randomChars(74) + 'T3Blbk' + 'FJ' + randomChars(74);
}

export function fakeAnthropicKey(): string {
  return 'sk-' + 'ant-' + 'api03-' + randomChars(93, ALNUM + '-_') + 'AA';
}
