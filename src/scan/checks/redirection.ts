/** Redirection: does http://host answer with a redirect to https, on the same host first? */
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { finding, MDN } from './support.js';

const DOCS = `${MDN}/Web/Security/Practical_implementation_guides/TLS#http_redirection`;
const FIX = [
  'Answer every plain-HTTP request with a permanent redirect to the same host over HTTPS:',
  'nginx:   server { listen 80; server_name example.com; return 301 https://$host$request_uri; }',
  "Express: app.use((req, res, next) => req.secure ? next() : res.redirect(301, 'https://' + req.headers.host + req.originalUrl));  (with app.set('trust proxy', 1) behind a proxy)",
  "Fastify: fastify.addHook('onRequest', async (req, reply) => { if (req.protocol !== 'https') return reply.redirect('https://' + req.hostname + req.url, 301); });",
].join('\n');

export const redirectionCheck: Check = {
  name: 'redirection',
  section: 'headers',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    const http = facts.http;
    if (!http) return { findings, tests: {} };
    const route = http.chain;
    const evidence = route.map((h) => `${h.status} ${h.url}${h.location ? ` → ${h.location}` : ''}`).join('\n') || http.error;
    const add = (id: ResultId, severity: Finding['severity'], title: string): void => {
      findings.push(finding(id, severity, title, FIX, { docs: DOCS, url: route[0]?.url ?? facts.target.url, ...(evidence ? { evidence } : {}) }));
    };
    let result: ResultId;
    if (route.length === 0) {
      const badCert = http.error !== undefined && /certificate|cert/i.test(http.error);
      result = badCert ? 'redirection-invalid-cert' : 'redirection-not-needed-no-http';
      if (badCert) add(result, 'medium', 'http:// redirects to an HTTPS page whose certificate is invalid');
    } else if (route.length === 1) {
      result = 'redirection-missing';
      add(result, 'medium', 'http:// serves the page instead of redirecting to https://');
    } else if (!route[route.length - 1]!.url.startsWith('https:')) {
      result = 'redirection-not-to-https';
      add(result, 'medium', 'http:// redirects, but never ends on https://');
    } else if (route[1]!.url.startsWith('http:')) {
      result = 'redirection-not-to-https-on-initial-redirection';
      add(result, 'low', 'http:// first redirects to another http:// URL before https://, exposing that hop');
    } else if (new URL(route[0]!.url).hostname !== new URL(route[1]!.url).hostname) {
      result = 'redirection-off-host-from-http';
      add(result, 'low', 'http:// redirects to https:// on another host first, so this host\'s HSTS is never set');
    } else {
      result = 'redirection-to-https';
    }
    const pass = result === 'redirection-to-https' || result === 'redirection-not-needed-no-http';
    return { findings, tests: { redirection: testResult(result, pass, { route: route.map((h) => h.url) }) } };
  },
};
