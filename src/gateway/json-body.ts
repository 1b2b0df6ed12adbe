/**
 * The gateway's edits to a client's JSON body, made without serialising a possibly long prompt again:
 * a member added first, spliced in after the object's opening brace.
 */

/** `body` (a JSON object with at least one member) with `member` (`"key":value`) added first; the caller knows the key is not there yet. */
export function withMember(body: Buffer, member: string | Buffer): Buffer {
  const head = typeof member === 'string' ? Buffer.from(`{${member},`) : member;
  return Buffer.concat([head, body.subarray(body.indexOf(0x7b) + 1)]);
}
