/**
 * CORS on the page: `Access-Control-Allow-Origin: *` (public), a reflected foreign origin
 * (ScanFacts.corsProbe is the answer to a request with a foreign Origin), and credentials.
 */
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { clip, finding, firstHeader, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/CORS`;
const FIX = [
  'Allow only the origins you trust, from a fixed list — never echo the Origin header back:',
  "Express: app.use(cors({ origin: ['https://app.example.com'], credentials: true }));  (the cors package)",
  "Fastify: await fastify.register(cors, { origin: ['https://app.example.com'], credentials: true });  (@fastify/cors)",
  'nginx:   map $http_origin $cors_ok { default ""; "https://app.example.com" $http_origin; }\n         add_header Access-Control-Allow-Origin $cors_ok always;',
  'For public data with no cookies, send `Access-Control-Allow-Origin: *` without Access-Control-Allow-Credentials.',
].join('\n');

export const corsCheck: Check = {
  name: 'cross-origin-resource-sharing',
  section: 'headers',
  run(facts): CheckOutput {
    const probe = facts.corsProbe;
    const headers = probe?.headers ?? facts.final.headers;
    const acao = firstHeader(headers, 'access-control-allow-origin')?.trim();
    const credentials = firstHeader(headers, 'access-control-allow-credentials')?.trim().toLowerCase() === 'true';
    const findings: Finding[] = [];
    const evidence = [
      probe ? `request Origin: ${probe.origin}` : undefined,
      acao !== undefined ? `Access-Control-Allow-Origin: ${clip(acao)}` : undefined,
      firstHeader(headers, 'access-control-allow-credentials') !== undefined ? `Access-Control-Allow-Credentials: ${firstHeader(headers, 'access-control-allow-credentials')}` : undefined,
    ].filter(Boolean).join('\n');
    const add = (id: string, severity: Finding['severity'], title: string): void => {
      findings.push(finding(id, severity, title, FIX, { docs: DOCS, url: facts.final.url, evidence }));
    };
    let result: ResultId;
    if (acao === undefined || acao === '') {
      result = 'cross-origin-resource-sharing-not-implemented';
    } else if (acao === '*') {
      result = 'cross-origin-resource-sharing-implemented-with-public-access';
      if (credentials) {
        add('cors-wildcard-with-credentials', 'low',
          'Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true — browsers refuse this pair, and the usual "fix" (echoing the Origin) opens every user\'s data to any site');
      }
    } else if (probe && acao.toLowerCase() === probe.origin.toLowerCase()) {
      if (credentials) {
        // The Observatory's own result for this case, which it can never reach (docs/scoring.md).
        result = 'cross-origin-resource-sharing-implemented-with-universal-access';
        add('cors-origin-reflected-with-credentials', 'high', 'Any origin is echoed in Access-Control-Allow-Origin with credentials allowed: every site can read this page as the logged-in user');
      } else {
        result = 'cross-origin-resource-sharing-origin-reflected';
        add(result, 'low', 'Any origin is echoed in Access-Control-Allow-Origin: every site can read this page (without cookies)');
      }
    } else {
      result = 'cross-origin-resource-sharing-implemented-with-restricted-access';
      if (acao.toLowerCase() === 'null' && credentials) {
        add('cors-null-origin-with-credentials', 'medium', 'Access-Control-Allow-Origin: null with credentials: any sandboxed iframe or data: page has origin "null" and can read this page as the user');
      }
    }
    const pass = result !== 'cross-origin-resource-sharing-implemented-with-universal-access';
    return { findings, tests: { 'cross-origin-resource-sharing': testResult(result, pass, { acao: acao ?? null, credentials }) } };
  },
};
