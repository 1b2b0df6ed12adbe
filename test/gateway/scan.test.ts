import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway/index.js';
import { scanSite } from '../../src/scan/index.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { startHttpsServer, testCertificates, type TestHttpsServer } from '../helpers/certs.js';
import { createLogger } from '../../src/gateway/logger.js';
import { Writable } from 'node:stream';
import { fakeOpenAiKey } from './helpers/keys.js';

describe('keyward scan of the gateway itself', () => {
  const gateway = createGateway({
    directory: new MemoryDirectory(),
    upstreams: { openai: { baseUrl: 'http://127.0.0.1:9/v1', keys: [fakeOpenAiKey()] } },
    logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  });
  let server: TestHttpsServer;
  let ca: string;
  beforeAll(async () => {
    const certs = await testCertificates();
    ca = certs.rootCa;
    server = await startHttpsServer(gateway, { cert: certs.valid.cert, key: certs.valid.key });
  });
  afterAll(async () => {
    await server.close();
    await gateway.close();
  });

  it('grades A or better on its headers section when served over HTTPS', async () => {
    const report = await scanSite(`${server.localhostOrigin}/`, { allowPrivate: true, ca, sections: ['headers'] });
    const grade = report.sections.headers?.grade;
    expect(['A+', 'A'], JSON.stringify(report.findings.map((f) => f.id))).toContain(grade);
  });
});
