/**
 * `--json`: the report objects as `scanSite` returns them (schema `keyward.scan/1`, see
 * docs/scan-json.md); several sites print one array in the order given, and a site that
 * could not be scanned prints `{ schema, input, error: { code, message, hint } }` in its place.
 */
import { SCAN_SCHEMA } from '../scan-site.js';
import type { ScanOutcome } from './summary.js';

export function renderJson(outcomes: readonly ScanOutcome[], options: { array: boolean }): string {
  const items = outcomes.map((o) => ('report' in o ? o.report : { schema: SCAN_SCHEMA, input: o.input, error: o.error }));
  return `${JSON.stringify(options.array ? items : items[0], null, 2)}\n`;
}
