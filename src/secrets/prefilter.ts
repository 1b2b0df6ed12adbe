/**
 * One pass over the text for every rule keyword at once: an Aho–Corasick automaton compiled to a
 * dense table over ASCII (case folded), so each character costs one table lookup however many
 * rules there are. Case-sensitive keywords are confirmed against the original text on a hit.
 * A regex alternation of all keywords (V8's irregexp) was tried instead and was three times
 * slower: with about a hundred keywords it tries dozens of alternatives at every position.
 */

export interface KeywordSpec {
  text: string;
  caseSensitive: boolean;
  /** Index of the rule the keyword belongs to. */
  rule: number;
}

const FOLD = new Uint8Array(128);
for (let c = 0; c < 128; c++) FOLD[c] = c >= 65 && c <= 90 ? c + 32 : c;
/** Characters above U+00FF, which a latin1 copy of the text does not hold. */
const WIDE = /[^\x00-\xff]/;
const WIDE_RUNS = /[^\x00-\xff]+/g;

export class KeywordMatcher {
  /** Next state for (state << 8) | latin1 char; every char above U+007F leads back to the root. */
  private readonly table: Uint16Array | Uint32Array;
  /** For each state, the keyword ids that end there (including via failure links). */
  private readonly outputs: (readonly number[] | undefined)[];
  /** States numbered at or above this one have outputs. */
  private readonly firstHitState: number;
  private readonly keywords: readonly { text: string; length: number; caseSensitive: boolean; rules: number[] }[];
  /** Length of the longest keyword: a walk started that far back is in step with one from the start. */
  private readonly longest: number;

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
    this.longest = Math.max(0, ...this.keywords.map((k) => k.length));

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
    const table = n < 65536 ? new Uint16Array(n * 256) : new Uint32Array(n * 256);
    for (const s of order) {
      const base = renumber[s]! << 8;
      for (let c = 0; c < 128; c++) table[base | c] = renumber[rows[s * 128 + c]!]!;
    }
    this.table = table;
    this.outputs = new Array(n);
    for (const s of withOutput) this.outputs[renumber[s]!] = out[s]!;
  }

  /** Calls `onHit(rule, start)` for every keyword occurrence in `text[from, to)`, in text order. */
  scan(text: string, from: number, to: number, onHit: (rule: number, start: number) => void): void {
    if (to - from < 1024) {
      this.walkChars(text, from, to, onHit);
      return;
    }
    // Reading a latin1 copy of the text costs less than charCodeAt per character. A character
    // above U+00FF loses its high byte in the copy: it is overwritten with 0x80, which, like any
    // character outside ASCII, leads back to the root.
    const part = from === 0 && to === text.length ? text : text.slice(from, to);
    const bytes = Buffer.from(part, 'latin1');
    if (WIDE.test(part)) {
      WIDE_RUNS.lastIndex = 0;
      for (let m = WIDE_RUNS.exec(part); m !== null; m = WIDE_RUNS.exec(part)) bytes.fill(0x80, m.index, m.index + m[0].length);
    }
    const table = this.table;
    const firstHit = this.firstHitState;
    // Each step's table lookup waits for the previous one, which leaves the CPU mostly idle: walk
    // four quarters in one loop as four independent chains, which it overlaps. A quarter after the
    // first starts `longest` characters early, enough to be in step with a walk from the start;
    // its hits are held back and reported after the earlier quarters', to keep text order.
    const n = bytes.length >> 2;
    const back = Math.min(n, this.longest);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = n - back; j < n; j++) {
      s1 = table[(s1 << 8) | bytes[j]!]!;
      s2 = table[(s2 << 8) | bytes[j + n]!]!;
      s3 = table[(s3 << 8) | bytes[j + 2 * n]!]!;
    }
    const held: number[][] = [[], [], []];
    for (let i = 0; i < n; i++) {
      s0 = table[(s0 << 8) | bytes[i]!]!;
      s1 = table[(s1 << 8) | bytes[i + n]!]!;
      s2 = table[(s2 << 8) | bytes[i + 2 * n]!]!;
      s3 = table[(s3 << 8) | bytes[i + 3 * n]!]!;
      if (s0 >= firstHit) this.report(text, from + i, s0, onHit);
      if (s1 >= firstHit) held[0]!.push(from + i + n, s1);
      if (s2 >= firstHit) held[1]!.push(from + i + 2 * n, s2);
      if (s3 >= firstHit) held[2]!.push(from + i + 3 * n, s3);
    }
    for (const h of held) for (let k = 0; k < h.length; k += 2) this.report(text, h[k]!, h[k + 1]!, onHit);
    for (let j = 4 * n; j < bytes.length; j++) {
      s3 = table[(s3 << 8) | bytes[j]!]!;
      if (s3 >= firstHit) this.report(text, from + j, s3, onHit);
    }
  }

  private walkChars(text: string, from: number, to: number, onHit: (rule: number, start: number) => void): void {
    const table = this.table;
    const firstHit = this.firstHitState;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      s = c < 256 ? table[(s << 8) | c]! : 0;
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
