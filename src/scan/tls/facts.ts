/** What the TLS handshakes learned about an https target (filled by the TLS probe). */
export interface TlsFacts {
  host: string;
  port: number;
  /** Set when no handshake succeeded at all. */
  error?: string;
}
