/**
 * Validates a SARIF log against the official SARIF 2.1.0 (rtm.5) JSON schema, as shipped by
 * Microsoft's `@microsoft/jest-sarif` package (a draft-04 schema, hence `ajv-draft-04`).
 */
import { createRequire } from 'node:module';
import type AjvDraft04 from 'ajv-draft-04';
import type formatsPlugin from 'ajv-formats';

const require = createRequire(import.meta.url);
// CommonJS packages: require gives the class and the plugin themselves, typed by their default exports.
const Ajv = require('ajv-draft-04') as (typeof AjvDraft04)['default'];
const addFormats = require('ajv-formats') as (typeof formatsPlugin)['default'];
const SCHEMA = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;

// unicodeRegExp off: the schema's language-tag pattern has a stray ']' that only non-unicode regexes accept.
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate = ajv.compile(SCHEMA);

/** The schema errors of `doc` as readable lines; empty when the document is valid SARIF 2.1.0. */
export function sarifErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
