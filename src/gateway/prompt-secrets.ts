/**
 * Secrets in what a client sends to an AI provider: a developer pastes a `.env` into a chat, an
 * agent reads a config file into its context. That is a leak to a third party like any other, so
 * the gateway can look for them with the secrets engine (`scanText`) and refuse the request
 * (`block`) or send it with each secret replaced by its redacted form (`redact`). Off by default.
 */
import { redactMatches, type SecretMatch } from '../secrets/index.js';

export type PromptSecretsMode = 'off' | 'block' | 'redact';

/**
 * The body with every secret replaced by its redacted form (`sk-proj-…abcd`), or undefined when the
 * result is no longer JSON (a secret written across an escape): such a request is refused instead.
 * A text field (an upload's `prompt`) is not JSON (`json` false).
 */
export function redactBody(body: string, found: SecretMatch[], json = true): string | undefined {
  const out = redactMatches(body, found);
  if (!json) return out;
  try {
    JSON.parse(out);
    return out;
  } catch {
    return undefined;
  }
}

/** "an AWS access key ID (AK…FG)", and how many more there are. */
export function describeSecrets(found: SecretMatch[]): string {
  const m = found[0]!;
  const more = found.length > 1 ? ` and ${found.length - 1} more secret${found.length > 2 ? 's' : ''}` : '';
  return `${/^[AEIOU]/.test(m.title) ? 'an' : 'a'} ${m.title} (${m.redacted})${more}`;
}
