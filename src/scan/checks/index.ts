/** The check registry: one line per check (DESIGN.md "Checks are pure"). */
import type { Check } from '../types.js';
import { clickjackingCheck } from './clickjacking.js';
import { cookiesCheck } from './cookies.js';
import { corsCheck } from './cors.js';
import { crossOriginEmbedderPolicyCheck } from './cross-origin-embedder-policy.js';
import { crossOriginOpenerPolicyCheck } from './cross-origin-opener-policy.js';
import { crossOriginResourcePolicyCheck } from './cross-origin-resource-policy.js';
import { cspCheck } from './csp.js';
import { deprecatedHeadersCheck } from './deprecated-headers.js';
import { hstsCheck } from './hsts.js';
import { infoLeakHeadersCheck } from './info-leak-headers.js';
import { permissionsPolicyCheck } from './permissions-policy.js';
import { redirectionCheck } from './redirection.js';
import { referrerPolicyCheck } from './referrer-policy.js';
import { subresourceIntegrityCheck } from './subresource-integrity.js';
import { xContentTypeOptionsCheck } from './x-content-type-options.js';
import { exposureDebugPagesCheck } from './exposure-debug-pages.js';
import { exposureDirectAiCallsCheck } from './exposure-direct-ai-calls.js';
import { exposureDirectoryListingCheck } from './exposure-directory-listing.js';
import { exposureFileSecretsCheck } from './exposure-file-secrets.js';
import { exposureFilesCheck } from './exposure-files.js';
import { exposureKeysInClientCheck } from './exposure-keys-in-client.js';
import { exposureSecurityTxtCheck } from './exposure-security-txt.js';
import { exposureSourceMapsCheck } from './exposure-source-maps.js';
import { tlsAlpnCheck } from './tls-alpn.js';
import { tlsCertificateRejectedCheck } from './tls-certificate-rejected.js';
import { tlsCertificateValidityCheck } from './tls-certificate-validity.js';
import { tlsCipherSuitesCheck } from './tls-cipher-suites.js';
import { tlsHostnameCheck } from './tls-hostname.js';
import { tlsHstsCheck } from './tls-hsts.js';
import { tlsKeySizeCheck } from './tls-key-size.js';
import { tlsOcspStaplingCheck } from './tls-ocsp-stapling.js';
import { tlsProtocolsCheck } from './tls-protocols.js';
import { tlsSignatureAlgorithmCheck } from './tls-signature-algorithm.js';
import { tlsTrustCheck } from './tls-trust.js';

export const CHECKS: Check[] = [
  // First: a refused certificate is the first thing a report says (ties in severity keep this order).
  tlsCertificateRejectedCheck,
  cspCheck,
  cookiesCheck,
  corsCheck,
  redirectionCheck,
  referrerPolicyCheck,
  hstsCheck,
  subresourceIntegrityCheck,
  xContentTypeOptionsCheck,
  clickjackingCheck,
  crossOriginResourcePolicyCheck,
  crossOriginOpenerPolicyCheck,
  crossOriginEmbedderPolicyCheck,
  permissionsPolicyCheck,
  infoLeakHeadersCheck,
  deprecatedHeadersCheck,
  exposureKeysInClientCheck,
  exposureFileSecretsCheck,
  exposureDirectAiCallsCheck,
  exposureSourceMapsCheck,
  exposureFilesCheck,
  exposureDirectoryListingCheck,
  exposureDebugPagesCheck,
  exposureSecurityTxtCheck,
  tlsProtocolsCheck,
  tlsCipherSuitesCheck,
  tlsCertificateValidityCheck,
  tlsHostnameCheck,
  tlsTrustCheck,
  tlsKeySizeCheck,
  tlsSignatureAlgorithmCheck,
  tlsOcspStaplingCheck,
  tlsAlpnCheck,
  tlsHstsCheck,
];
