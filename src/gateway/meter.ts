/**
 * Reads usage out of a streamed (SSE) response while it passes through, without buffering or
 * parsing it on the way: the meter only keeps references to the first chunks (Anthropic's
 * `message_start` carries the input tokens) and the last ones (OpenAI's final usage chunk, the
 * Responses API's `response.completed`, Anthropic's `message_delta`), and parses those lines once,
 * when the stream ends. It counts the chunks forwarded, so a stream cut short is billed for what
 * was produced, never for nothing.
 */
import type { Provider, Usage } from './providers/types.js';
import { lastUsageObject, usageObjectAt } from './usage-search.js';

const HEAD_BYTES = 16 * 1024;
const TAIL_BYTES = 1024 * 1024;

export class StreamMeter {
  /** Chunks forwarded (each holds at least one event). */
  events = 0;
  bytes = 0;
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private tokensIn = -1;
  private tokensOut = -1;
  private imageTokensIn: number | undefined;
  private imageTokensOut: number | undefined;
  /** Searches the provider reported (running counts: the last event that gives one). */
  private searches: Pick<Usage, 'searches' | 'searchQueries' | 'fileSearches'> = {};
  /** Code interpreter containers the provider reported. */
  private containers: string[] | undefined;
  /** The tier OpenAI processed the stream in, when billed other than standard. */
  private tier: Usage['serviceTier'];
  /** Images the `image_generation` tool made, as the final event lists them. */
  private imageCalls: number | undefined;
  /** Events of the counted type seen as the chunks passed (they may be gone from the tail by the end). */
  private counted = 0;
  /** The counted event's type as it appears in the stream, and the end of the last chunk (a type cut between two chunks). */
  private readonly mark: string | undefined;
  private carry = '';
  /** The prompt's cache reads and writes, as the event that reported the input said. */
  private cache: Pick<Usage, 'cachedIn' | 'cacheWriteIn' | 'cacheWrite1hIn'> = {};
  private ended = false;

  /** `countEvent`: a type of event to count as the chunks pass (a stream whose final event may be too large to keep whole). */
  constructor(
    private readonly provider: Provider<string>,
    countEvent?: string,
  ) {
    this.mark = countEvent === undefined ? undefined : `"type":"${countEvent}"`;
  }

  /** Events of the counted type. */
  get countedEvents(): number {
    return this.counted;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.events++;
    if (this.mark !== undefined) this.count(chunk, this.mark);
    if (this.headBytes < HEAD_BYTES) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    if (this.tailBytes > TAIL_BYTES * 2) {
      // Drop the oldest half; the usage events sit at the end.
      let drop = 0;
      while (this.tailBytes > TAIL_BYTES) this.tailBytes -= this.tail[drop++]!.length;
      this.tail = this.tail.slice(drop);
    }
  }

  /**
   * Finds the `data:` lines that carry a usage object in a one-byte (latin1) view of the bytes, whose
   * offsets are the byte offsets (string search stays in V8, no call into C++ per match), and decodes
   * only those lines as UTF-8 to parse them; a line is parsed once, however many usage objects it holds.
   */
  private parse(buf: Buffer): void {
    const text = buf.toString('latin1');
    const key = this.provider.usageKey;
    for (let i = usageObjectAt(text, 0, key); i !== -1; ) {
      const start = text.lastIndexOf('\n', i) + 1;
      let end = text.indexOf('\n', i);
      if (end === -1) end = text.length;
      i = usageObjectAt(text, end, key);
      if (!text.startsWith('data:', start)) continue;
      try {
        const u = this.provider.usageFromEvent(JSON.parse(buf.toString('utf8', start + 5, end)));
        if (u) {
          if (u.tokensIn !== undefined && u.tokensIn >= this.tokensIn) {
            this.tokensIn = u.tokensIn;
            this.cache = { cachedIn: u.cachedIn, cacheWriteIn: u.cacheWriteIn, cacheWrite1hIn: u.cacheWrite1hIn };
          }
          if (u.tokensOut !== undefined) this.tokensOut = u.tokensOut;
          if (u.imageTokensIn !== undefined) this.imageTokensIn = u.imageTokensIn;
          if (u.imageTokensOut !== undefined) this.imageTokensOut = u.imageTokensOut;
          if (u.searches !== undefined || u.fileSearches !== undefined) this.searches = { searches: u.searches, searchQueries: u.searchQueries, fileSearches: u.fileSearches };
          if (u.containers !== undefined) this.containers = u.containers;
          if (u.imageCalls !== undefined) this.imageCalls = u.imageCalls;
          if (u.serviceTier !== undefined) this.tier = u.serviceTier;
        }
      } catch {
        // a line cut at the head/tail boundary, or not JSON: the other lines still count
      }
    }
  }

