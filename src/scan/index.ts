/** The site scanner's public API: `scanSite` and what it is built from. */
export { scanSite, buildReport, SCAN_SCHEMA, type ScanOptions, type ScanReport, type ReportFinding } from './scan-site.js';
export { createFetchContext, classifyAddress, parseResolveRule, DEFAULT_LIMITS, type FetchContext, type FetchContextOptions, type AddressVerdict, type ResolveRule } from './fetch/index.js';
export { parsePage } from './html.js';
export { parseTarget } from './target.js';
export { CHECKS } from './checks/index.js';
export { gradeScan, type GradeResult } from './grade.js';
export { gatherTls } from './tls/gather.js';
export { rateTls, gradeTlsSection, TLS_CAPS, type TlsRating, type SslLabsGrade } from './tls/grade.js';
export type { TlsFacts, TlsVersion, CipherSuite, CertificateFacts, TrustFacts, ProtocolProbe } from './tls/facts.js';
export { gatherExposure } from './exposure/gather.js';
export { gradeExposureSection, EXPOSURE_MODIFIERS } from './exposure/grade.js';
export { PROBES, type Probe } from './exposure/probes.js';
export type { ExposureFacts, ExposedSecret, BrowserAiCall, FetchedFile, ProbeResult, SourceMapFact, DebugPage, DirectoryListing, SecurityTxt } from './exposure/facts.js';
export { renderTerminal as renderScanTerminal } from './report/terminal.js';
export { renderHtml as renderScanHtml } from './report/html.js';
export { renderJson as renderScanJson } from './report/json.js';
export type { ScanOutcome } from './report/summary.js';
export type {
  BoundedFetch,
  Check,
  CheckOutput,
  FetchOptions,
  GatherContext,
  Grade,
  HttpExchange,
  PageDoc,
  ScanFacts,
  ScanLimits,
  SectionName,
  TestResult,
} from './types.js';
