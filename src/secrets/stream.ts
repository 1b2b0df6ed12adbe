/**
 * Scanning a stream of any size in bounded memory: text is decoded and scanned in chunks of
 * about 1 MiB; each chunk keeps an overlap with the next, longer than any secret and any rule's
 * window, so no key is split, none is reported twice, and line and column stay exact.
 */
import { StringDecoder } from 'node:string_decoder';
import { defaultEngine, LINE_REACH, toSecretMatch } from './engine.js';
import type { ScanTextOptions, SecretMatch } from './types.js';

const CHUNK = 1 << 20;


export interface StreamTuning {
  /** Characters scanned per pass (tests use small values to cross many chunk edges). */
  chunkSize?: number;
}

export async function* scanStream(
  source: AsyncIterable<string | Buffer | Uint8Array>,
  options: ScanTextOptions & StreamTuning = {},
): AsyncGenerator<SecretMatch> {
  const engine = options.engine ?? defaultEngine();
  // `tail`: text kept after the cut for the next pass; `back`: context kept before the cut.
  const tail = engine.maxAfter + 64;
  // Line checks (inline allow, assigned values) look up to two lines of LINE_REACH back.
  const back = Math.max(engine.maxBefore, 2 * LINE_REACH) + 64;
  const chunkSize = Math.max(options.chunkSize ?? CHUNK, 1);
  const decoder = new StringDecoder('utf8');

  let buf = '';
  /** Absolute offset of buf[0]. */
  let base = 0;
  /** Matches before this buffer index were reported by an earlier pass. */
  let reportFrom = 0;
  /** Line number and absolute line-start offset at buf[0]. */
  let line = 1;
  let lineStartAbs = 0;

  const scanPass = function* (final: boolean): Generator<SecretMatch> {
    const cut = final ? buf.length : buf.length - tail;
    if (cut <= reportFrom) return;
    const raw = engine.find(buf, options);
    let l = line;
    let ls = lineStartAbs;
    let nextNl = buf.indexOf('\n');
    for (const m of raw) {
      if (m.index < reportFrom || m.index >= cut) continue;
      while (nextNl !== -1 && nextNl < m.index) {
        l++;
        ls = base + nextNl + 1;
        nextNl = buf.indexOf('\n', nextNl + 1);
      }
      yield toSecretMatch(m, l, base + m.index - ls + 1, base);
    }
    if (final) return;
    // Drop what no later match can need, keeping `back` characters of context before the cut.
    const keepFrom = Math.max(0, cut - back);
    for (let nl = buf.indexOf('\n'); nl !== -1 && nl < keepFrom; nl = buf.indexOf('\n', nl + 1)) {
      line++;
      lineStartAbs = base + nl + 1;
    }
    buf = buf.slice(keepFrom);
    base += keepFrom;
    reportFrom = cut - keepFrom;
  };

  // Decoded pieces wait in a list and are joined once per pass: one flat string, no rope.
  let pieces: string[] = [];
  let pending = 0;
  const join = () => {
    if (pieces.length) buf = [buf, ...pieces].join('');
    pieces = [];
    pending = 0;
  };
  for await (const chunk of source) {
    const piece = typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    pieces.push(piece);
    pending += piece.length;
    if (buf.length + pending - reportFrom >= chunkSize + tail) {
      join();
      while (buf.length - reportFrom >= chunkSize + tail) yield* scanPass(false);
    }
  }
  pieces.push(decoder.end());
  join();
  yield* scanPass(true);
}