  private count(chunk: Buffer, mark: string): void {
    const text = this.carry + chunk.toString('latin1');
    for (let i = text.indexOf(mark); i !== -1; i = text.indexOf(mark, i + mark.length)) this.counted++;
    // A type cut between this chunk and the next is found whole next time, and counted once.
    this.carry = text.slice(Math.max(0, text.length - (mark.length - 1)));
  }

  /** Parses the kept chunks once, at the end of the stream. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.head.length + this.tail.length === this.events) {
      // Nothing dropped: the kept chunks are the whole stream, contiguous.
      const all = this.tail.length ? this.head.concat(this.tail) : this.head;
      this.parse(all.length === 1 ? all[0]! : Buffer.concat(all));
      return;
    }
    this.parse(Buffer.concat(this.head));
    const tail = Buffer.concat(this.tail);
    // The first kept tail line may be cut: start at the next full line.
    this.parse(tail.subarray(tail.indexOf(10) + 1));
    // The final event may be larger than the tail kept (a Responses stream's last event repeats the
    // whole output, images included): its usage, last in it, is then read alone.
    if (this.tokensOut < 0) this.usageAlone(tail);
  }

  private usageAlone(tail: Buffer): void {
    const key = this.provider.usageKey;
    const at = lastUsageObject(tail.toString('latin1'), key);
    if (at === undefined) return;
    try {
      const u = this.provider.usageFromJson({ [key]: JSON.parse(tail.toString('utf8', at.start, at.end)) });
      if (u === undefined) return;
      this.tokensIn = u.tokensIn;
      this.tokensOut = u.tokensOut;
      this.cache = { cachedIn: u.cachedIn, cacheWriteIn: u.cacheWriteIn, cacheWrite1hIn: u.cacheWrite1hIn };
    } catch {
      // not JSON after all: the stream is billed as estimated
    }
  }

  /** True when the upstream reported output usage. */
  get reported(): boolean {
    return this.tokensOut >= 0;
  }

  /** Usage as reported; where it was not, estimated (prompt from the request, output from the chunks seen). */
  usage(promptEstimate: number): Usage {
    const u: Usage = {
      tokensIn: this.tokensIn >= 0 ? this.tokensIn : promptEstimate,
      tokensOut: this.tokensOut >= 0 ? this.tokensOut : Math.max(1, this.events),
    };
    if (this.imageTokensIn !== undefined && this.tokensIn >= 0) u.imageTokensIn = this.imageTokensIn;
    if (this.imageTokensOut !== undefined && this.tokensOut >= 0) u.imageTokensOut = Math.min(this.imageTokensOut, this.tokensOut);
    const { searches, searchQueries, fileSearches } = this.searches;
    if (searches !== undefined) u.searches = searches;
    if (searchQueries !== undefined) u.searchQueries = searchQueries;
    if (fileSearches !== undefined) u.fileSearches = fileSearches;
    if (this.containers !== undefined) u.containers = this.containers;
    if (this.tier !== undefined) u.serviceTier = this.tier;
    const images = this.imageCalls ?? (this.counted > 0 ? this.counted : undefined);
    if (images !== undefined) u.imageCalls = images;
    if (this.tokensIn >= 0) {
      if (this.cache.cachedIn !== undefined) u.cachedIn = this.cache.cachedIn;
      if (this.cache.cacheWriteIn !== undefined) u.cacheWriteIn = this.cache.cacheWriteIn;
      if (this.cache.cacheWrite1hIn !== undefined) u.cacheWrite1hIn = this.cache.cacheWrite1hIn;
    }
    return u;
  }
}
