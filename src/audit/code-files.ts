/** Which project files are code, and where a piece of text sits (line and column). */
import { posix } from 'node:path';
import { redactText } from '../secrets/index.js';

const CODE = /\.(?:[cm]?[jt]sx?|vue|svelte|astro|html?)$/i;
const PYTHON = /\.py$/i;

/** JavaScript-family source (incl. Vue/Svelte/Astro components and HTML pages). */
export function isJsLike(path: string): boolean {
  return CODE.test(path) && !/\.d\.[cm]?ts$/.test(path) && !/\.min\.js$/.test(path);
}

export function isCode(path: string): boolean {
  return isJsLike(path) || PYTHON.test(path);
}

/** Build output and coverage: scanned for keys by the build-output check, not read as source code. */
const GENERATED = /(?:^|\/)(?:dist|build|out|\.next|\.output|\.svelte-kit|\.vercel|\.netlify|\.nuxt|\.expo|coverage|storybook-static)\//;
/** Tests and their fixtures: their logs are not production logs, their example code is not shipped. */
const TEST = /(?:^|\/)(?:test|tests|__tests__|spec|e2e|fixtures|__fixtures__|__mocks__|cypress|playwright)\/|\.(?:test|spec|stories)\.[cm]?[jt]sx?$|(?:^|\/)test_[^/]*\.py$|_test\.py$/;

/** Source code the project ships: code files outside build output and tests. */
export function isShippedSource(path: string): boolean {
  return !GENERATED.test(path) && !TEST.test(path);
}

/**
 * True when the text at `index` sits on a comment line (`//`, `/*`, ` * `, `#`) or after a `//`
 * comment marker on its line: code patterns in comments describe, they do not run.
 */
export function inComment(text: string, index: number): boolean {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const before = text.slice(start, index);
  return /^\s*(?:\/\/|\/\*|\*|#)/.test(before) || /(?:^|\s)\/\/\s/.test(before);
}

/** Framework config files whose `env`/`define`/`public`/`extra` blocks end up in the client. */
export function isFrameworkConfig(path: string): boolean {
  const base = posix.basename(path);
  return /^(?:next|vite|nuxt|astro|svelte|vue|webpack|rspack|app|expo)\.config\.[cm]?[jt]s$/.test(base) || base === 'app.json';
}

export { lineLocator } from '../detect/lines.js';

/** The source line around `index` as evidence: every secret on it masked, cut to a readable length. */
export function lineAt(text: string, index: number, max = 160): string {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  let lineEnd = text.indexOf('\n', index);
  if (lineEnd < 0) lineEnd = text.length;
  // Minified code is one huge line: redact a wide window, so that no key is cut in half where it is shown.
  const from = Math.max(lineStart, index - 1000);
  const to = Math.min(lineEnd, index + 1000);
  const red = redactText(text.slice(from, to));
  if (red.trim().length <= max) return red.trim();
  const rel = Math.min(index - from, red.length);
  const a = Math.max(0, rel - 60);
  const shown = red.slice(a, a + max).trim();
  return (a > 0 || from > lineStart ? '…' : '') + shown + (a + max < red.length || to < lineEnd ? '…' : '');
}

/**
 * The `{ … }` block that starts at `open` (the index of `{`), braces inside strings and comments
 * skipped. Returns the index just after the matching `}`, or the text's end when unbalanced.
 */
export function blockEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i < 0) return text.length;
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      if (i < 0) return text.length;
      i++;
    } else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}
