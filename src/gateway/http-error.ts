/** An error the gateway answers with: status, a stable type, a message safe to show the client. */
export class GatewayHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'GatewayHttpError';
  }
}

/** A 400 in the API's `invalid_request_error` type: the client's request, not the gateway, is wrong. */
export function badRequest(message: string): GatewayHttpError {
  return new GatewayHttpError(400, 'invalid_request_error', message);
}
