/**
 * Drops OpenAI's usage-only event (`"choices":[]` with a usage object) from a stream whose client did
 * not ask for it: the gateway adds `stream_options.include_usage` itself to bill exactly, and a client
 * that did not ask may index `choices[0]` on every event. Bytes pass through untouched except that
 * an event cut across two network reads is held until its end arrives (a partial event is of no use
 * to an SSE client), so the usage event is recognised wherever the reads split it.
 */
const USAGE = Buffer.from('"usage":{');
const NO_CHOICES = Buffer.from('"choices":[]');
const LF2 = Buffer.from('\n\n');
const CRLF2 = Buffer.from('\r\n\r\n');
/** A stream that never ends an event (not SSE after all) is passed on rather than held. */
const MAX_HELD = 64 * 1024;

export class UsageEventFilter {
  private held: Buffer | undefined;

  /** Returns what can be sent now (possibly empty). */
  push(chunk: Buffer): Buffer {
    const buf = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = undefined;
    // Reads usually end at an event's end: then no search is needed to find it.
    const end = endsEvent(buf) ? buf.length : afterLastBlankLine(buf, buf.length);
    if (end === 0) {
      if (buf.length > MAX_HELD) return buf;
      this.held = buf;
      return EMPTY;
    }
    if (end < buf.length) this.held = buf.subarray(end);
    const whole = end < buf.length ? buf.subarray(0, end) : buf;
    return whole.indexOf(USAGE) === -1 ? whole : withoutUsageEvents(whole);
  }

  /** What is left when the stream ends. */
  end(): Buffer {
    const rest = this.held ?? EMPTY;
    this.held = undefined;
    return rest.indexOf(USAGE) === -1 ? rest : withoutUsageEvents(rest);
  }
}

const EMPTY = Buffer.alloc(0);

function endsEvent(b: Buffer): boolean {
  const n = b.length;
  if (n < 2 || b[n - 1] !== 10) return false;
  return b[n - 2] === 10 || (n >= 4 && b[n - 2] === 13 && b[n - 3] === 10 && b[n - 4] === 13);
}

/** Where the event containing byte `before` starts: just past the last blank line before it (0 if none). */
function afterLastBlankLine(buf: Buffer, before: number): number {
  const lf = buf.lastIndexOf(LF2, before);
  const crlf = buf.lastIndexOf(CRLF2, before);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}

/** `buf` holds whole events: cuts out those carrying a usage object and no choices. */
function withoutUsageEvents(buf: Buffer): Buffer {
  const kept: Buffer[] = [];
  let from = 0;
  for (let i = buf.indexOf(USAGE); i !== -1; i = buf.indexOf(USAGE, i + USAGE.length)) {
    const start = afterLastBlankLine(buf, i);
    if (start < from) continue;
    const lf = buf.indexOf(LF2, i);
    const crlf = buf.indexOf(CRLF2, i);
    const stop = lf === -1 && crlf === -1 ? buf.length : lf === -1 ? crlf + 4 : crlf === -1 || lf < crlf ? lf + 2 : crlf + 4;
    const event = buf.subarray(start, stop);
    if (event.indexOf(NO_CHOICES) === -1) {
      i = stop - USAGE.length;
      continue;
    }
    kept.push(buf.subarray(from, start));
    from = stop;
    i = stop - USAGE.length;
  }
  if (from === 0) return buf;
  kept.push(buf.subarray(from));
  return Buffer.concat(kept);
}
