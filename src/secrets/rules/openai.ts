import { charClasses, shannonEntropy } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { NEAR, token } from './util.js';

/** `T3BlbkFJ` is base64 of "OpenAI": every OpenAI key minted since 2023 carries it mid-key. */
const MARKER = 'T3Blbk' + 'FJ';
const REVOKE = 'https://platform.openai.com/api-keys';

function modern(kind: string, half: number): string {
  return 'sk-' + kind + '-' + rand.chars('base64url', half) + MARKER + rand.chars('base64url', half);
}

/** Keys without the marker still exist (older project keys); accept them only when clearly random. */
function markerOrRandom(secret: string): boolean {
  if (secret.includes(MARKER)) return true;
  const body = secret.slice(secret.indexOf('-', 3) + 1);
  return body.length >= 40 && charClasses(body) === 3 && shannonEntropy(body) >= 4.2;
}

export const openaiRules: SecretRule[] = [
  {
    id: 'openai-project-key',
    provider: 'OpenAI',
    title: 'OpenAI project API key',
    severity: 'critical',
    keywords: ['sk-proj-', 'sk-None-'],
    pattern: token('sk-(?:proj|None)-[A-Za-z0-9_-]{40,250}'),
    verify: markerOrRandom,
    revokeUrl: REVOKE,
    examples: {
      match: [
        `OPENAI_API_KEY=${modern('proj', 74)}`,
        `const client = new OpenAI({ apiKey: "${modern('proj', 58)}" });`,
        `openai.api_key = '${'sk-proj-' + rand.chars('alnum', 20) + '_' + rand.chars('alnum', 30) + '-' + rand.chars('alnum', 40)}'`,
        `key=${modern('None', 20)}`,
      ],
      noMatch: [
        'OPENAI_API_KEY=sk-proj-...',
        'OPENAI_API_KEY=sk-proj-your-key-here',
        'OPENAI_API_KEY=sk-proj-' + 'x'.repeat(60),
        // Too short to be a key.
        'sk-proj-' + rand.chars('alnum', 20),
        // Identifier-like text with no marker.
        `const sk-proj-${'selectors-for-the-settings-page'}-in-the-dashboard-header = 1`,
      ],
    },
  },
  {
    id: 'openai-service-account-key',
    provider: 'OpenAI',
    title: 'OpenAI service account key',
    severity: 'critical',
    keywords: ['sk-svcacct-'],
    pattern: token('sk-svcacct-[A-Za-z0-9_-]{40,250}'),
    verify: markerOrRandom,
    revokeUrl: REVOKE,
    examples: {
      match: [`OPENAI_API_KEY="${modern('svcacct', 74)}"`, `Authorization: Bearer ${modern('svcacct', 58)}`],
      noMatch: ['OPENAI_API_KEY=sk-svcacct-<your key>', 'sk-svcacct-' + rand.chars('alnum', 12)],
    },
  },
  {
    id: 'openai-admin-key',
    provider: 'OpenAI',
    title: 'OpenAI admin key',
    severity: 'critical',
    keywords: ['sk-admin-'],
    pattern: token('sk-admin-[A-Za-z0-9_-]{40,250}'),
    verify: markerOrRandom,
    revokeUrl: 'https://platform.openai.com/settings/organization/admin-keys',
    examples: {
      match: [`OPENAI_ADMIN_KEY=${modern('admin', 58)}`],
      noMatch: [`OPENAI_ADMIN_KEY=sk-admin-${'x'.repeat(48)}`],
    },
  },
  {
    id: 'openai-user-key',
    provider: 'OpenAI',
    title: 'OpenAI user API key (legacy)',
    severity: 'critical',
    keywords: [MARKER],
    window: { before: 32, after: 40 },
    pattern: token(`sk-[A-Za-z0-9]{20}${MARKER}[A-Za-z0-9]{20}`),
    revokeUrl: REVOKE,
    examples: {
      match: [
        `openai.api_key = "sk-${rand.chars('alnum', 20)}${MARKER}${rand.chars('alnum', 20)}"`,
        `curl -H 'Authorization: Bearer sk-${rand.chars('alnum', 20)}${MARKER}${rand.chars('alnum', 20)}'`,
      ],
      noMatch: [
        'sk-...' + MARKER,
        // Marker in the wrong place is a look-alike.
        `sk-${rand.chars('alnum', 10)}${MARKER}${rand.chars('alnum', 30)}`,
      ],
    },
  },
  {
    // A bare 48-character `sk-` key has no marker; other providers mint the same shape, so it
    // counts as OpenAI's only when OpenAI is named nearby.
    id: 'openai-user-key-unmarked',
    provider: 'OpenAI',
    title: 'OpenAI API key (no marker, named as OpenAI)',
    severity: 'high',
    keywords: ['openai'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('sk-[A-Za-z0-9]{48}'),
    verify: (s) => !s.includes(MARKER) && charClasses(s.slice(3)) === 3 && shannonEntropy(s.slice(3)) >= 4.2,
    revokeUrl: REVOKE,
    examples: {
      match: [`OPENAI_API_KEY=sk-${rand.chars('alnum', 48)}`, `openai:\n  key: sk-${rand.chars('alnum', 48)}`],
      noMatch: [`MOONSHOT_API_KEY=sk-${rand.chars('alnum', 48)}`, 'OPENAI_API_KEY=sk-' + 'a1B2'.repeat(12)],
    },
  },
];
