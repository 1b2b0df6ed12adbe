/**
 * Maps an offset in a text to its 1-based line and column in O(log n). The line starts are
 * computed on the first lookup only: most texts have no hit and never pay for them.
 */
export function lineLocator(text: string): (index: number) => { line: number; column: number } {
  let starts: number[] | undefined;
  return (index) => {
    if (!starts) {
      starts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - starts[lo]! + 1 };
  };
}
