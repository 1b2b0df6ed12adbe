/** `--verify-url`, shared by `keyward secrets` and `keyward scan`. */
import { KeywardError } from '../errors.js';
import { isLiveFamily, LIVE_FAMILIES, type LiveFamily } from '../secrets/index.js';

/** `--verify-url openai=http://127.0.0.1:9000/v1`, each checked: a known family, and a URL a key may travel to. */
export function parseVerifyUrls(list: string[]): Partial<Record<LiveFamily, string>> {
  const out: Partial<Record<LiveFamily, string>> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const family = eq > 0 ? item.slice(0, eq) : '';
    const raw = item.slice(eq + 1);
    if (!isLiveFamily(family)) throw new KeywardError('KW_USAGE', `--verify-url '${item}': the part before '=' must name a family of keys: ${Object.keys(LIVE_FAMILIES).join(', ')}`, { hint: 'e.g. --verify-url openai=https://gateway.internal/v1' });
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new KeywardError('KW_USAGE', `--verify-url '${item}': '${raw}' is not a URL`, { hint: 'e.g. --verify-url openai=https://gateway.internal/v1' });
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new KeywardError('KW_USAGE', `--verify-url '${item}': the keys found would travel to it ${url.protocol === 'http:' ? 'unencrypted' : `over ${url.protocol}`}`, { hint: 'use an https:// URL (http:// only on this machine: 127.0.0.1, localhost)' });
    }
    out[family] = raw;
  }
  return out;
}

