import { looksRandom } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

export const googleRules: SecretRule[] = [
  {
    id: 'google-api-key',
    provider: 'Google',
    title: 'Google API key (Gemini, Maps, Firebase …)',
    severity: 'high',
    keywords: ['AIza'],
    pattern: token('AIza[A-Za-z0-9_-]{35}'),
    revokeUrl: 'https://console.cloud.google.com/apis/credentials',
    examples: {
      match: [
        `GEMINI_API_KEY=AIza${rand.chars('base64url', 35)}`,
        `fetch("https://generativelanguage.googleapis.com/v1beta/models?key=AIza${rand.chars('alnum', 35)}")`,
      ],
      noMatch: ['GEMINI_API_KEY=AIza...', 'AIza' + rand.chars('alnum', 20), 'GOOGLE_API_KEY=AIzaYOUR_API_KEY_HERE_0000000000000000'],
    },
  },
  {
    id: 'google-oauth-client-secret',
    provider: 'Google',
    title: 'Google OAuth client secret',
    severity: 'high',
    keywords: ['GOCSPX-'],
    pattern: token('GOCSPX-[A-Za-z0-9_-]{28}'),
    verify: (s) => looksRandom(s.slice(7)),
    revokeUrl: 'https://console.cloud.google.com/apis/credentials',
    examples: { match: [`"client_secret": "GOCSPX-${rand.chars('base64url', 28)}"`], noMatch: ['GOOGLE_CLIENT_SECRET=GOCSPX-...', `GOCSPX-${rand.chars('alnum', 12)}`] },
  },
  {
    // Google AI Studio now issues "auth keys" starting `AQ.Ab` instead of `AIza`.
    id: 'google-gemini-auth-key',
    provider: 'Google',
    title: 'Google Gemini auth key (AQ.)',
    severity: 'critical',
    keywords: ['AQ.Ab'],
    pattern: token('AQ\\.Ab[A-Za-z0-9_-]{30,120}'),
    verify: (s) => looksRandom(s.slice(5)),
    revokeUrl: 'https://aistudio.google.com/apikey',
    examples: {
      match: [`GEMINI_API_KEY=AQ.Ab${rand.chars('base64url', 48)}`, `headers: { 'x-goog-api-key': 'AQ.Ab${rand.chars('alnum', 60)}' }`],
      noMatch: ['GEMINI_API_KEY=AQ.Ab...', 'AQ.Abbreviations_are_described_in_the_glossary_below'],
    },
  },
];
