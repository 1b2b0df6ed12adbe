/** Turns what node:http, node:tls and node:net throw into KeywardErrors that say which problem it was. */
import { KeywardError } from '../../errors.js';

const TLS_PROBLEMS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed certificate that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is signed by an unknown authority (or the chain is incomplete)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is signed by an unknown authority (or the chain is incomplete)',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer certificate is missing from the chain',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not cover this host name',
  CERT_REVOKED: 'the certificate has been revoked',
  CERT_SIGNATURE_FAILURE: 'the certificate signature is invalid',
  CERT_UNTRUSTED: 'the certificate is not trusted',
  INVALID_CA: 'an issuer in the chain is not a valid CA',
  UNSPECIFIED: 'the certificate was rejected (weak signature, e.g. SHA-1?)',
};

const TLS_HINT = 'fix the certificate, or trust a private CA with --ca FILE (NODE_EXTRA_CA_CERTS works too)';

/** True when a KW_TLS error is about the certificate (not a handshake that never happened). */
export function isCertificateProblem(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return typeof cause?.code === 'string' && cause.code in TLS_PROBLEMS;
}

/** The https origin whose certificate each certificate error is about (a redirect may lead to another host). */
const CERTIFICATE_ORIGIN = new WeakMap<object, string>();

/** `https://host[:port]` of the server whose certificate was refused, as URL.origin spells it. */
export function certificateProblemOrigin(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? CERTIFICATE_ORIGIN.get(err) : undefined;
}

export function toKeywardError(err: unknown, where: string, phase: 'connect' | 'body'): KeywardError {
  if (err instanceof KeywardError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (code in TLS_PROBLEMS) {
    const problem = new KeywardError('KW_TLS', `bad certificate at ${where}: ${TLS_PROBLEMS[code]} (${code})`, { hint: TLS_HINT, cause: err });
    // `where` is URL.host; a certificate is only ever verified on https.
    CERTIFICATE_ORIGIN.set(problem, `https://${where}`);
    return problem;
  }
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) {
    return new KeywardError('KW_TLS', `TLS handshake with ${where} failed: ${message}`, {
      hint: 'the server may not speak TLS on this port, or only offers protocols and ciphers this client refuses',
      cause: err,
    });
  }
  if (code.startsWith('HPE_')) {
    return new KeywardError('KW_BAD_RESPONSE', `malformed HTTP response from ${where}: ${describeParserError(code, message)}`, {
      hint: 'the server sent something that is not valid HTTP/1.1; check the proxy or application in front of it',
      cause: err,
    });
  }
  if (code === 'ECONNREFUSED') return new KeywardError('KW_UNREACHABLE', `cannot connect to ${where}: connection refused`, { hint: 'is the server running and listening on that port?', cause: err });
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new KeywardError('KW_UNREACHABLE', `cannot reach ${where}: no route to host`, { hint: 'check the address and your network', cause: err });
  if (code === 'ECONNRESET' || code === 'EPIPE' || message === 'socket hang up') {
    return new KeywardError('KW_UNREACHABLE', `${where} closed the connection ${phase === 'body' ? 'in the middle of the response' : 'before answering'}`, {
      hint: 'the server or a proxy in front of it dropped the request; try again or check its logs',
      cause: err,
    });
  }
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR_PADDING_1' || /incorrect header check|invalid|unexpected end/i.test(message)) {
    return new KeywardError('KW_BAD_RESPONSE', `unreadable response body from ${where}: ${message}`, {
      hint: 'the body does not match its Content-Encoding (or was cut off)',
      cause: err,
    });
  }
  return new KeywardError('KW_UNREACHABLE', `request to ${where} failed: ${code ? code + ' ' : ''}${message}`, { cause: err });
}

function describeParserError(code: string, message: string): string {
  if (code === 'HPE_HEADER_OVERFLOW') return 'the response headers are larger than 16 KiB';
  if (code === 'HPE_INVALID_HEADER_TOKEN') return 'a header line is malformed';
  if (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_UNEXPECTED_CONTENT_LENGTH') return 'the Content-Length header is invalid';
  if (code === 'HPE_INVALID_CONSTANT' || code === 'HPE_INVALID_VERSION') return 'the status line is not HTTP/1.x';
  if (code === 'HPE_INVALID_STATUS') return 'the status code is invalid';
  return `${message} (${code})`;
}
