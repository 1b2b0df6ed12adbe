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

    const n = goto.length;
    const table = n < 65536 ? new Uint16Array(n * 128) : new Uint32Array(n * 128);
    const fail = new Int32Array(n);
    const outputs: (number[] | undefined)[] = new Array(n);
    const queue: number[] = [];
    for (let c = 0; c < 128; c++) {
      const next = goto[0]!.get(c) ?? 0;
      table[c] = next;
      if (next !== 0) queue.push(next);
    }
    outputs[0] = undefined;
    for (const s of queue) outputs[s] = own[s]!.length ? own[s] : undefined;
    // Breadth-first: a state's failure target is always complete before the state itself.
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      for (let c = 0; c < 128; c++) {
        const next = goto[s]!.get(c);
        if (next === undefined) {
          table[(s << 7) | c] = table[(fail[s]! << 7) | c]!;
        } else {
          fail[next] = table[(fail[s]! << 7) | c]!;
          const inherited = outputs[fail[next]!];
          const mine = own[next]!;
          outputs[next] = mine.length || inherited ? [...mine, ...(inherited ?? [])] : undefined;
          table[(s << 7) | c] = next;
          queue.push(next);
        }
      }
    }
    this.table = table;
    this.outputs = outputs;
  }

  /** Calls `onHit(rule, start)` for every keyword occurrence in `text[from, to)`, in text order. */
  scan(text: string, from: number, to: number, onHit: (rule: number, start: number) => void): void {
    const table = this.table;
    const outputs = this.outputs;
    const keywords = this.keywords;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) {
        s = 0;
        continue;
      }
      s = table[(s << 7) | FOLD[c]!]!;
      const out = outputs[s];
      if (out === undefined) continue;
      for (const id of out) {
        const k = keywords[id]!;
        const start = i - k.length + 1;
        if (k.caseSensitive && !text.startsWith(k.text, start)) continue;
        for (const r of k.rules) onHit(r, start);
      }
    }
  }
}
