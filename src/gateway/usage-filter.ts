/**
 * Drops OpenAI's usage-only event (`"choices":[]` with a usage object) from a stream whose client did
 * not ask for it: the gateway adds `stream_options.include_usage` itself to bill exactly, and a client
 * that did not ask may index `choices[0]` on every event. Bytes pass through untouched except that
 * an event cut across two network reads is held until its end arrives (a partial event is of no use
 * to an SSE client), so the usage event is recognised wherever the reads split it.
 *
 * Searches run on a one-byte (latin1) view of each read, whose offsets are the byte offsets: a string
 * search stays in V8 and costs a third of a Buffer search, which calls into C++.
 */
import { emptyArrayWithin, usageObjectAt } from './usage-search.js';

/** A stream that never ends an event (not SSE after all) is passed on rather than held. */
const MAX_HELD = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class UsageEventFilter {
  private held: Buffer | undefined;

  /** Returns what can be sent now (possibly empty). */
  push(chunk: Buffer): Buffer {
    const buf = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    const text = buf.toString('latin1');
    // Reads usually end at an event's end: then no search is needed to find it.
    const end = endsEvent(text) ? text.length : afterLastBlankLine(text, text.length);
    if (end === 0) {
      if (buf.length > MAX_HELD) return buf;
      this.held = buf;
      return EMPTY;
    }
    if (end < buf.length) this.held = buf.subarray(end);
    const whole = end < buf.length ? buf.subarray(0, end) : buf;
    const u = usageObjectAt(text, 0);
    return u === -1 || u >= end ? whole : withoutUsageEvents(whole, end < text.length ? text.slice(0, end) : text, u);
  }

  /** What is left when the stream ends. */
  end(): Buffer {
    const rest = this.held ?? EMPTY;
    this.held = undefined;
    const text = rest.toString('latin1');
    const u = usageObjectAt(text, 0);
    return u === -1 ? rest : withoutUsageEvents(rest, text, u);
  }
}

function endsEvent(t: string): boolean {
  const n = t.length;
  if (n < 2 || t.charCodeAt(n - 1) !== 10) return false;
  return t.charCodeAt(n - 2) === 10 || (n >= 4 && t.charCodeAt(n - 2) === 13 && t.charCodeAt(n - 3) === 10 && t.charCodeAt(n - 4) === 13);
}

/** Where the event containing offset `before` starts: just past the last blank line before it (0 if none). */
function afterLastBlankLine(t: string, before: number): number {
  const lf = t.lastIndexOf('\n\n', before);
  // A backward search that finds nothing reads the whole string, one character at a time: most
  // streams have no CR at all, which a forward search tells at once.
  const crlf = t.indexOf('\r') === -1 ? -1 : t.lastIndexOf('\r\n\r\n', before);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}

/** Where the event containing offset `from` ends: just past the next blank line (the end if none). */
function afterNextBlankLine(t: string, from: number): number {
  const lf = t.indexOf('\n\n', from);
  const crlf = t.indexOf('\r\n\r\n', from);
  if (lf === -1 && crlf === -1) return t.length;
  if (lf === -1) return crlf + 4;
  if (crlf === -1 || lf < crlf) return lf + 2;
  return crlf + 4;
}

/** `buf` (and its latin1 view `text`) holds whole events, the first usage object at `first`: cuts out those events that carry a usage object and no choices. */
function withoutUsageEvents(buf: Buffer, text: string, first: number): Buffer {
  const kept: Buffer[] = [];
  let from = 0;
  for (let i = first; i !== -1; ) {
    const start = afterLastBlankLine(text, i);
    const stop = afterNextBlankLine(text, i);
    if (start >= from) {
      if (emptyArrayWithin(text, 'choices', start, stop)) {
        kept.push(buf.subarray(from, start));
        from = stop;
      }
    }
    i = usageObjectAt(text, stop);
  }
  if (from === 0) return buf;
  kept.push(buf.subarray(from));
  return Buffer.concat(kept);
}
