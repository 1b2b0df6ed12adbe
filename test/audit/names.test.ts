import { describe, expect, it } from 'vitest';
import { isEnvFile, isPlaceholderValue, parseDotenv } from '../../src/audit/dotenv.js';
import { looksLikeAiKeyName, looksLikeSecretName, publicPrefixOf } from '../../src/audit/names.js';

describe('what a variable name says', () => {
  it.each([
    ['NEXT_PUBLIC_OPENAI_API_KEY', 'Next.js'],
    ['NUXT_PUBLIC_ANTHROPIC_KEY', 'Nuxt'],
    ['PUBLIC_GEMINI_API_KEY', 'SvelteKit/Astro'],
    ['VUE_APP_TOKEN', 'Vue CLI'],
    ['EXPO_PUBLIC_X', 'Expo'],
  ])('knows %s is inlined by %s', (name, framework) => {
    expect(publicPrefixOf(name)?.framework).toBe(framework);
  });

  it('leaves server-side names alone', () => {
    for (const name of ['OPENAI_API_KEY', 'NEXT_PUBLIC_', 'PUBLICATION_ID', 'VITE']) expect(publicPrefixOf(name)).toBeUndefined();
  });

  it.each(['OPENAI_API_KEY', 'VITE_ANTHROPIC_KEY', 'NEXT_PUBLIC_AI_TOKEN', 'REACT_APP_HF_TOKEN', 'VITE_openAiApiKey', 'OPENAI_API_KEY_2', 'GROQ_API_KEY_V2', 'AZURE_OPENAI_KEY'])(
    'reads %s as an AI key name',
    (name) => expect(looksLikeAiKeyName(name)).toBe(true),
  );

  it.each(['OPENAI_ORG_ID', 'OPENAI_BASE_URL', 'ANTHROPIC_MODEL', 'VITE_FIREBASE_API_KEY', 'VITE_GOOGLE_MAPS_API_KEY', 'NEXT_PUBLIC_SUPABASE_ANON_KEY', 'VITE_AI_ANON_KEY', 'KEYBOARD_LAYOUT'])(
    'does not read %s as an AI key name',
    (name) => expect(looksLikeAiKeyName(name)).toBe(false),
  );

  it('counts secret words but not public-by-design keys as secret names', () => {
    expect(looksLikeSecretName('NEXT_PUBLIC_STRIPE_SECRET_KEY')).toBe(true);
    expect(looksLikeSecretName('VITE_DB_PASSWORD')).toBe(true);
    expect(looksLikeSecretName('NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY')).toBe(false);
    expect(looksLikeSecretName('VITE_SECRET_SANTA_URL')).toBe(false);
    expect(looksLikeSecretName('VITE_API_URL')).toBe(false);
  });
});

describe('reading .env files', () => {
  it('keeps line numbers through comments, export, quotes and multi-line values', () => {
    const text = ['# comment', 'export A=1', 'B = "two words" # note', "C='x#y'", 'D="line1', 'line2"', '', 'E=plain # trailing', 'not an assignment'].join('\r\n');
    expect(parseDotenv(text)).toEqual([
      { name: 'A', value: '1', line: 2 },
      { name: 'B', value: 'two words', line: 3 },
      { name: 'C', value: 'x#y', line: 4 },
      { name: 'D', value: 'line1\nline2', line: 5 },
      { name: 'E', value: 'plain', line: 8 },
    ]);
  });

  it('tells .env files from the committed templates', () => {
    for (const p of ['.env', '.env.local', 'apps/web/.env.production', '.env.development.local']) expect(isEnvFile(p), p).toBe(true);
    for (const p of ['.env.example', '.env.sample', '.env.template', '.env.example.local', 'docs/.env.md', '.env.vault', '.envrc', 'env.ts', '.environment']) expect(isEnvFile(p), p).toBe(false);
  });

  it('knows placeholders from values', () => {
    for (const v of ['', 'changeme', 'your-openai-key', '<OPENAI_API_KEY>', '${OPENAI_API_KEY}', 'xxxxxxxxxxxx', 'sk-...']) expect(isPlaceholderValue(v), v).toBe(true);
    expect(isPlaceholderValue('Tr0ub4dor-and-3-more-words')).toBe(false);
  });
});
