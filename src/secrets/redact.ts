/**
 * Masking secrets: the short form shown in reports (`sk-proj-…abcd`) and the text and stream
 * redactors used by `keyward redact` and the gateway's logger.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';
import { scanText, type Engine } from './engine.js';
import type { SecretMatch } from './types.js';

export { redactSecret } from './mask.js';

/** `text` with every secret (including JWTs) replaced by its redacted form; `engine` adds a project's own rules. */
export function redactText(text: string, engine?: Engine): string {
  const matches = scanText(text, { includeInfo: true, engine });
  return matches.length === 0 ? text : redactMatches(text, matches);
}

/** `text` with each of `matches` (from scanText over that text, in order) replaced by its redacted form. */
export function redactMatches(text: string, matches: readonly SecretMatch[]): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.index) + m.redacted;
    at = m.index + m.length;
  }
  return out + text.slice(at);
}

const PEM_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;
/** A PEM block longer than this many lines is flushed (redacted line by line) rather than held. */
const MAX_PEM_LINES = 200;
/** A line longer than this (a minified bundle, a binary dump) is passed on in pieces. */
const MAX_LINE = 1 << 20;
/** Where a long line is cut: never inside a run of characters a key could be made of. */
const KEY_CHAR = /[A-Za-z0-9_\-+/=.:@~%]/;

/** A cut point at or before `at` that falls between two tokens, or -1. */
function tokenBoundary(text: string, at: number, min: number): number {
  for (let i = at; i > min; i--) if (!KEY_CHAR.test(text[i - 1]!)) return i;
  return -1;
}

/**
 * A Transform that redacts text line by line (bytes or strings in, UTF-8 strings out), for
 * `keyward redact` and log pipelines. A private key block is held until its END line so that it
 * is masked whole; everything else leaves as soon as its line is complete.
 */
export function createRedactStream(options: { engine?: Engine } = {}): Transform {
  const mask = (text: string) => redactText(text, options.engine);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let pem: string[] | null = null;

  const emitLine = (line: string, push: (s: string) => void) => {
    if (pem) {
      pem.push(line);
      if (PEM_END.test(line) || pem.length > MAX_PEM_LINES) {
        push(mask(pem.join('')));
        pem = null;
      }
      return;
    }
    if (PEM_BEGIN.test(line) && !PEM_END.test(line)) {
      pem = [line];
      return;
    }
    push(mask(line));
  };

  return new Transform({
    decodeStrings: true,
    transform(chunk: Buffer, _enc, done) {
      pending += decoder.write(chunk);
      let nl = pending.indexOf('\n');
      let start = 0;
      while (nl !== -1) {
        emitLine(pending.slice(start, nl + 1), (s) => this.push(s));
        start = nl + 1;
        nl = pending.indexOf('\n', start);
      }
      pending = pending.slice(start);
      if (pending.length > MAX_LINE && !pem) {
        // Keep a tail longer than any key so that none is cut; pass the rest on, masked.
        // A megabyte with no break at all (one base64 blob) is cut anyway: memory stays bounded.
        const at = pending.length - 16_384;
        const boundary = tokenBoundary(pending, at, pending.length - MAX_LINE / 2);
        const cut = boundary > 0 ? boundary : at;
        this.push(mask(pending.slice(0, cut)));
        pending = pending.slice(cut);
      }
      done();
    },
    flush(done) {
      pending += decoder.end();
      if (pending) emitLine(pending, (s) => this.push(s));
      if (pem) this.push(mask(pem.join('')));
      done();
    },
  });
}
