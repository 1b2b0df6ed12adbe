/**
 * The fake upstream, in its own process (so client, proxy and upstream do not share an event loop):
 *   node --import tsx bench/gateway/targets.ts upstream
 * Prints `READY <port>` when listening. The proxies are in proxies.mjs.
 */
import { startFakeUpstream } from '../../test/gateway/helpers/fake-upstream.js';

const key = process.env.BENCH_PROVIDER_KEY!;
const up = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [], outputTokens: 8, promptTokens: 12 });
process.stdout.write(`READY ${up.port}\n`);
