/**
 * OpenAI's code interpreter runs in a container, billed per container at its memory tier (at list
 * price $0.03 for 1 GB, the default, up to $1.92 for 64 GB), on top of the tokens. With
 * `container: { "type": "auto" }` a request has one made (or reuses one still active), so a client
 * that adds the tool to a request spends that much unseen: each request is reserved one container at
 * the tier it asks for, and billed one for each container its answer used that the gateway has not
 * billed before.
 */
import { isObject } from './providers/types.js';

/** USD per container, by memory tier. */
export const CONTAINER_USD: Readonly<Record<string, number>> = { '1g': 0.03, '4g': 0.12, '16g': 0.48, '64g': 1.92 };
/** Containers billed, remembered so that one reused by a later request is not billed again. */
const REMEMBERED = 100_000;

/** What one container the request may have made costs; 0 without a code interpreter that makes its own. */
export function containerAsked(o: Record<string, unknown>): number {
  const tools = Array.isArray(o.tools) ? o.tools : [];
  let usd = 0;
  for (const t of tools) {
    if (!isObject(t) || t.type !== 'code_interpreter') continue;
    // A container named by id was made before (and is refused unless shared): nothing new to bill.
    const c = t.container;
    if (c !== undefined && !isObject(c)) continue;
    const tier = isObject(c) && typeof c.memory_limit === 'string' ? c.memory_limit : '1g';
    usd = Math.max(usd, CONTAINER_USD[tier] ?? CONTAINER_USD['64g']!);
  }
  return usd;
}

/** The containers a Responses API answer's code ran in (`code_interpreter_call` items). */
export function containersUsed(output: unknown): string[] {
  if (!Array.isArray(output)) return [];
  const ids = new Set<string>();
  for (const item of output) if (isObject(item) && item.type === 'code_interpreter_call' && typeof item.container_id === 'string') ids.add(item.container_id);
  return [...ids];
}

/** The containers billed so far (the latest REMEMBERED). */
export class BilledContainers {
  private readonly seen = new Set<string>();

  /** How many of `ids` were not billed yet; they are from now on. */
  fresh(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) {
      if (this.seen.has(id)) continue;
      if (this.seen.size >= REMEMBERED) this.seen.delete(this.seen.values().next().value!);
      this.seen.add(id);
      n++;
    }
    return n;
  }
}
