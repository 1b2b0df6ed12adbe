/**
 * The TLS section end to end below scanSite: real HTTPS servers on 127.0.0.1 with certificates
 * generated here, probed by gatherTls, judged by the tls-* checks, graded by gradeTlsSection.
 */
import { X509Certificate } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/finding.js';
import { CHECKS } from '../../../src/scan/checks/index.js';
import { MOZILLA_INTERMEDIATE_CIPHERS } from '../../../src/scan/checks/tls-support.js';
import { createFetchContext } from '../../../src/scan/fetch/context.js';
import { gradeScan } from '../../../src/scan/grade.js';
import { describeCertificate, ocspResponseStatus, signatureAlgorithmOid } from '../../../src/scan/tls/certificate.js';
import type { TlsFacts } from '../../../src/scan/tls/facts.js';
import { gatherTls } from '../../../src/scan/tls/gather.js';
import { rateTls, type TlsRating } from '../../../src/scan/tls/grade.js';
import type { CheckOutput, HeaderMap, ScanFacts, TestResult } from '../../../src/scan/types.js';
import { startHttpServer } from '../../helpers/http-server.js';
import { dhParams, startHttpsServer, testCertificates, type HttpsServerOptions, type TestCertificates, type TestHttpsServer } from '../../helpers/certs.js';

let certs: TestCertificates;
const servers: TestHttpsServer[] = [];

