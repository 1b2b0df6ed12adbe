/** The one way a check's TestResult is built: its score modifier comes from the section's table. */
import type { TestResult } from './types.js';

export function resultsFrom<T extends Record<string, number>>(table: T): (result: keyof T & string, pass: boolean, data?: Record<string, unknown>) => TestResult {
  return (result, pass, data) => (data === undefined ? { result, pass, scoreModifier: table[result] } : { result, pass, scoreModifier: table[result], data });
}
