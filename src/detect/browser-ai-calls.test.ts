import { describe, expect, it } from 'vitest';
import { detectBrowserAiCalls } from './browser-ai-calls.js';

const kinds = (text: string, valuesOnly = false) => detectBrowserAiCalls(text, { valuesOnly }).map((h) => h.kind);
// Built from parts: the repository must scan clean.
const value = 'Qm9' + 'vZ3VzLXZhbHVlLTEyMzQ1Njc4OTA';

describe('detectBrowserAiCalls', () => {
  it('finds a provider endpoint with an Authorization header built beside it, with its line', () => {
    const hits = detectBrowserAiCalls('// chat\nfetch("https://api.openai.com/v1/responses", {\n  headers: { Authorization: "Bearer " + key }\n});');
    expect(hits).toEqual([expect.objectContaining({ kind: 'provider-call-with-credential', provider: 'OpenAI', host: 'api.openai.com', line: 2, column: 16 })]);
  });

  it('recognises Anthropic x-api-key, Gemini key= and Groq calls in minified code', () => {
    const min = 'fetch("https://api.anthropic.com/v1/messages",{headers:{"x-api-key":k}});' + 'x'.repeat(700) + 'fetch(`https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=${k}`);' + 'y'.repeat(700) + 'o={baseURL:"https://api.groq.com/openai/v1",apiKey:k}';
    expect(detectBrowserAiCalls(min).map((h) => h.provider)).toEqual(['Anthropic', 'Google Gemini', 'Groq']);
  });

  it('ignores a provider host mentioned without any credential near it (docs text, a link)', () => {
    expect(kinds('<a href="https://api.openai.com/docs">the API</a> status page')).toEqual([]);
  });

  it('finds dangerouslyAllowBrowser: true and its minified form, not the SDK check of the option', () => {
    expect(kinds('new OpenAI({ apiKey: k, dangerouslyAllowBrowser: true })')).toEqual(['dangerously-allow-browser']);
    expect(kinds('new e.default({apiKey:t,dangerouslyAllowBrowser:!0})')).toEqual(['dangerously-allow-browser']);
    expect(kinds('if(!n.dangerouslyAllowBrowser&&isBrowser())throw new Error("browser")')).toEqual([]);
    expect(kinds('new OpenAI({ dangerouslyAllowBrowser: false })')).toEqual([]);
  });

  it('finds the anthropic-dangerous-direct-browser-access header', () => {
    expect(kinds('headers:{"anthropic-dangerous-direct-browser-access":"true"}')).toEqual(['anthropic-direct-browser-access']);
  });

  it('finds credentials inlined under public env names, masking the value', () => {
    for (const name of ['NEXT_PUBLIC_OPENAI_API_KEY', 'VITE_GEMINI_KEY_SECRET', 'REACT_APP_ANTHROPIC_TOKEN', 'EXPO_PUBLIC_GROQ_API_KEY']) {
      const [hit] = detectBrowserAiCalls(`const env={MODE:"production",${name}:"${value}"};`);
      expect(hit).toMatchObject({ kind: 'public-env-key-value', envName: name });
      expect(hit!.evidence).not.toContain(value);
      expect(hit!.evidence).toContain(`${value.slice(0, 4)}…${value.slice(-4)}`);
    }
  });

  it('names the provider from the env name', () => {
    expect(detectBrowserAiCalls(`VITE_ANTHROPIC_API_KEY="${value}"`)[0]?.provider).toBe('Anthropic');
  });

  it('skips placeholders and non-credential public names', () => {
    expect(kinds('NEXT_PUBLIC_OPENAI_API_KEY="your-key-here"')).toEqual([]);
    expect(kinds('NEXT_PUBLIC_OPENAI_API_KEY="${OPENAI_KEY}"')).toEqual([]);
    expect(kinds(`NEXT_PUBLIC_SITE_URL="https://shop.example.invalid/${value}"`)).toEqual([]);
    expect(kinds(`NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY="${value}";VITE_SUPABASE_ANON_KEY="${value}";NEXT_PUBLIC_GOOGLE_MAPS_API_KEY="${value}"`)).toEqual([]);
  });

  it('reports code that reads a key from a public env name (for project audits), unless only values are asked for', () => {
    const src = 'const client = new OpenAI({ apiKey: process.env.NEXT_PUBLIC_OPENAI_API_KEY });\nconst k = import.meta.env.VITE_OPENAI_KEY;';
    expect(detectBrowserAiCalls(src).map((h) => [h.kind, h.envName, h.line])).toEqual([
      ['public-env-key-reference', 'NEXT_PUBLIC_OPENAI_API_KEY', 1],
      ['public-env-key-reference', 'VITE_OPENAI_KEY', 2],
    ]);
    expect(kinds(src, true)).toEqual([]);
  });

  it('never puts a long credential-looking string into evidence', () => {
    const [hit] = detectBrowserAiCalls(`fetch("https://api.mistral.ai/v1/chat/completions",{headers:{Authorization:"Bearer ${value}"}})`);
    expect(hit?.evidence).not.toContain(value);
  });
});

describe('provider hosts', () => {
  it('names an Azure OpenAI resource host in full', () => {
    const [hit] = detectBrowserAiCalls('fetch("https://shop-ai-eu.openai.azure.com/openai/deployments/gpt/chat/completions",{headers:{"api-key":k}})');
    expect(hit).toMatchObject({ provider: 'Azure OpenAI', host: 'shop-ai-eu.openai.azure.com', column: 16 });
  });

  it('ignores a provider host inside a longer name', () => {
    expect(detectBrowserAiCalls('fetch("https://notapi.openai.com.example.invalid/v1",{headers:{Authorization:k}})')).toEqual([]);
  });
});

describe('code samples shipped as text (skipStringSamples)', () => {
  const opts = { skipStringSamples: true, valuesOnly: true };

  it('drops a sample held in one string, as docs sites compile their examples', () => {
    const docs = '(0,r.jsx)("code",{children:"const client = new OpenAI({ apiKey, dangerouslyAllowBrowser: true });\\nfetch(\\"https://api.openai.com/v1/responses\\", { headers: { Authorization: `Bearer ${k}` } })"})';
    expect(detectBrowserAiCalls(docs, opts)).toEqual([]);
    expect(detectBrowserAiCalls('e.exports=`new Anthropic({ dangerouslyAllowBrowser: true })`', opts)).toEqual([]);
  });

  it('keeps code that runs, whose parts are separate tokens', () => {
    const code = 'const re=/["\']/g;new o.default({apiKey:t,dangerouslyAllowBrowser:!0});fetch("https://api.anthropic.com/v1/messages",{headers:{"x-api-key":t,"anthropic-dangerous-direct-browser-access":"true"}});';
    expect(detectBrowserAiCalls(code, opts).map((h) => h.kind).sort()).toEqual(['anthropic-direct-browser-access', 'dangerously-allow-browser', 'provider-call-with-credential']);
  });

  it('keeps everything when not asked (source code for the audit)', () => {
    expect(detectBrowserAiCalls('const s = "dangerouslyAllowBrowser: true";')).toHaveLength(1);
  });
});