beforeAll(async () => {
  certs = await testCertificates();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(options: HttpsServerOptions): Promise<TestHttpsServer> {
  const s = await startHttpsServer(undefined, options);
  servers.push(s);
  return s;
}

/** A real GatherContext: `localhost:PORT` resolves to 127.0.0.1, the test root CA is trusted unless told otherwise. */
async function probe(port: number, opts: { trustTestCa?: boolean; requestTimeoutMs?: number; signal?: AbortSignal } = {}): Promise<TlsFacts> {
  const ctx = createFetchContext({
    allowPrivate: true,
    resolve: [`localhost:${port}:127.0.0.1`],
    ...(opts.trustTestCa === false ? {} : { ca: certs.rootCa }),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  try {
    return await gatherTls(ctx, new URL(`https://localhost:${port}/`));
  } finally {
    ctx.close();
  }
}

interface Judged {
  tls: TlsFacts;
  findings: Finding[];
  tests: Record<string, TestResult>;
  rating: TlsRating;
}

/** The ScanFacts a scan of that page would hold, with the given response headers. */
function factsOf(tls: TlsFacts, headers: HeaderMap = {}, http?: ScanFacts['http']): ScanFacts {
  const url = `https://${tls.host}:${tls.port}/`;
  return {
    target: { input: url, url, host: tls.host },
    final: { url, status: 200, headers, rawHeaders: [], body: '', bodyTruncated: false, chain: [] },
    https: true,
    tls,
    ...(http ? { http } : {}),
  };
}

function judge(tls: TlsFacts, headers: HeaderMap = {}, http?: ScanFacts['http']): Judged {
  const facts = factsOf(tls, headers, http);
  const outputs: Array<{ output: CheckOutput }> = CHECKS.filter((c) => c.section === 'tls').map((c) => ({ output: c.run(facts) }));
  const findings = outputs.flatMap((o) => o.output.findings);
  const tests = Object.assign({}, ...outputs.map((o) => o.output.tests)) as Record<string, TestResult>;
  return { tls, findings, tests, rating: rateTls(tests) };
}

const ids = (j: Judged): string[] => j.findings.map((f) => f.id);
const HSTS_YEAR: HeaderMap = { 'strict-transport-security': ['max-age=31536000; includeSubDomains'] };

describe('gatherTls against a well-configured server', () => {
  let j: Judged;
  beforeAll(async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, alpnProtocols: ['h2', 'http/1.1'], ciphers: MOZILLA_INTERMEDIATE_CIPHERS });
    j = judge(await probe(s.port));
  });

  it('sees TLS 1.2 and 1.3 accepted and refuses TLS 1.0 and 1.1 each by its own handshake', () => {
    expect(j.tls.protocols['TLSv1.3'].accepted).toBe(true);
    expect(j.tls.protocols['TLSv1.2'].accepted).toBe(true);
    expect(j.tls.protocols.TLSv1.accepted).toBe(false);
    expect(j.tls.protocols['TLSv1.1'].accepted).toBe(false);
    expect(j.tls.protocols.TLSv1.legacyProbe).toBe(true);
    expect(j.tls.protocols.TLSv1.error).toMatch(/version/i);
  });

  it('enumerates the accepted suites of each protocol, the modern client negotiating TLS 1.3', () => {
    const tls13 = j.tls.suites.filter((s) => s.protocol === 'TLSv1.3').map((s) => s.standardName);
    expect(tls13).toEqual(expect.arrayContaining(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256']));
    const tls12 = j.tls.suites.filter((s) => s.protocol === 'TLSv1.2');
    expect(tls12.some((s) => s.name === 'ECDHE-RSA-AES128-GCM-SHA256' && s.forwardSecrecy && s.aead)).toBe(true);
    expect(j.tls.suitesComplete).toBe(true);
    expect(j.tls.negotiated?.protocol).toBe('TLSv1.3');
  });

  it('reads the chain from the certificate bytes: names, key, signature algorithm, issuer location', () => {
    const [leaf, intermediate] = j.tls.chain;
    expect(leaf?.altNames).toEqual(['localhost', '127.0.0.1', '0:0:0:0:0:0:0:1']);
    expect(leaf?.keyType).toBe('rsa');
    expect(leaf?.keyBits).toBe(2048);
    expect(leaf?.signatureAlgorithm).toMatchObject({ name: 'ecdsa-with-SHA256', hash: 'SHA-256' });
    expect(leaf?.caIssuers.length).toBe(1);
    expect(intermediate?.isCa).toBe(true);
    expect(j.tls.trust).toEqual({ trusted: true, chainIncomplete: false });
    expect(j.tls.hostname).toEqual({ matches: true });
  });

  it('sees h2 offered through ALPN and no stapled OCSP response', () => {
    expect(j.tls.alpn).toEqual({ h2: true, selected: 'h2' });
    expect(j.tls.ocspStapled).toBe(false);
    expect(ids(j)).toEqual(['tls-ocsp-not-stapled']);
  });

  it('grades A (score from protocol 100, key exchange 90, cipher 90), and A+ once HSTS lasts 180 days or more', () => {
    expect(j.rating).toMatchObject({ sslLabs: 'A', grade: 'A', rawScore: 93, protocolScore: 100, keyExchangeScore: 90, cipherScore: 90 });
    expect(judge(j.tls, HSTS_YEAR).rating.grade).toBe('A+');
    expect(judge(j.tls, { 'strict-transport-security': ['max-age=86400'] }).rating.grade).toBe('A');
  });

  it('withholds the A+ when plain HTTP does not redirect to HTTPS', () => {
    const noRedirect = judge(j.tls, HSTS_YEAR, { chain: [{ url: 'http://localhost/', status: 200 }], finalUrl: 'http://localhost/' });
    expect(noRedirect.tests['tls-hsts']?.result).toBe('tls-hsts-without-redirect');
    expect(noRedirect.rating.grade).toBe('A');
  });

  it('stays within a few dozen handshakes', () => {
    expect(j.tls.handshakes).toBeGreaterThan(5);
    expect(j.tls.handshakes).toBeLessThan(60);
  });
});

describe('an IP-address target', () => {
  it('connects without SNI and matches the certificate by its IP address entry', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key });
    const ctx = createFetchContext({ allowPrivate: true, ca: certs.rootCa });
    try {
      const tls = await gatherTls(ctx, new URL(`https://127.0.0.1:${s.port}/`));
      expect(tls.host).toBe('127.0.0.1');
      expect(tls.address).toBe('127.0.0.1');
      expect(tls.hostname).toEqual({ matches: true });
      expect(tls.trust?.trusted).toBe(true);
    } finally {
      ctx.close();
    }
  });
});

describe('protocol versions', () => {
  it('sees TLS 1.0 and 1.1 on a server that allows them (the level-0 legacy probe) and caps the grade at B', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(j.tls.protocols.TLSv1.accepted).toBe(true);
    expect(j.tls.protocols['TLSv1.1'].accepted).toBe(true);
    expect(j.tls.suites.some((x) => x.protocol === 'TLSv1')).toBe(true);
    expect(ids(j)).toContain('tls-protocols-legacy-enabled');
    expect(j.rating.protocolScore).toBe(95);
    expect(j.rating.grade).toBe('B');
    const legacy = j.findings.find((f) => f.id === 'tls-protocols-legacy-enabled');
    expect(legacy?.recommendation).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    expect(legacy?.section).toBe('tls');
  });

  it('gives A- to a TLS 1.2-only server, even with HSTS', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2' });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(j.tls.protocols['TLSv1.3'].accepted).toBe(false);
    expect(j.tls.negotiated?.protocol).toBe('TLSv1.2');
    expect(ids(j)).toContain('tls-protocols-no-tls13');
    expect(j.rating.grade).toBe('A-');
  });

  it('caps at C a server with nothing newer than TLS 1.1, and still reads its certificate', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const j = judge(await probe(s.port));
    expect(j.tls.negotiated).toBeUndefined();
    expect(j.tls.chain[0]?.keyBits).toBe(2048);
    expect(ids(j)).toContain('tls-protocols-no-tls12');
    expect(j.rating.sslLabs).toBe('C');
  });
});

