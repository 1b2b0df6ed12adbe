/**
 * Framework debug pages and stack traces, provoked by a 404, an undecodable path and a malformed
 * JSON body: they show code, paths, settings and sometimes a console that runs code.
 */
import type { Finding } from '../../finding.js';
import type { DebugPage } from '../exposure/facts.js';
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS } from './exposure-support.js';

const FIX: Record<string, string> = {
  Django: 'Set DEBUG = False in production settings (and ALLOWED_HOSTS).',
  'Werkzeug/Flask': 'Never run the Werkzeug debugger in production: app.run(debug=False), FLASK_DEBUG unset, and serve through gunicorn/uwsgi.',
  Laravel: 'Set APP_DEBUG=false and APP_ENV=production in .env, then php artisan config:cache.',
  Symfony: 'Run with APP_ENV=prod and APP_DEBUG=0; do not deploy the web profiler bundle.',
  Rails: 'Run with RAILS_ENV=production (config.consider_all_requests_local = false).',
  'ASP.NET': 'Set <customErrors mode="RemoteOnly" /> (ASP.NET) or use UseExceptionHandler instead of UseDeveloperExceptionPage outside Development (ASP.NET Core).',
  Spring: 'Set server.error.include-stacktrace=never and server.error.include-exception=false.',
  'Express/Node.js': 'Run with NODE_ENV=production and add an error handler that answers without err.stack.',
  PHP: 'Set display_errors=Off (log_errors=On) in php.ini.',
};
const GENERIC = 'Turn debug output off in production and answer errors with a generic page; log the details server-side.';

const TRIGGER: Record<DebugPage['trigger'], string> = {
  page: 'on the page itself',
  'not-found': 'for a path that does not exist (404)',
  'malformed-path': 'for an undecodable path',
  'malformed-body': 'for a POST with malformed JSON',
  probe: 'on a probed path',
};

export const exposureDebugPagesCheck: Check = {
  name: 'debug-pages',
  section: 'exposure',
  run(facts): CheckOutput {
    const pages = facts.exposure?.debugPages ?? [];
    const findings: Finding[] = pages.map((p) => ({
      id: p.kind === 'debugger' ? 'debugger-exposed' : p.kind === 'debug-page' ? 'debug-mode-on' : 'stack-trace-exposed',
      severity: p.kind === 'debugger' ? 'critical' : p.kind === 'debug-page' ? 'high' : 'medium',
      title: p.kind === 'debugger'
        ? `The ${p.framework} interactive debugger is reachable ${TRIGGER[p.trigger]}: anyone can run code on the server`
        : p.kind === 'debug-page'
          ? `${p.framework} runs in debug mode: its debug page shows ${TRIGGER[p.trigger]}`
          : `A ${p.framework} stack trace is shown ${TRIGGER[p.trigger]}`,
      evidence: `${p.url}${p.status !== undefined ? ` → ${p.status}` : ''}\n${p.evidence}`,
      recommendation: FIX[p.framework] ?? GENERIC,
      docs: `${EXPOSURE_DOCS}#debug-pages`,
      section: 'exposure',
      location: { url: p.url },
    }));
    const result = pages.some((p) => p.kind === 'debugger') ? 'debug-pages-debugger' : pages.some((p) => p.kind === 'debug-page') ? 'debug-pages-debug-mode' : pages.length > 0 ? 'debug-pages-stack-trace' : 'debug-pages-none';
    return { findings, tests: { 'debug-pages': exposureResult(result, pages.length === 0, pages.length > 0 ? { frameworks: pages.map((p) => p.framework) } : undefined) } };
  },
};
