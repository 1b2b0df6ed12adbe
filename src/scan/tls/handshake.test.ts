import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsServer, testCertificates, type TestCertificates, type TestHttpsServer } from '../../../test/helpers/certs.js';
import { handshake, secureContextFor, type ContextConfig, type HandshakeResult } from './handshake.js';

let certs: TestCertificates;
let server: TestHttpsServer;

beforeAll(async () => {
  certs = await testCertificates();
  server = await startHttpsServer(undefined, { cert: certs.valid.cert, key: certs.valid.key });
});
afterAll(() => server?.close());

function shake(config: ContextConfig): Promise<HandshakeResult> {
  return handshake({ address: '127.0.0.1', port: server.port, servername: 'localhost' }, { context: secureContextFor(config), capturePeer: true, timeoutMs: 5000, signal: new AbortController().signal });
}

describe('secure contexts of the TLS probe', () => {
  it('trusts an extra CA added to the default roots, without trusting it in contexts that lack it', async () => {
    const withCa = await shake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ca: [certs.rootCa] });
    expect(withCa.ok && withCa.authorized).toBe(true);
    const without = await shake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    expect(without.ok && without.authorized).toBe(false);
    expect(without.ok && without.authorizationError).toBeTruthy();
  });

  it('completes a probe handshake with an empty trust store, reporting the suite but trusting nothing', async () => {
    const probe = await shake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE+AESGCM', ca: [certs.rootCa], verifyChain: false });
    expect(probe.ok).toBe(true);
    if (!probe.ok) return;
    expect(probe.protocol).toBe('TLSv1.2');
    expect(probe.cipher.name).toMatch(/^ECDHE-RSA-AES\d+-GCM-SHA\d+$/);
    expect(probe.authorized).toBe(false);
  });
});
