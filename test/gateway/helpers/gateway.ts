/** Starts a gateway on 127.0.0.1 in front of a fake upstream, with its logs captured for leak scans. */
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { createGateway, type GatewayHandler, type GatewayOptions } from '../../../src/gateway/index.js';
import { createLogger } from '../../../src/gateway/logger.js';
import { MemoryDirectory } from '../../../src/store/memory.js';
import { listen, type TestServer } from '../../helpers/http-server.js';
import type { FakeUpstream } from './fake-upstream.js';

export interface TestGateway extends TestServer {
  gateway: GatewayHandler;
  /** Every log line written so far. */
  logs: string[];
  /** Closes the listener, then the gateway (its queued ledger rows written, its connections released). */
  stop(): Promise<void>;
}

export async function startGateway(upstream: FakeUpstream, keys: { openai: string[]; anthropic: string[]; gemini?: string[] }, options: Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const gateway = createGateway({
    directory: options.directory ?? new MemoryDirectory(),
    upstreams: {
      openai: { baseUrl: upstream.openaiBase, keys: keys.openai },
      anthropic: { baseUrl: upstream.anthropicBase, keys: keys.anthropic },
      gemini: { baseUrl: upstream.geminiBase, keys: keys.gemini ?? [] },
    },
    logger,
    resilience: { timeoutMs: 2000, idleTimeoutMs: 2000, retries: 2, backoffBaseMs: 5, backoffMaxMs: 20 },
    ledgerFlushMs: 10,
    ...options,
  });
  const http = createServer(gateway);
  http.on('upgrade', gateway.upgrade);
  const server = await listen(http);
  const stop = async () => {
    await server.close();
    await gateway.close();
  };
  return Object.assign(server, { gateway, logs, stop });
}
