import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../store/memory.js';
import type { Counters } from '../store/types.js';
import { Alerter, type Alert } from './alerts.js';
import { AnomalyDetector } from './anomaly.js';
import { createLogger } from './logger.js';

function setup(counters?: Counters) {
  const lines: string[] = [];
  const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
  const alerts: Alert[] = [];
  const dir = new MemoryDirectory();
  const user = dir.addUser('svc', {});
  const guard = new AnomalyDetector({ maxRequestsPerMinute: 2, maxAddressesPerHour: 2 }, dir, new Alerter(log, { onAlert: (a) => alerts.push(a) }), log, counters);
  return { lines, log, alerts, dir, user, guard };
}

describe('the anomaly guard', () => {
  it('counts addresses once each: the same address again is no new one', () => {
    const { dir, user, guard } = setup();
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.1']) guard.request({ ...user, disabled: false }, ip);
    // Three requests: past two a minute, but only two addresses.
    expect(dir.getUser('svc')).toMatchObject({ disabled: true, disabledReason: 'anomaly: more than 2 requests per minute' });
  });

  it('lets traffic through and says so, once a minute, when its store cannot count', async () => {
    const down = { admit: () => Promise.reject(new Error('connection is closed')) } as unknown as Counters;
    const { lines, log, dir, user, guard } = setup(down);
    for (let i = 0; i < 5; i++) guard.request(user, `10.0.0.${i}`);
    await new Promise((r) => setTimeout(r, 10));
    log.flush();
    expect(dir.getUser('svc')!.disabled).toBe(false);
    expect(lines.join('').match(/the anomaly guard could not count/g)).toHaveLength(1);
  });

  it('does not disable (or alert) again a user another instance has just disabled', () => {
    const { alerts, dir, user, guard } = setup();
    dir.setDisabled('svc', true, 'anomaly: elsewhere');
    for (let i = 0; i < 4; i++) guard.request(user, '10.0.0.1');
    expect(alerts).toEqual([]);
    expect(dir.getUser('svc')!.disabledReason).toBe('anomaly: elsewhere');
  });
});
