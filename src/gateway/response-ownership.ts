/**
 * Stored OpenAI responses belong to the provider project, not to one user: whoever holds a response's
 * id can continue its conversation (`previous_response_id`, where the model sees all that was said)
 * or read it back, and every user of a gateway shares the gateway's projects. So the gateway tags
 * each response it has OpenAI store with the user it made it for (`metadata.keyward_user`), and a
 * user reaches only responses tagged with their own id: the tag says whose a response is even after a
 * restart, or on another instance, at the cost of one look at the response when the gateway does not
 * remember it.
 */
import type { Cancel } from './cancel.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject, withMember } from './json-body.js';
import type { OwnerRecord } from './owners.js';
import type { Upstream } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';

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

/**
 * Whose an OpenAI object is by its tag (a stored response, a batch, a conversation, a vector store):
 * asked of OpenAI at `path` with any key of the pool; undefined when it is not there or untagged.
 * `what` names it in the error when OpenAI cannot be asked.
 */
export async function ownerFromTag(up: Upstream, path: string, what: string, cancel: Cancel, answerText: (answer: UpstreamAnswer) => Promise<string>): Promise<OwnerRecord | undefined> {
  const sent = await up.send(path, 'GET', { accept: 'application/json' }, undefined, cancel);
  if (sent.res.statusCode >= 300) {
    await sent.res.body.dump();
    if (sent.res.statusCode === 404) return undefined;
    throw new GatewayHttpError(502, 'upstream_error', `the gateway could not check whose ${what} is (${up.provider.name} answered ${sent.res.statusCode}); try again`);
  }
  const o = jsonObject(await answerText(sent.res));
  if (o === undefined) throw new GatewayHttpError(502, 'upstream_error', `${up.provider.name} answered with something that is not a JSON object`);
  const user = (o.metadata as Record<string, unknown> | null | undefined)?.[OWNER_KEY];
  if (typeof user !== 'string') return undefined;
  return { user, provider: up.provider.name, key: sent.key.label, ...(typeof o.model === 'string' ? { model: o.model } : {}) };
}
