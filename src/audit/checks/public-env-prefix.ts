/**
 * Keys behind public env prefixes (`NEXT_PUBLIC_`, `VITE_`, `REACT_APP_`, `EXPO_PUBLIC_`, `PUBLIC_`,
 * `NUXT_PUBLIC_`, `GATSBY_`, `VUE_APP_`): the bundler inlines their values into client code, so a
 * key there is readable by every visitor. Looks in `.env*` files, in the `env`/`define` (and Nuxt
 * `public`, Expo `extra`, webpack `DefinePlugin`) blocks of framework configs, and in code that reads
 * such names.
 */
import { posix } from 'node:path';
import { detectBrowserAiCalls } from '../../detect/browser-ai-calls.js';
import { gatewayTokenAdvice, isGatewayToken } from '../../detect/gateway-token.js';
import type { Finding } from '../../finding.js';
import { scanText } from '../../secrets/index.js';
import { blockEnd, inComment, isFrameworkConfig, isJsLike, isShippedSource, lineAt, lineLocator } from '../code-files.js';
import { isPlaceholderValue, parseDotenv } from '../dotenv.js';
import { looksLikeAiKeyName, looksLikeSecretName, publicPrefixOf } from '../names.js';
import { auditDocs, type AuditCheck, type ProjectFile } from '../types.js';
import type { Engine } from '../../secrets/engine.js';

const FIX =
  'Rename the variable without the public prefix so it stays on the server, call the AI provider from a server route (or through `keyward gateway`) and give the browser only your own endpoint. If a real key was ever built into a deployed bundle, revoke it and create a new one.';

function isEnvLike(path: string): boolean {
  const base = posix.basename(path);
  return base === '.env' || base.startsWith('.env.');
}

function finding(file: ProjectFile, severity: Finding['severity'], title: string, loc: { line?: number; column?: number }, evidence?: string, extra: Partial<Finding> = {}): Finding {
  return {
    id: 'public-env-key',
    severity,
    title,
    evidence,
    recommendation: FIX,
    docs: auditDocs('public-env-key'),
    location: { file: file.path, ...loc },
    ...extra,
  };
}

function inEnvFile(file: ProjectFile, text: string, engine: Engine | undefined): Finding[] {
  const out: Finding[] = [];
  for (const a of parseDotenv(text)) {
    const pub = publicPrefixOf(a.name);
    if (!pub) continue;
    // The whole assignment, so that rules which need the name beside the value (Azure, Mistral) see it.
    const keys = a.value ? scanText(`${a.name}=${a.value}`, { path: file.path, engine }) : [];
    const where = { line: a.line };
    if (keys.length > 0 && keys.every(isGatewayToken)) {
      const k = keys[0]!;
      out.push(finding(file, 'medium', `keyward gateway token in ${a.name}: ${pub.framework} ships it to every visitor; make sure it may call only the app route`, where, `${a.name}=${k.redacted}`, { recommendation: gatewayTokenAdvice(k.revokeHow) }));
    } else if (keys.length > 0) {
      const k = keys.find((x) => !isGatewayToken(x))!;
      out.push(
        finding(file, 'critical', `${k.provider} key in ${a.name}: ${pub.framework} inlines ${pub.prefix}* variables into the client bundle`, where, `${a.name}=${k.redacted}`, {
          secret: { rule: k.ruleId, provider: k.provider, redacted: k.redacted, fingerprint: k.fingerprint, revokeUrl: k.revokeUrl },
        }),
      );
    } else if (looksLikeSecretName(a.name) && !isPlaceholderValue(a.value)) {
      out.push(finding(file, 'high', `Secret-named ${a.name} has a value: ${pub.framework} inlines ${pub.prefix}* variables into the client bundle`, where, `${a.name}=…`));
    } else if (looksLikeAiKeyName(a.name)) {
      out.push(finding(file, 'medium', `${a.name} puts an AI key behind the public ${pub.prefix} prefix`, where, `${a.name}=${a.value ? '…' : ''}`));
    }
  }
  return out;
}

