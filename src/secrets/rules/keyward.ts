import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

/** The token's id (the 12 hex after `kw_`) is no secret: it names the token to revoke. */
function tokenId(secret: string): string {
  return secret.slice(3, 15);
}

export const keywardRules: SecretRule[] = [
  {
    id: 'keyward-gateway-token',
    provider: 'keyward',
    title: 'keyward gateway token',
    // It spends its user's budget through the gateway, within the user's limits, models and the token's scopes.
    severity: 'high',
    keywords: ['kw_'],
    pattern: token('kw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}'),
    revokeHint: (secret) => `Revoke it with \`keyward tokens revoke ${tokenId(secret)}\` (or \`keyward tokens rotate ${tokenId(secret)}\` to issue its successor first)`,
    examples: {
      match: [
        `KEYWARD_TOKEN=kw_${rand.chars('hex', 12)}_${rand.chars('base64url', 43)}`,
        `const client = new OpenAI({ baseURL: 'https://ai.example.com/v1', apiKey: "kw_${rand.chars('hex', 12)}_${rand.chars('base64url', 43)}" });`,
      ],
      noMatch: [
        'KEYWARD_TOKEN=kw_…',
        // An id too short, and a secret cut short: not a token keyward issues.
        `token=kw_${rand.chars('hex', 8)}_${rand.chars('base64url', 43)}`,
        `token=kw_${rand.chars('hex', 12)}_${rand.chars('base64url', 20)}`,
      ],
    },
  },
];
