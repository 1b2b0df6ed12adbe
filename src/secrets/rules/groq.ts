import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

/** Every Groq key carries `WGdyb3FY` (base64 of "Xgroq") after its first 20 random characters. */
const SEGMENT = 'WGdyb3' + 'FY';

export const groqRules: SecretRule[] = [
  {
    id: 'groq-api-key',
    provider: 'Groq',
    title: 'Groq API key',
    severity: 'critical',
    keywords: ['gsk_'],
    pattern: token('gsk_[A-Za-z0-9]{52}'),
    verify: (s) => s.slice(24, 32) === SEGMENT,
    revokeUrl: 'https://console.groq.com/keys',
    examples: {
      match: [`GROQ_API_KEY=gsk_${rand.chars('alnum', 20)}${SEGMENT}${rand.chars('alnum', 24)}`],
      noMatch: [
        'GROQ_API_KEY=gsk_...',
        // Right length, no fixed segment: a look-alike.
        `GROQ_API_KEY=gsk_${rand.chars('alnum', 52)}`,
      ],
    },
  },
];
