/**
 * AI SDKs and provider APIs used from code that runs in the browser (or a phone): whoever
 * opens the dev tools gets the key the call needs. Uses the shared detector of browser-side AI
 * calls (the site scanner runs it on bundles) and framework conventions for where a file runs.
 */
import type { Finding } from '../../finding.js';
import { inComment, isJsLike, isShippedSource, lineAt, lineLocator } from '../code-files.js';
import { Conventions } from '../runs-where.js';
import { auditDocs, type AuditCheck, type AuditContext } from '../types.js';
import { detectBrowserAiCallsOnce } from './public-env-prefix.js';

const FIX =
  'Move the call to your backend (a server route or `keyward gateway`) so the provider key never reaches the browser; the client calls your endpoint with its own user session. Revoke any key that was shipped in a bundle.';

/** Provider SDKs whose client needs the provider key. `import type` is fine and skipped. */
const SDK_IMPORT =
  /(?:\bimport\s+(?!type\b)[^'"`;]*?\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"](openai|@anthropic-ai\/sdk|@google\/generative-ai|@google\/genai|groq-sdk|@mistralai\/mistralai|cohere-ai|together-ai|replicate|@huggingface\/inference|@ai-sdk\/(?!react|vue|svelte|solid|ui-utils|rsc|provider)[\w-]+)['"]/g;

/** The SDK clients that take `dangerouslyAllowBrowser`, or a fetch to a provider with its header. */
const SDK_USE = /\bnew\s+(?:OpenAI|AzureOpenAI|Anthropic|AnthropicBedrock|AnthropicVertex)\s*\(|\bfetch\s*\(/;

const SDK_NAMES: Record<string, string> = {
  openai: 'OpenAI',
  '@anthropic-ai/sdk': 'Anthropic',
  '@google/generative-ai': 'Google Gemini',
  '@google/genai': 'Google Gemini',
  'groq-sdk': 'Groq',
  '@mistralai/mistralai': 'Mistral',
  'cohere-ai': 'Cohere',
  'together-ai': 'Together AI',
  replicate: 'Replicate',
  '@huggingface/inference': 'Hugging Face',
};

const PROVIDER_MENTION = /openai|anthropic|dangerouslyAllowBrowser|googleapis|@google\/|groq|mistral|cohere|together|fireworks|deepseek|api\.x\.ai|perplexity|huggingface|replicate|elevenlabs|@ai-sdk\//;

const conventions = new WeakMap<AuditContext, Conventions>();

export const clientAiCalls: AuditCheck = {
  id: 'client-ai-call',
  title: 'No AI provider calls from browser code',
  wants: (f) => isJsLike(f.path) && isShippedSource(f.path),
  inspect(file, text, ctx) {
    // Fast exit: most files mention no provider at all.
    // Case-sensitive on purpose (hosts and package names are lower-case; \`new OpenAI\` comes with its import).
    if (!PROVIDER_MENTION.test(text)) return [];
    let conv = conventions.get(ctx);
    if (!conv) conventions.set(ctx, (conv = new Conventions(ctx.files)));
    const runs = conv.classify(file, text);
    if (runs.where === 'server') return [];
    const out: Finding[] = [];
    const seen = new Set<string>();
    const push = (key: string, f: Omit<Finding, 'recommendation' | 'docs' | 'id'>) => {
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ id: 'client-ai-call', recommendation: FIX, docs: auditDocs('client-ai-call'), ...f });
    };
    const place = runs.where === 'client' ? ` (runs in the browser: ${runs.why})` : '';
    // Outside files known to run in the browser, the browser switches count only beside SDK use.
    const sdkUse = runs.where === 'client' || SDK_USE.test(text);
    for (const h of detectBrowserAiCallsOnce(text)) {
      if (inComment(text, h.index) || (!sdkUse && h.kind !== 'provider-call-with-credential')) continue;
      const location = { file: file.path, line: h.line, column: h.column };
      if (h.kind === 'dangerously-allow-browser') {
        push(`dab:${h.line}`, { severity: 'high', title: `dangerouslyAllowBrowser: true in ${file.path}${place}`, evidence: h.evidence, location });
      } else if (h.kind === 'anthropic-direct-browser-access') {
        push(`adba:${h.line}`, { severity: 'high', title: `Anthropic called straight from the browser (anthropic-dangerous-direct-browser-access) in ${file.path}${place}`, evidence: h.evidence, location });
      } else if (h.kind === 'provider-call-with-credential' && runs.where === 'client') {
        push(`call:${h.provider ?? h.host}`, { severity: 'high', title: `${h.provider ?? 'AI provider'} API called with a key from ${file.path}${place}`, evidence: h.evidence, location });
      }
    }
    // Next.js strips imports used only by getServerSideProps/getStaticProps from a page's client bundle.
    const serverDataOnly = /(?:^|\/)pages\//.test(file.path) && /export\s+(?:async\s+)?(?:function|const)\s+get(?:ServerSideProps|StaticProps|StaticPaths)\b/.test(text);
    if (runs.where === 'client' && !serverDataOnly) {
      const at = lineLocator(text);
      for (const m of text.matchAll(SDK_IMPORT)) {
        if (inComment(text, m.index)) continue;
        const pkg = m[1]!;
        const provider = SDK_NAMES[pkg] ?? `AI SDK ${pkg}`;
        push(`sdk:${pkg}`, { severity: 'high', title: `${provider} SDK (${pkg}) imported in client code ${file.path}${place}`, evidence: lineAt(text, m.index), location: { file: file.path, ...at(m.index) } });
      }
    }
    return out;
  },
};
