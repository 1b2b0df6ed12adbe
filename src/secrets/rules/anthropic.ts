import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

const REVOKE = 'https://console.anthropic.com/settings/keys';
/** API and admin keys: 93 random characters followed by the fixed `AA`. */
const fixed = (kind: string) => 'sk-ant-' + kind + '-' + rand.chars('base64url', 93) + 'AA';
const oauth = (kind: string) => 'sk-ant-' + kind + '-' + rand.chars('base64url', 93) + 'AA';

export const anthropicRules: SecretRule[] = [
  {
    id: 'anthropic-api-key',
    provider: 'Anthropic',
    title: 'Anthropic API key',
    severity: 'critical',
    keywords: ['sk-ant-api'],
    pattern: token('sk-ant-api0\\d-[A-Za-z0-9_-]{93}AA'),
    revokeUrl: REVOKE,
    examples: {
      match: [`ANTHROPIC_API_KEY=${fixed('api03')}`, `new Anthropic({ apiKey: '${fixed('api03')}' })`],
      noMatch: [
        'ANTHROPIC_API_KEY=sk-ant-api03-...',
        'ANTHROPIC_API_KEY=sk-ant-your-key',
        // Wrong fixed suffix: a look-alike.
        'sk-ant-api03-' + rand.chars('alnum', 93) + 'zz',
      ],
    },
  },
  {
    id: 'anthropic-admin-key',
    provider: 'Anthropic',
    title: 'Anthropic admin key',
    severity: 'critical',
    keywords: ['sk-ant-admin'],
    pattern: token('sk-ant-admin0\\d-[A-Za-z0-9_-]{93}AA'),
    revokeUrl: 'https://console.anthropic.com/settings/admin-keys',
    examples: { match: [`ANTHROPIC_ADMIN_KEY=${fixed('admin01')}`], noMatch: ['sk-ant-admin01-<admin key>'] },
  },
  {
    id: 'anthropic-oauth-token',
    provider: 'Anthropic',
    title: 'Anthropic OAuth token (Claude Code access or refresh token)',
    severity: 'critical',
    keywords: ['sk-ant-oat', 'sk-ant-ort'],
    pattern: token('sk-ant-o[ar]t0\\d-[A-Za-z0-9_-]{80,120}'),
    revokeUrl: 'https://claude.ai/settings/claude-code',
    examples: {
      match: [`CLAUDE_CODE_OAUTH_TOKEN=${oauth('oat01')}`, `"refreshToken": "${oauth('ort01')}"`],
      noMatch: ['CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-...', 'sk-ant-oat01-' + rand.chars('alnum', 20)],
    },
  },
];
