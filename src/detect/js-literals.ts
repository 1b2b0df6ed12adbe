/**
 * Which string or template literal (if any) holds a position in compiled JavaScript, found by one
 * linear pass that tracks strings, template literals (with `${}` nesting), comments and regular
 * expression literals. Used to tell a code sample shipped as text (docs sites compile their
 * examples into strings) from code that runs. A full parser would be exact but is about 50×
 * slower on a multi-megabyte bundle; this lexer only needs to know "inside a literal or not".
 */

export interface LiteralSpan {
  start: number;
  end: number;
}

/** After these characters a `/` starts a regular expression, not a division. */
const REGEX_AFTER = new Set('(,=:[!&|?{};+-*%<>~^'.split(''));
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await']);

/**
 * For each position (any order), the literal span that contains it, or undefined when it sits in
 * code. Positions past a syntax the lexer cannot follow are reported as code (undefined).
 */
export function literalSpansAt(text: string, positions: readonly number[]): Array<LiteralSpan | undefined> {
  const out: Array<LiteralSpan | undefined> = positions.map(() => undefined);
  if (positions.length === 0) return out;
  const order = positions.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  let next = 0;
  const record = (start: number, end: number) => {
    while (next < order.length && order[next]![0] < start) next++;
    while (next < order.length && order[next]![0] < end) {
      out[order[next]![1]] = { start, end };
      next++;
    }
  };
  const last = order[order.length - 1]![0];
  // Stack of open template literals: the brace depth at which each `${` started.
  const templates: number[] = [];
  let depth = 0;
  let prevSignificant = '';
  let prevWord = '';
  let i = 0;
  const n = text.length;
  while (i < n && i <= last) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const start = i;
      i++;
      while (i < n && text[i] !== c && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      record(start, Math.min(n, i + 1));
      i++;
      prevSignificant = c;
      prevWord = '';
      continue;
    }
    if (c === '`' || (c === '}' && templates.length > 0 && templates[templates.length - 1] === depth)) {
      // A template literal, or the rest of one after a `${…}` substitution.
      if (c === '}') templates.pop();
      const start = i;
      i++;
      let opened = false;
      while (i < n) {
        if (text[i] === '\\') i += 2;
        else if (text[i] === '`') break;
        else if (text[i] === '$' && text[i + 1] === '{') {
          opened = true;
          break;
        } else i++;
      }
      if (opened) {
        record(start, i);
        templates.push(depth);
        i += 2;
        prevSignificant = '{';
      } else {
        record(start, Math.min(n, i + 1));
        i++;
        prevSignificant = '`';
      }
      prevWord = '';
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? n : close + 2;
      continue;
    }
    if (c === '/' && (prevSignificant === '' || REGEX_AFTER.has(prevSignificant) || REGEX_AFTER_WORDS.has(prevWord))) {
      // A regular expression literal: skip it (with its character classes) so its quotes do not count.
      i++;
      let inClass = false;
      while (i < n && text[i] !== '\n') {
        const d = text[i]!;
        if (d === '\\') i += 2;
        else if (inClass) {
          if (d === ']') inClass = false;
          i++;
        } else if (d === '[') {
          inClass = true;
          i++;
        } else if (d === '/') break;
        else i++;
      }
      i++;
      while (i < n && isWordChar(text.charCodeAt(i))) i++;
      prevSignificant = ')';
      prevWord = '';
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    if (isWordChar(text.charCodeAt(i))) {
      let j = i;
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      // Only short words can be the keywords that precede a regular expression.
      prevWord = j - i <= 6 ? text.slice(i, j) : '';
      prevSignificant = 'a';
      i = j;
      continue;
    }
    if (c !== ' ' && c !== '\n' && c !== '\t' && c !== '\r') {
      prevSignificant = c;
      prevWord = '';
    }
    i++;
  }
  return out;
}

/** [A-Za-z0-9_$] */
function isWordChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 36;
}
