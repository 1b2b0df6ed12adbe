/**
 * How the gateway reaches the providers: directly, or through the egress proxy that HTTPS_PROXY or
 * HTTP_PROXY names (NO_PROXY excepted), as curl and most HTTP tools do; many networks only let
 * servers out through one. undici's EnvHttpProxyAgent does the proxying (CONNECT tunnels); this only
 * reads the settings from the gateway's environment and checks them.
 */
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { KeywardError } from '../errors.js';

/** Never sent through a proxy: a local model server or a test upstream on this machine. */
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

export function egressDispatcher(env: Record<string, string | undefined>, options: Agent.Options): Dispatcher {
  const httpsProxy = proxySetting(env, 'https_proxy');
  const httpProxy = proxySetting(env, 'http_proxy');
  if (!httpsProxy && !httpProxy) return new Agent(options);
  const noProxy = [env.no_proxy ?? env.NO_PROXY ?? '', ...LOOPBACK].filter(Boolean).join(',');
  return new EnvHttpProxyAgent({ ...options, httpProxy, httpsProxy, noProxy });
}

function proxySetting(env: Record<string, string | undefined>, name: string): string {
  const upper = name.toUpperCase();
  let value = (env[name] ?? env[upper] ?? '').trim();
  if (value === '') return '';
  // As curl: `proxy.example:3128` without a scheme means http://.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `http://${value}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value may hold a password: say which setting is wrong, never what it holds.
    throw new KeywardError('KW_BAD_CONFIG', `${upper} is not a URL`, { hint: 'use e.g. http://proxy.example:3128 (or http://user:password@proxy.example:3128)' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KeywardError('KW_BAD_CONFIG', `${upper} must be an http:// or https:// proxy, not ${url.protocol}//`, { hint: 'use e.g. http://proxy.example:3128' });
  }
  return value;
}
