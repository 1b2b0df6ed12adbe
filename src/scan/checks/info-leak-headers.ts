/** Headers that tell an attacker which software (and version) to look up exploits for. */
import type { Finding } from '../../finding.js';
import { testResult } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { clip, finding, headerValues, MDN, removeHeaderFix } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Server`;

interface LeakRule {
  header: string;
  /** Leaks only when the value matches (e.g. Server with a version number). */
  when?: RegExp;
  severity: Finding['severity'];
  what: string;
  nginx?: string;
  express?: string;
}

const VERSION = /\d+\.\d+|\/\s*\d/;
export const LEAK_RULES: LeakRule[] = [
  { header: 'server', when: VERSION, severity: 'low', what: 'the server software and its version', nginx: 'server_tokens off;' },
  { header: 'x-powered-by', severity: 'low', what: 'the framework or language behind the site', express: "app.disable('x-powered-by');" },
  { header: 'x-aspnet-version', severity: 'low', what: 'the ASP.NET version', nginx: 'proxy_hide_header X-AspNet-Version;  (IIS: <httpRuntime enableVersionHeader="false" />)' },
  { header: 'x-aspnetmvc-version', severity: 'low', what: 'the ASP.NET MVC version', nginx: 'proxy_hide_header X-AspNetMvc-Version;  (MVC: MvcHandler.DisableMvcResponseHeader = true)' },
  { header: 'x-generator', severity: 'low', what: 'the CMS or site generator' },
  { header: 'x-drupal-cache', severity: 'info', what: 'that the site runs Drupal' },
  { header: 'x-drupal-dynamic-cache', severity: 'info', what: 'that the site runs Drupal' },
  { header: 'x-runtime', severity: 'info', what: 'server-side timing (Rails), useful for timing attacks' },
  { header: 'x-version', severity: 'low', what: 'the application version' },
  { header: 'x-app-version', severity: 'low', what: 'the application version' },
  { header: 'x-backend-server', severity: 'low', what: 'an internal host name' },
  { header: 'x-server', severity: 'low', what: 'an internal host name' },
  { header: 'x-debug-token', severity: 'medium', what: 'a Symfony profiler token: the profiler (with requests, environment and queries) is reachable' },
  { header: 'x-debug-token-link', severity: 'medium', what: 'a link to the Symfony profiler: debug mode is on in production' },
  { header: 'x-turbo-charged-by', severity: 'info', what: 'the server software (LiteSpeed)' },
  { header: 'x-litespeed-version', severity: 'low', what: 'the LiteSpeed version' },
  { header: 'x-mod-pagespeed', severity: 'info', what: 'the mod_pagespeed version' },
  { header: 'x-page-speed', severity: 'info', what: 'the ngx_pagespeed version' },
  { header: 'x-owa-version', severity: 'low', what: 'the Outlook Web Access version' },
  { header: 'x-php-version', severity: 'low', what: 'the PHP version' },
  { header: 'via', when: VERSION, severity: 'info', what: 'a proxy and its version' },
];

export const infoLeakHeadersCheck: Check = {
  name: 'information-leak-headers',
  section: 'headers',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    const leaked: string[] = [];
    for (const rule of LEAK_RULES) {
      const values = headerValues(facts.final.headers, rule.header).filter((v) => v.trim() !== '' && (!rule.when || rule.when.test(v)));
      if (values.length === 0) continue;
      const sent = facts.final.rawHeaders.find(([n]) => n.toLowerCase() === rule.header)?.[0] ?? rule.header;
      leaked.push(sent);
      findings.push(finding(`info-leak-${rule.header}`, rule.severity, `${sent} reveals ${rule.what}`,
        removeHeaderFix(sent, `Stop sending ${sent}${rule.header === 'server' ? ' with a version (a bare product name is fine)' : ''}.`,
          { ...(rule.nginx ? { nginx: rule.nginx } : {}), ...(rule.express ? { express: rule.express } : {}) }),
        { docs: DOCS, url: facts.final.url, evidence: values.map((v) => `${sent}: ${clip(v, 200)}`).join('\n') }));
    }
    return {
      findings,
      tests: { 'information-leak-headers': leaked.length > 0 ? testResult('info-leak-headers-present', false, { headers: leaked }) : testResult('info-leak-none', true) },
    };
  },
};