describe('cipher suites', () => {
  it('caps at B a server whose suites have no forward secrecy', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(j.tls.suites.map((x) => x.name).sort()).toEqual(['AES128-GCM-SHA256', 'AES256-GCM-SHA384']);
    expect(j.tls.suites.every((x) => x.kx === 'RSA' && !x.forwardSecrecy)).toBe(true);
    expect(ids(j)).toContain('tls-ciphers-no-forward-secrecy');
    expect(j.findings.find((f) => f.id === 'tls-ciphers-no-forward-secrecy')?.recommendation).toContain('ssl_ciphers ECDHE-');
    expect(j.rating.grade).toBe('B');
  });

  it('caps at B a server that offers only CBC suites (no AEAD)', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA' });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(j.tls.suites.every((x) => x.cbc && !x.aead && x.forwardSecrecy)).toBe(true);
    expect(ids(j)).toContain('tls-ciphers-no-aead');
    expect(j.rating.grade).toBe('B');
  });

  it('reports a server that prefers CBC over the AEAD suites it has, without capping', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256' });
    const j = judge(await probe(s.port));
    expect(j.tls.negotiated?.cipher.name).toBe('ECDHE-RSA-AES128-SHA');
    expect(ids(j)).toContain('tls-ciphers-cbc-preferred');
    expect(ids(j)).not.toContain('tls-ciphers-no-aead');
    expect(j.rating.sslLabs).toBe('A-');
  });

  it('grades F a server whose only suites no current browser offers, and still reads its certificate', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', ciphers: 'CAMELLIA128-SHA:@SECLEVEL=0' });
    const j = judge(await probe(s.port));
    expect(j.tls.error).toBeUndefined();
    expect(j.tls.negotiated).toBeUndefined();
    expect(j.tls.suites.map((x) => x.name)).toEqual(['CAMELLIA128-SHA']);
    expect(j.tls.chain[0]?.keyBits).toBe(2048);
    expect(ids(j)).toContain('tls-ciphers-no-modern-suite');
    expect(j.rating.grade).toBe('F');
  });

  it('reports weak suites still accepted for old clients without capping a good negotiation', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA' });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(ids(j)).toContain('tls-ciphers-weak-offered');
    expect(j.findings.find((f) => f.id === 'tls-ciphers-weak-offered')?.severity).toBe('low');
    expect(j.rating.grade).toBe('A+');
  });
});

