/**
 * Alerts (soft budget crossed, user auto-disabled, provider key rejected): always a warn log line,
 * plus an optional callback and an optional webhook (JSON POST, bounded, fire and forget).
 */
import { request } from 'undici';
import type { Logger } from './logger.js';

export interface Alert {
  kind: 'soft_budget' | 'anomaly_disabled' | 'provider_key_rejected' | 'store_unavailable' | 'outside_network' | 'outside_scope' | 'secret_in_prompt';
  message: string;
  userId?: string;
  user?: string;
}

export interface AlertOptions {
  webhookUrl?: string;
  onAlert?: (alert: Alert) => void;
}

export class Alerter {
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
    const url = this.options.webhookUrl;
    if (url) {
      request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: 'keyward', ...alert, at: new Date().toISOString() }),
        headersTimeout: 5000,
        bodyTimeout: 5000,
      })
        .then((r) => r.body.dump())
        .catch((err: unknown) => this.log.error({ err }, 'alert webhook failed'));
    }
  }
}
