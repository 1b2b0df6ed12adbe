/**
 * Reads usage out of a streamed (SSE) response while it passes through, without buffering it:
 * only lines that carry a non-null `"usage":{` are parsed (OpenAI's final usage chunk, the Responses
 * API's `response.completed`, Anthropic's `message_start` and `message_delta`). It also counts the
 * events forwarded, so a stream cut short is billed for what was produced, never for nothing.
 */
import type { Provider, Usage } from './providers/types.js';

const USAGE = Buffer.from('"usage":{');
const USAGE_SPACED = Buffer.from('"usage": {');
const DATA = Buffer.from('data:');
const NL = 0x0a;
const MAX_CARRY = 4 * 1024 * 1024;

export class StreamMeter {
  events = 0;
  bytes = 0;
  private tokensIn = -1;
  private tokensOut = -1;
  /** The unfinished last line of the previous chunk, kept only while a usage line may be split. */
  private carry = '';

  constructor(private readonly provider: Provider) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (let i = chunk.indexOf(DATA); i !== -1; i = chunk.indexOf(DATA, i + 5)) this.events++;
    const hasUsage = chunk.indexOf(USAGE) !== -1 || chunk.indexOf(USAGE_SPACED) !== -1;
    if (!hasUsage && this.carry === '' && chunk[chunk.length - 1] === NL) return;
    const text = this.carry + chunk.toString('utf8');
    const lines = text.split('\n');
    const last = lines.pop() ?? '';
    this.carry = last.length <= MAX_CARRY ? last : '';
    if (!hasUsage && !this.carryHadUsage(lines)) return;
    for (const line of lines) this.line(line);
  }

  private carryHadUsage(lines: string[]): boolean {
    for (const l of lines) if (l.includes('"usage":{') || l.includes('"usage": {')) return true;
    return false;
  }

  private line(line: string): void {
    if (!line.startsWith('data:') || !(line.includes('"usage":{') || line.includes('"usage": {'))) return;
    let json: unknown;
    try {
      json = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    const u = this.provider.usageFromEvent(json);
    if (!u) return;
    if (u.tokensIn !== undefined) this.tokensIn = Math.max(this.tokensIn, u.tokensIn);
    if (u.tokensOut !== undefined) this.tokensOut = u.tokensOut;
  }

  /** Flushes a final unterminated line. */
  end(): void {
    if (this.carry) this.line(this.carry);
    this.carry = '';
  }

  /** True when the upstream reported output usage. */
  get reported(): boolean {
    return this.tokensOut >= 0;
  }

  /** Usage as reported; where it was not, estimated (prompt from the request, output from the events seen). */
  usage(promptEstimate: number): Usage {
    return {
      tokensIn: this.tokensIn >= 0 ? this.tokensIn : promptEstimate,
      tokensOut: this.tokensOut >= 0 ? this.tokensOut : Math.max(1, this.events),
    };
  }
}
