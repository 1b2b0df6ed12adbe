/**
 * Thin adapters so the gateway drops into an existing app the way developers already write
 * `app.post('/api/ai/chat', auth, handler)`. Structural types: no framework is a dependency.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayHandler } from './server.js';

export interface AdapterOptions<Req> {
  /** The keyward user for a request the app has already authenticated (e.g. `req => req.user.id`); without it, a gateway token is required. */
  user?: (req: Req) => string | undefined;
}

type ExpressLikeRequest = IncomingMessage & { body?: unknown };

/** Express (4 or 5) middleware; works with or without `express.json()` before it. */
export function expressGateway<Req extends ExpressLikeRequest = ExpressLikeRequest>(gateway: GatewayHandler, options: AdapterOptions<Req> = {}) {
  return (req: Req, res: ServerResponse): void => {
    const asUser = options.user?.(req);
    if (req.body !== undefined || asUser !== undefined) gateway.handleParsed(req, res, req.body, asUser);
    else gateway(req, res);
  };
}

interface FastifyLikeRequest {
  raw: IncomingMessage;
  body?: unknown;
}
interface FastifyLikeReply {
  raw: ServerResponse;
  hijack(): void;
}

/** A Fastify route handler (`app.post('/v1/chat/completions', fastifyGateway(gw))`); the gateway writes the raw response. */
export function fastifyGateway<Req extends FastifyLikeRequest = FastifyLikeRequest>(gateway: GatewayHandler, options: AdapterOptions<Req> = {}) {
  return (request: Req, reply: FastifyLikeReply): void => {
    reply.hijack();
    gateway.handleParsed(request.raw, reply.raw, request.body, options.user?.(request));
  };
}
