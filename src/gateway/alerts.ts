/**
 * Alerts (soft budget crossed, hard budget reached, user auto-disabled, provider key rejected, a token used outside its
 * networks or scopes, a secret in a prompt): always a warn log line, plus an optional callback and an
 * optional webhook. The webhook gets a JSON POST whose `text` Slack shows as it is, signed with
 * HMAC-SHA256 when a secret is set, and tried again on a failure, since each alert goes out once a
 * period and one lost POST would lose it.
 */
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { KeywardError } from '../errors.js';
import { scanText } from '../secrets/index.js';
import { isHttpUrl } from './config.js';
import type { Logger } from './logger.js';

export interface Alert {
  kind: 'soft_budget' | 'budget_reached' | 'anomaly_disabled' | 'provider_key_rejected' | 'store_unavailable' | 'outside_network' | 'outside_scope' | 'secret_in_prompt';
  message: string;
  userId?: string;
  user?: string;
}

export interface AlertOptions {
  /** Where to POST each alert. A Slack or Discord webhook URL is a credential: keep it in the environment. */
  webhookUrl?: string;
  /** Signs each POST: `x-keyward-signature: v1=<hex HMAC-SHA256 of "<x-keyward-timestamp>.<body>">`. */
  webhookSecret?: string;
  /** Waits before each retry of a failed POST (default 1 s, then 5 s). */
  webhookRetryMs?: number[];
  onAlert?: (alert: Alert) => void;
}

const DEFAULT_RETRY_MS = [1000, 5000];

/** The headers that sign a webhook body; the receiver recomputes the HMAC and checks the timestamp is recent. */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-keyward-timestamp': String(timestamp), 'x-keyward-signature': `v1=${mac}` };
}

/**
 * The webhook settings of a gateway started from the command line: the URL from
 * KEYWARD_ALERT_WEBHOOK_URL (the environment or the .env) or the config's `alerts.webhookUrl`, and the
 * signing secret from KEYWARD_ALERT_SECRET. A URL that carries a credential (a Slack webhook's, or
 * anything else the secrets engine knows) is refused in the config, which is meant to be committed.
 */
export function webhookSettings(configured: { webhookUrl?: string } | undefined, env: Record<string, string | undefined>): Pick<AlertOptions, 'webhookUrl' | 'webhookSecret'> {
  const fromEnv = env.KEYWARD_ALERT_WEBHOOK_URL?.trim() || undefined;
  const inConfig = configured?.webhookUrl;
  if (inConfig !== undefined && scanText(inConfig).length > 0) {
    throw new KeywardError('KW_BAD_CONFIG', "the config's alerts.webhookUrl holds a credential (this webhook URL is itself the key to post to the channel), and the config is meant to be committed", {
      hint: 'move it to KEYWARD_ALERT_WEBHOOK_URL in the mode-600 .env (or the environment) and take it out of the config',
    });
  }
  const url = fromEnv ?? inConfig;
  if (fromEnv !== undefined) {
    // The value is not repeated: it is a credential.
    if (!isHttpUrl(fromEnv)) throw new KeywardError('KW_BAD_CONFIG', 'KEYWARD_ALERT_WEBHOOK_URL is not an http(s) URL', { hint: 'set it to the webhook URL your chat or incident tool gave you' });
  }
  const secret = env.KEYWARD_ALERT_SECRET?.trim() || undefined;
  if (secret !== undefined && secret.length < 16) {
    throw new KeywardError('KW_BAD_CONFIG', `KEYWARD_ALERT_SECRET is too short (${secret.length} characters; at least 16)`, { hint: 'generate one with: openssl rand -hex 24' });
  }
  return { webhookUrl: url, webhookSecret: secret };
}

export class Alerter {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly options: AlertOptions = {},
    private readonly counted?: (kind: Alert['kind']) => void,
  ) {}

  send(alert: Alert): void {
    this.counted?.(alert.kind);
    this.log.warn({ alert: alert.kind, user: alert.user, userId: alert.userId }, alert.message);
    try {
      this.options.onAlert?.(alert);
    } catch (err) {
      this.log.error({ err }, 'alert callback failed');
    }
    if (this.options.webhookUrl) {
      const p = this.post(this.options.webhookUrl, alert).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Waits for the webhook POSTs still going (a clean shutdown), at most `timeoutMs`. */
  async drain(timeoutMs = 5000): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async post(url: string, alert: Alert): Promise<void> {
    const body = JSON.stringify({ source: 'keyward', ...alert, text: `keyward: ${alert.message}`, at: new Date().toISOString() });
    const waits = this.options.webhookRetryMs ?? DEFAULT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      let why: string;
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'keyward-alerts' };
        if (this.options.webhookSecret) Object.assign(headers, signWebhook(this.options.webhookSecret, body));
        const r = await request(url, { method: 'POST', headers, body, headersTimeout: 5000, bodyTimeout: 5000 });
        await r.body.dump();
        if (r.statusCode < 300) return;
        why = `the webhook answered ${r.statusCode}`;
        // A 4xx other than 429 will not change on a retry (a wrong or revoked URL).
        if (r.statusCode < 500 && r.statusCode !== 429) {
          this.log.error({ alert: alert.kind, status: r.statusCode }, `alert webhook refused the alert (${r.statusCode}); check the webhook URL`);
          return;
        }
      } catch (err) {
        why = (err as { code?: string }).code ?? 'connection error';
      }
      if (attempt >= waits.length) {
        // The URL is not logged: a Slack or Discord webhook URL is a credential.
        this.log.error({ alert: alert.kind, attempts: attempt + 1 }, `alert webhook failed (${why}); the alert is only in this log`);
        return;
      }
      await new Promise((r) => setTimeout(r, waits[attempt]));
    }
  }
}
