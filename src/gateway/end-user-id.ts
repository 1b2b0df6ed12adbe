/**
 * Who a request is for, told to the provider without saying who: OpenAI's `safety_identifier` and
 * Anthropic's `metadata.user_id`. Every user of a gateway shares its provider keys, so a provider that
 * sees one of them abuse its service would otherwise act on the key, and so on everyone; with an
 * identifier per user it can block that user's requests alone. The identifier is a hash of the gateway
 * user's id: stable for the user, and neither their name nor anything the provider could trace back.
 * The gateway sets it whatever the client sent, so that no user can pass as another.
 */
import { createHash } from 'node:crypto';
import { withField, withMember } from './json-body.js';

const known = new Map<string, string>();
/** Users whose identifier is kept, at most (it is a hash: made again when forgotten). */
const KEPT = 100_000;

/** A user's identifier at the providers: `kw-` and 32 hex digits of a hash of their id. */
export function endUserId(userId: string): string {
  let id = known.get(userId);
  if (id === undefined) {
    id = `kw-${createHash('sha256').update(`keyward end user:${userId}`).digest('hex').slice(0, 32)}`;
    if (known.size >= KEPT) known.clear();
    known.set(userId, id);
  }
  return id;
}

/**
 * The body with the user's identifier where the provider reads it: spliced in after the opening brace
 * when the client set none (the prompt is not serialised again), set over the client's otherwise.
 */
export function withEndUser(body: Buffer, parsed: Record<string, unknown>, provider: 'openai' | 'anthropic', id: string): Buffer {
  if (provider === 'openai') return withField(body, parsed, 'safety_identifier', JSON.stringify(id));
  const given = parsed.metadata;
  if (given === undefined) return withMember(body, `"metadata":{"user_id":${JSON.stringify(id)}}`);
  // Not an object: Anthropic refuses the request as it would without the gateway.
  if (typeof given !== 'object' || Array.isArray(given)) return body;
  const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  o.metadata = { ...(o.metadata as Record<string, unknown>), user_id: id };
  return Buffer.from(JSON.stringify(o));
}