describe('certificate problems', () => {
  const cases: Array<{ what: string; cert: keyof TestCertificates; finding: string; sslLabs: string; grade: string; serverCiphers?: string; trustTestCa?: boolean }> = [
    { what: 'an expired certificate', cert: 'expired', finding: 'tls-certificate-expired', sslLabs: 'T', grade: 'F' },
    { what: 'a certificate not valid yet', cert: 'notYetValid', finding: 'tls-certificate-not-yet-valid', sslLabs: 'T', grade: 'F' },
    { what: 'a self-signed certificate', cert: 'selfSigned', finding: 'tls-trust-self-signed', sslLabs: 'T', grade: 'F' },
    { what: 'a chain to an unknown root', cert: 'valid', finding: 'tls-trust-untrusted', sslLabs: 'T', grade: 'F', trustTestCa: false },
    { what: 'a certificate for another host', cert: 'wrongHost', finding: 'tls-hostname-mismatch', sslLabs: 'M', grade: 'F' },
    { what: 'a SHA-1 signature', cert: 'sha1', finding: 'tls-signature-sha1', sslLabs: 'T', grade: 'F', serverCiphers: 'DEFAULT:@SECLEVEL=0' },
    { what: 'an RSA-1024 key', cert: 'rsa1024', finding: 'tls-key-weak', sslLabs: 'B', grade: 'B', serverCiphers: 'DEFAULT:@SECLEVEL=0' },
    { what: 'a chain missing its intermediate', cert: 'missingIntermediate', finding: 'tls-chain-incomplete', sslLabs: 'B', grade: 'B' },
  ];
  for (const c of cases) {
    it(`grades ${c.what} ${c.sslLabs === c.grade ? c.grade : `${c.sslLabs}, shown as ${c.grade}`}, with a finding that says what to do`, async () => {
      const cred = certs[c.cert] as { cert: string; key: string };
      const s = await serve({ cert: cred.cert, key: cred.key, ...(c.serverCiphers ? { ciphers: c.serverCiphers } : {}) });
      const j = judge(await probe(s.port, { trustTestCa: c.trustTestCa ?? true }), HSTS_YEAR);
      const f = j.findings.find((x) => x.id === c.finding);
      expect(f, `findings: ${ids(j).join(', ')}`).toBeDefined();
      expect(f?.recommendation.length).toBeGreaterThan(40);
      expect(f?.location?.url).toBe(`https://localhost:${s.port}/`);
      expect(j.rating.sslLabs).toBe(c.sslLabs);
      expect(j.rating.grade).toBe(c.grade);
      expect(j.rating.score).toBeLessThan(80);
    });
  }

  it('warns, without lowering the grade, when the certificate expires within 30 days', async () => {
    const s = await serve({ cert: certs.expiringSoon.cert, key: certs.expiringSoon.key });
    const j = judge(await probe(s.port), HSTS_YEAR);
    const f = j.findings.find((x) => x.id === 'tls-certificate-expiring-soon');
    expect(f?.severity).toBe('medium');
    expect(f?.title).toMatch(/expires in (9|10) day/);
    expect(f?.recommendation).toContain('certbot renew');
    expect(j.rating.grade).toBe('A+');
  });

  it('caps at B a server whose DHE group is 1024 bits, naming the group as the weak key', async () => {
    const s = await serve({
      cert: certs.valid.cert,
      key: certs.valid.key,
      maxVersion: 'TLSv1.2',
      dhparam: dhParams(1024),
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0',
    });
    const j = judge(await probe(s.port), HSTS_YEAR);
    expect(j.tls.suites.find((x) => x.kx === 'DHE')?.ephemeral).toEqual({ type: 'DH', size: 1024 });
    const f = j.findings.find((x) => x.id === 'tls-key-weak');
    expect(f?.title).toMatch(/1024-bit DHE group/);
    expect(j.rating.keyExchangeScore).toBe(80);
    expect(j.rating.grade).toBe('B');
  });

  it('accepts a 2048-bit DHE group', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', dhparam: dhParams(2048), ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256' });
    const j = judge(await probe(s.port));
    expect(j.tls.suites.find((x) => x.kx === 'DHE')?.ephemeral).toEqual({ type: 'DH', size: 2048 });
    expect(j.tests['tls-key-size']?.result).toBe('tls-key-strong');
  });

  it('tells an ECDSA key apart and rates P-256 like RSA-3072', async () => {
    const s = await serve({ cert: certs.validEcdsa.cert, key: certs.validEcdsa.key });
    const j = judge(await probe(s.port));
    expect(j.tls.chain[0]).toMatchObject({ keyType: 'ec', keyBits: 256, keyRsaEquivalentBits: 3072, curve: 'prime256v1' });
    expect(j.tests['tls-key-size']?.result).toBe('tls-key-strong');
  });
});

describe('ALPN and OCSP stapling', () => {
  it('reports no h2 when the server offers no ALPN', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key });
    const j = judge(await probe(s.port));
    expect(j.tls.alpn.h2).toBe(false);
    expect(ids(j)).toContain('tls-alpn-no-h2');
  });

  it('sees a stapled OCSP response and reads its status', async () => {
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } — well-formed, minimal, status unauthorized (6).
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key, ocspResponse: Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]) });
    const j = judge(await probe(s.port));
    expect(j.tls.ocspStapled).toBe(true);
    expect(j.tls.ocspStatus).toBe('unauthorized');
    expect(ids(j)).not.toContain('tls-ocsp-not-stapled');
    expect(ids(j)).toContain('tls-ocsp-stapled-error');
  });

  it('reads the status of OCSP responses', () => {
    expect(ocspResponseStatus(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x00]))).toBe('successful');
    expect(ocspResponseStatus(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]))).toBe('tryLater');
    expect(ocspResponseStatus(Buffer.from('not der'))).toBeUndefined();
  });
});

