/**
 * The gateway's edits to a client's JSON body, made without serialising a possibly long prompt again:
 * a member added first, spliced in after the object's opening brace.
 */

/**
 * `body` (a JSON object with at least one member) with `member` (`"key":value`) added first. The
 * caller knows the key is not there yet, not even as null (`key in parsed`): a parser keeps the last
 * of two members of one name, so the client's would win over the gateway's.
 */
export function withMember(body: Buffer, member: string | Buffer): Buffer {
  const open = body.indexOf(0x7b);
  const head = typeof member === 'string' ? Buffer.from(`{${member},`) : member;
  // An empty object (`{}`) takes the member without the comma that would follow it.
  if (isEmptyAfter(body, open + 1)) return Buffer.concat([head.subarray(0, head.lastIndexOf(0x2c)), body.subarray(open + 1)]);
  return Buffer.concat([head, body.subarray(open + 1)]);
}

/** True when the first byte past `from` that is not JSON whitespace closes the object. */
function isEmptyAfter(body: Buffer, from: number): boolean {
  for (let i = from; i < body.length; i++) {
    const b = body[i];
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7d;
  }
  return false;
}

/**
 * `body` with `key` set to `value` (JSON text): spliced in first when the client sent no such key,
 * set over the client's (the body parsed and written again) when it did, even as null.
 */
export function withField(body: Buffer, parsed: Record<string, unknown>, key: string, value: string): Buffer {
  if (!(key in parsed)) return withMember(body, `${JSON.stringify(key)}:${value}`);
  const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  o[key] = JSON.parse(value) as unknown;
  return Buffer.from(JSON.stringify(o));
}

/** The JSON object in `buf`; undefined when it holds anything else, or no JSON at all. */
export function jsonObject(buf: Buffer | string): Record<string, unknown> | undefined {
  try {
    const o = JSON.parse(typeof buf === 'string' ? buf : buf.toString('utf8')) as unknown;
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
