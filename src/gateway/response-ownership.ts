/**
 * Stored OpenAI responses belong to the provider project, not to one user: whoever holds a response's
 * id can continue its conversation (`previous_response_id`, where the model sees all that was said)
 * or read it back, and every user of a gateway shares the gateway's projects. So the gateway tags
 * each response it has OpenAI store with the user it made it for (`metadata.keyward_user`), and a
 * user reaches only responses tagged with their own id: the tag says whose a response is even after a
 * restart, or on another instance, at the cost of one look at the response when the gateway does not
 * remember it.
 */
import { badRequest } from './http-error.js';
import { withMember } from './json-body.js';

/** The metadata key that names the response's user. */
export const OWNER_KEY = 'keyward_user';
/** OpenAI's limit on a response's metadata. */
const MAX_METADATA_KEYS = 16;
/** A response's id near the start of an answer or of a stream's first event. */
export const RESPONSE_ID_IN_ANSWER = /"id":\s*"(resp_[A-Za-z0-9_-]{1,200})"/;

/** The request with `metadata.keyward_user` set to the user (a client's own value for it replaced). */
export function tagOwner(raw: Buffer, parsed: Record<string, unknown>, userId: string): Buffer {
  const given = parsed.metadata;
  if (given === undefined) {
    // Spliced in after the opening brace rather than re-serialising a possibly long prompt.
    return withMember(raw, `"metadata":{"${OWNER_KEY}":${JSON.stringify(userId)}}`);
  }
  if (typeof given !== 'object' || Array.isArray(given)) throw badRequest("'metadata' must be an object of strings");
  // null: sent, but empty.
  const own = Object.keys(given ?? {}).filter((k) => k !== OWNER_KEY);
  if (own.length >= MAX_METADATA_KEYS) throw badRequest(`'metadata' may hold ${MAX_METADATA_KEYS - 1} keys through the gateway, which adds '${OWNER_KEY}' to say whose the response is`);
  return Buffer.from(JSON.stringify({ ...parsed, metadata: { ...(given as Record<string, unknown>), [OWNER_KEY]: userId } }));
}

/** The user a response object (a JSON answer) was made for, by its tag; undefined when untagged. */
export function taggedOwner(answer: Buffer): string | undefined {
  try {
    const o = JSON.parse(answer.toString('utf8')) as { metadata?: Record<string, unknown> | null } | null;
    const owner = o?.metadata?.[OWNER_KEY];
    return typeof owner === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}
