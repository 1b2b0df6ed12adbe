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