/** Variables that name a secret inside a config block, or the whole `process.env`. */
const BLOCK_START = /\b(?:(env|define|public|extra)['"]?\s*:\s*\{|(DefinePlugin)\s*\(\s*\{)/g;
const ENV_READ = /\b(?:process\.env|import\.meta\.env)(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]\s*\])?/g;
const ENTRY_KEY = /(?:^|[{,\s])(['"`]?)((?:process\.env\.|import\.meta\.env\.)?[A-Za-z_$][\w$]*)\1\s*:/g;

function inFrameworkConfig(file: ProjectFile, text: string, engine: Engine | undefined): Finding[] {
  const out: Finding[] = [];
  const at = lineLocator(text);
  const reported = new Set<string>();
  for (const m of text.matchAll(BLOCK_START)) {
    const block = m[1] ?? m[2]!;
    const open = m.index + m[0].lastIndexOf('{');
    const end = blockEnd(text, open);
    const body = text.slice(open, end);
    const report = (name: string, index: number, severity: Finding['severity'], title: string, recommendation?: string) => {
      if (reported.has(name)) return;
      reported.add(name);
      out.push(finding(file, severity, title, at(open + index), lineAt(text, open + index).replace(/(['"`])[^'"`]{12,}\1/g, '$1…$1'), recommendation ? { recommendation } : {}));
    };
    for (const k of scanText(body, { path: file.path, engine })) {
      if (isGatewayToken(k)) report(`key:${k.fingerprint}`, k.index, 'medium', `keyward gateway token written into the ${block} block of ${posix.basename(file.path)}, which ships it to every visitor; make sure it may call only the app route`, gatewayTokenAdvice(k.revokeHow));
      else report(`key:${k.fingerprint}`, k.index, 'critical', `${k.provider} key written into the ${block} block of ${posix.basename(file.path)}, which is inlined into the client bundle`);
    }
    for (const r of body.matchAll(ENV_READ)) {
      const name = r[1] ?? r[2];
      // `process.env.NODE_ENV` in `define` is the usual, harmless case; whole `process.env` is not.
      const after = body.slice(r.index + r[0].length).trimStart();
      if (name === undefined) {
        if (/^['"`]?\s*:/.test(after)) continue; // a key like 'process.env': … is judged by its value
        report('process.env', r.index, 'critical', `The whole environment (process.env, with every server key) is inlined by the ${block} block of ${posix.basename(file.path)}`);
      } else if (looksLikeSecretName(name)) {
        report(name, r.index, 'critical', `${name} is copied into the client bundle by the ${block} block of ${posix.basename(file.path)}`);
      }
    }
    for (const e of body.matchAll(ENTRY_KEY)) {
      const key = e[2]!.replace(/^(?:process|import\.meta)\.env\./, '');
      if (looksLikeSecretName(key)) {
        report(key, e.index + e[0].indexOf(e[2]!), 'high', `${key} is defined for the client in the ${block} block of ${posix.basename(file.path)}`);
      }
    }
  }
  return out;
}

/** Cheap test before the detectors: most files name no public variable at all. */
const MENTIONS_PUBLIC = /PUBLIC_|VITE_|REACT_APP_|VUE_APP_|GATSBY_/;

/** `import { PUBLIC_OPENAI_KEY } from '$env/static/public'` (SvelteKit). */
const SVELTE_PUBLIC_IMPORT = /import\s*\{([^}]*)\}\s*from\s*['"]\$env\/(?:static|dynamic)\/public['"]/g;
/**
 * Public names read in code. The shared detector knows the common prefixes and credential words
 * (`…API_KEY`, `…TOKEN`); this also catches `VUE_APP_`, bracket access and names like `…ANTHROPIC_KEY`.
 */
const PUBLIC_READ = /\b(?:process\.env|import\.meta\.env)(?:\.|\[\s*['"`])((?:NEXT_PUBLIC|NUXT_PUBLIC|EXPO_PUBLIC|REACT_APP|VUE_APP|GATSBY|VITE|PUBLIC)_[A-Za-z0-9_]+)/g;

function inCode(file: ProjectFile, text: string): Finding[] {
  const out: Finding[] = [];
  const reported = new Set<string>();
  const add = (name: string, loc: { line: number; column: number }, evidence: string, index: number) => {
    if (reported.has(name) || !looksLikeSecretName(name) || inComment(text, index)) return;
    reported.add(name);
    const pub = publicPrefixOf(name);
    out.push(finding(file, 'high', `Code reads ${name}: ${pub?.framework ?? 'the bundler'} inlines its value into the client bundle`, loc, evidence));
  };
  if (!MENTIONS_PUBLIC.test(text)) return out;
  for (const h of detectBrowserAiCallsOnce(text)) {
    if ((h.kind === 'public-env-key-reference' || h.kind === 'public-env-key-value') && h.envName) add(h.envName, h, h.evidence, h.index);
  }
  const at = lineLocator(text);
  for (const m of text.matchAll(SVELTE_PUBLIC_IMPORT)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0]!.trim();
      if (name) add(name, at(m.index), lineAt(text, m.index), m.index);
    }
  }
  for (const m of text.matchAll(PUBLIC_READ)) add(m[1]!, at(m.index), lineAt(text, m.index), m.index);
  return out;
}

let memo: { text: string; hits: ReturnType<typeof detectBrowserAiCalls> } | undefined;
/** The client-AI check runs the same detector on the same text right after; run it once. */
export function detectBrowserAiCallsOnce(text: string): ReturnType<typeof detectBrowserAiCalls> {
  if (memo?.text !== text) memo = { text, hits: detectBrowserAiCalls(text) };
  return memo.hits;
}

export const publicEnvPrefix: AuditCheck = {
  id: 'public-env-key',
  title: 'No keys behind public env prefixes',
  wants: (f) => isEnvLike(f.path) || isFrameworkConfig(f.path) || (isJsLike(f.path) && isShippedSource(f.path)),
  inspect(file, text, ctx) {
    if (isEnvLike(file.path)) return inEnvFile(file, text, ctx.engine);
    const out = isFrameworkConfig(file.path) ? inFrameworkConfig(file, text, ctx.engine) : [];
    return [...out, ...inCode(file, text)];
  },
};
