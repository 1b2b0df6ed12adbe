/**
 * One pass over the text for every rule keyword at once: an Aho–Corasick automaton compiled to a
 * dense table over ASCII (case folded), so each character costs one table lookup however many
 * rules there are. Case-sensitive keywords are confirmed against the original text on a hit.
 */

export interface KeywordSpec {
  text: string;
  caseSensitive: boolean;
  /** Index of the rule the keyword belongs to. */
  rule: number;
}

const FOLD = new Uint8Array(128);
for (let c = 0; c < 128; c++) FOLD[c] = c >= 65 && c <= 90 ? c + 32 : c;

export class KeywordMatcher {
  /** Next state for (state << 7) | folded char. */
  private readonly table: Uint16Array | Uint32Array;
  /** For each state, the keyword ids that end there (including via failure links). */
  private readonly outputs: (readonly number[] | undefined)[];
  /** States numbered at or above this one have outputs. */
  private readonly firstHitState: number;
  private readonly keywords: readonly { text: string; length: number; caseSensitive: boolean; rules: number[] }[];

  constructor(specs: readonly KeywordSpec[]) {
    // Merge keywords that fold to the same text; case-sensitive spellings stay distinct entries.
    const byKey = new Map<string, { text: string; length: number; caseSensitive: boolean; rules: number[] }>();
    for (const s of specs) {
      if (!/^[\x20-\x7e]+$/.test(s.text)) throw new Error(`keyword ${JSON.stringify(s.text)} must be printable ASCII`);
      const key = (s.caseSensitive ? 'S:' + s.text : 'I:' + s.text.toLowerCase());
      const k = byKey.get(key) ?? { text: s.text, length: s.text.length, caseSensitive: s.caseSensitive, rules: [] };
      if (!k.rules.includes(s.rule)) k.rules.push(s.rule);
      byKey.set(key, k);
    }
    this.keywords = [...byKey.values()];

    const goto: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    this.keywords.forEach((k, id) => {
      let s = 0;
      for (const ch of k.text.toLowerCase()) {
        const c = FOLD[ch.charCodeAt(0)]!;
        let next = goto[s]!.get(c);
        if (next === undefined) {
          next = goto.length;
          goto.push(new Map());
          own.push([]);
          goto[s]!.set(c, next);
        }
        s = next;
      }
      own[s]!.push(id);
    });

    // Renumber states so that every state with an output comes last: the scan loop then tests
    // for a hit with one comparison instead of a memory load per character.
    const n = goto.length;
    const fail = new Int32Array(n);
    const out: number[][] = own.map((o) => [...o]);
    const order: number[] = [0];
    for (let qi = 0; qi < order.length; qi++) {
      const s = order[qi]!;
      for (const [c, next] of goto[s]!) {
        let f = s === 0 ? 0 : fail[s]!;
        if (s !== 0) {
          while (f !== 0 && !goto[f]!.has(c)) f = fail[f]!;
          f = goto[f]!.get(c) ?? 0;
        }
        fail[next] = f;
        out[next]!.push(...out[f]!);
        order.push(next);
      }
    }
    const withOutput = order.filter((s) => out[s]!.length > 0);
    const without = order.filter((s) => out[s]!.length === 0);
    const renumber = new Int32Array(n);
    [...without, ...withOutput].forEach((s, i) => (renumber[s] = i));
    this.firstHitState = without.length;

    // Each state's row is its own transitions over its failure state's row (already built: the
    // failure state is shallower, and states are visited breadth-first).
    const rows = new Int32Array(n * 128);
    for (const s of order) {
      for (let c = 0; c < 128; c++) {
        const next = goto[s]!.get(FOLD[c]!);
        rows[s * 128 + c] = next !== undefined ? next : s === 0 ? 0 : rows[fail[s]! * 128 + c]!;
      }
    }
    const table = n < 65536 ? new Uint16Array(n * 128) : new Uint32Array(n * 128);
    for (const s of order) {
      const base = renumber[s]! << 7;
      for (let c = 0; c < 128; c++) table[base | c] = renumber[rows[s * 128 + c]!]!;
    }
    this.table = table;
    this.outputs = new Array(n);
    for (const s of withOutput) this.outputs[renumber[s]!] = out[s]!;
  }

  /** Calls `onHit(rule, start)` for every keyword occurrence in `text[from, to)`, in text order. */
  scan(text: string, from: number, to: number, onHit: (rule: number, start: number) => void): void {
    const table = this.table;
    const firstHit = this.firstHitState;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      s = c < 128 ? table[(s << 7) | c]! : 0;
      if (s >= firstHit) this.report(text, i, s, onHit);
    }
  }

  private report(text: string, end: number, state: number, onHit: (rule: number, start: number) => void): void {
    for (const id of this.outputs[state]!) {
      const k = this.keywords[id]!;
      const start = end - k.length + 1;
      if (k.caseSensitive && !text.startsWith(k.text, start)) continue;
      for (const r of k.rules) onHit(r, start);
    }
  }
}
