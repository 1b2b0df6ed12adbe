/**
 * keyward's own gateway tokens (`kw_<id>_<secret>`, the secrets rule `keyward-gateway-token`) in what
 * is shipped to users: how an app calls its gateway, safe when the token may call only the app route.
 * The scan and the audit report one as a scope to check, not as a leaked provider key.
 */

export const GATEWAY_TOKEN_RULE = 'keyward-gateway-token';

/** True for a match of the gateway-token rule. */
export function isGatewayToken(m: { ruleId: string }): boolean {
  return m.ruleId === GATEWAY_TOKEN_RULE;
}

/** What to do about a gateway token that users can read; `revokeHow` names the command for this one. */
export function gatewayTokenAdvice(revokeHow?: string): string {
  return [
    'A gateway token in a browser or app bundle is how the app calls `keyward gateway`, and anyone can copy it from there: it is safe only when it can do no more than the app needs.',
    "Check its scopes with `keyward tokens list`: it should be issued with `--scopes app` (the one chat call, the server's model and system prompt), for a user with per-minute limits and a budget.",
    `If it may call the providers' APIs (no scopes, or openai/anthropic/gemini), whoever copies it has a general proxy billed to you. ${revokeHow ?? 'Rotate it with `keyward tokens rotate <id>`'}, and ship one issued with \`--scopes app\`.`,
  ].join('\n');
}
