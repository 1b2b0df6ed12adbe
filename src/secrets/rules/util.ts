/** Small helpers for writing rules. */

/** Characters that continue a token: a key is never preceded or followed by one of these. */
const TOKEN = 'A-Za-z0-9_\\-';

/** A pattern for a prefixed key, bounded so that it never matches inside a longer token. */
export function token(body: string, flags = ''): RegExp {
  return new RegExp(`(?<![${TOKEN}])(?<secret>${body})(?![${TOKEN}])`, 'g' + flags);
}

/** A bounded pattern with its own neighbour classes (base64 values: `=` may precede, not follow). */
export function tokenWith(body: string, before: string, after: string, flags = ''): RegExp {
  return new RegExp(`(?<![${before}])(?<secret>${body})(?![${after}])`, 'g' + flags);
}

/** Default window for context rules: the value sits on the same or a nearby line as the keyword. */
export const NEAR = { before: 120, after: 200 } as const;
