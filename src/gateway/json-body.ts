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
  const head = typeof member === 'string' ? Buffer.from(`{${member},`) : member;
  return Buffer.concat([head, body.subarray(body.indexOf(0x7b) + 1)]);
}