describe('servers that do not complete a handshake', () => {
  it('reports a closed port as a failed handshake, graded F', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const { port } = tcp.address() as AddressInfo;
    await new Promise<void>((r) => tcp.close(() => r()));
    const j = judge(await probe(port));
    expect(j.tls.error).toMatch(/no TLS handshake succeeded with localhost:\d+: connection refused/);
    expect(ids(j)).toEqual(['tls-handshake-failed']);
    expect(j.rating.grade).toBe('F');
  });

  it('says so when the port answers in plain HTTP', async () => {
    const http = await startHttpServer((_req, res) => res.end('plain'));
    try {
      const tls = await probe(http.port);
      expect(tls.error).toMatch(/does not speak TLS on that port \(plain HTTP\?\)/);
      expect(Object.values(tls.protocols).every((p) => !p.accepted)).toBe(true);
    } finally {
      await http.close();
    }
  });

  it('gives up on a server that accepts the connection but never answers, within the request bound', async () => {
    const tcp = createTcpServer(() => undefined);
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const { port } = tcp.address() as AddressInfo;
    try {
      const tls = await probe(port, { requestTimeoutMs: 300 });
      expect(tls.error).toMatch(/no handshake within 300 ms/);
    } finally {
      tcp.close();
    }
  });

  it('refuses to probe a URL that is not https', async () => {
    const ctx = createFetchContext({ allowPrivate: true });
    try {
      const tls = await gatherTls(ctx, new URL('http://127.0.0.1:1/'));
      expect(tls.error).toMatch(/is not an https URL/);
      expect(tls.handshakes).toBe(0);
    } finally {
      ctx.close();
    }
  });

  it('stops probing when the scan is aborted', async () => {
    const s = await serve({ cert: certs.valid.cert, key: certs.valid.key });
    const tls = await probe(s.port, { signal: AbortSignal.abort() });
    expect(tls.error).toMatch(/aborted/);
    expect(tls.suites).toEqual([]);
  });
});

describe('the tls section in the whole grade', () => {
  it('is not graded on a plain-HTTP scan, where the tls checks report nothing', () => {
    const facts: ScanFacts = {
      target: { input: 'http://localhost/', url: 'http://localhost/', host: 'localhost' },
      final: { url: 'http://localhost/', status: 200, headers: {}, rawHeaders: [], body: '', bodyTruncated: false, chain: [] },
      https: false,
    };
    const outputs = CHECKS.filter((c) => c.section === 'tls').map((check) => ({ check, output: check.run(facts) }));
    expect(outputs.every((o) => o.output.findings.length === 0)).toBe(true);
    expect(gradeScan(outputs, []).sections.tls).toBeUndefined();
  });

  it('caps the overall grade at the tls section: an expired certificate makes the scan F', async () => {
    const s = await serve({ cert: certs.expired.cert, key: certs.expired.key });
    const facts = factsOf(await probe(s.port), HSTS_YEAR);
    const outputs = CHECKS.filter((c) => c.section === 'tls').map((check) => ({ check, output: check.run(facts) }));
    const graded = gradeScan(outputs, outputs.flatMap((o) => o.output.findings));
    expect(graded.sections.tls?.grade).toBe('F');
    expect(graded.grade).toBe('F');
  });
});

describe('reading the signature algorithm from the certificate bytes', () => {
  it('agrees with @peculiar/x509 on every test certificate', async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    const pems = Object.values(certs).flatMap((v) => (typeof v === 'string' ? [v] : [v.leaf]));
    for (const pem of pems) {
      const der = Buffer.from(new X509Certificate(pem).raw);
      const expected = (new x509.X509Certificate(der) as unknown as { asn: { signatureAlgorithm: { algorithm: string } } }).asn.signatureAlgorithm.algorithm;
      expect(signatureAlgorithmOid(der)).toBe(expected);
    }
    expect(describeCertificate(Buffer.from(new X509Certificate(certs.sha1.leaf).raw)).signatureAlgorithm).toEqual({ oid: '1.2.840.10045.4.1', name: 'ecdsa-with-SHA1', hash: 'SHA-1' });
    expect(describeCertificate(Buffer.from(new X509Certificate(certs.selfSigned.leaf).raw)).signatureAlgorithm.name).toBe('sha256WithRSAEncryption');
  });

  it('refuses bytes that are not a certificate', () => {
    expect(() => signatureAlgorithmOid(Buffer.from([0x30, 0x82, 0xff]))).toThrow(/truncated/);
    expect(() => signatureAlgorithmOid(Buffer.from([0x04, 0x00]))).toThrow();
  });
});
