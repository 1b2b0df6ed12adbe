/** The check registry: one line per check (DESIGN.md "Checks are pure"). */
import type { Check } from '../types.js';

export const CHECKS: Check[] = [
];
