/**
 * The well-known leak paths probed on every site (after nuclei's exposure templates and nikto),
 * each with the content that proves a hit. A path only counts when its body looks like what the
 * path says: a catch-all site that answers 200 with its index for every path reports nothing.
 */
import type { Severity } from '../../finding.js';
import type { ProbeCategory } from './facts.js';

export interface Probe {
  id: string;
  path: string;
  category: ProbeCategory;
  /** What the file is, for the finding's title. */
  what: string;
  severity: Severity;
  /** Returns a short excerpt proving the hit, or undefined when the body is not this file. */
  confirm(body: string, contentType: string): string | undefined;
  /** Scan the body for secrets (text files that may hold credentials). */
  scanSecrets?: boolean;
}

const looksLikeHtml = (body: string) => /^\s*(?:<!doctype\s+html|<html|<head|<body|<\?xml[^>]*>\s*<html)/i.test(body);

/** The first line matching `re`, trimmed and cut short, with anything after `=`/`:` masked. */
function proofLine(body: string, re: RegExp, mask = true): string | undefined {
  const m = re.exec(body);
  if (!m) return undefined;
  const start = body.lastIndexOf('\n', m.index) + 1;
  const endNl = body.indexOf('\n', m.index);
  let line = body.slice(start, endNl === -1 ? undefined : endNl).trim();
  if (mask) line = line.replace(/^([^=:]{1,80}[=:]\s*)(.+)$/, (_all, k: string, v: string) => (v.length > 0 ? `${k}${v.length > 4 ? '…' : v}` : k));
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

/** `KEY=value` lines of a dotenv file: at least two, most non-blank lines in that form, no HTML. */
function confirmEnv(body: string): string | undefined {
  if (looksLikeHtml(body)) return undefined;
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) return undefined;
  const kv = lines.filter((l) => /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*=/.test(l));
  if (kv.length < 1 || kv.length < lines.length * 0.6) return undefined;
  return proofLine(body, /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*=/m);
}

const textRe = (re: RegExp, mask = true) => (body: string) => (looksLikeHtml(body) ? undefined : proofLine(body, re, mask));
const htmlRe = (re: RegExp) => (body: string) => {
  const m = re.exec(body);
  return m ? m[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 120) : undefined;
};
const magic = (prefix: string, label: string) => (body: string) => (body.startsWith(prefix) ? label : undefined);

function confirmJsonWithSecrets(body: string): string | undefined {
  if (looksLikeHtml(body) || !/^\s*[{[]/.test(body)) return undefined;
  try {
    JSON.parse(body);
  } catch {
    return undefined;
  }
  const m = /"([A-Za-z0-9_.-]*(?:secret|password|passwd|api[_-]?key|apikey|token|private[_-]?key|credential|access[_-]?key)[A-Za-z0-9_.-]*)"\s*:\s*"[^"]{4,}"/i.exec(body);
  return m ? `"${m[1]}": "…"` : undefined;
}

function confirmDirectoryListing(body: string): string | undefined {
  return listingServer(body)?.evidence;
}

/** Recognises the directory listings of common servers. */
export function listingServer(body: string): { server: string; evidence: string } | undefined {
  const signs: Array<[RegExp, string]> = [
    [/<title>\s*Index of \/[^<]*<\/title>/i, 'Apache/nginx autoindex'],
    [/<h1>\s*Index of \/[^<]*<\/h1>/i, 'Apache/nginx autoindex'],
    [/<title>\s*Directory listing for \/[^<]*<\/title>/i, 'Python http.server'],
    [/\[To Parent Directory\]/i, 'IIS directory browsing'],
    [/<title>\s*listing directory \/[^<]*<\/title>/i, 'serve-index (Express)'],
    [/<title>\s*Files within \/[^<]*<\/title>/i, 'serve (Vercel)'],
    [/<title>\s*Directory: \/[^<]*<\/title>/i, 'Jetty'],
  ];
  for (const [re, server] of signs) {
    const m = re.exec(body);
    if (m) return { server, evidence: m[0].replace(/<[^>]+>/g, '').trim().slice(0, 120) };
  }
  return undefined;
}

/** `.svn/entries`: the working-copy format number alone (1.7+), or followed by `dir` records (older). */
function confirmSvnEntries(body: string): string | undefined {
  const lines = body.trim().split(/\r?\n/);
  if (!/^\d{1,2}$/.test(lines[0] ?? '')) return undefined;
  if (lines.length === 1 || lines.includes('dir')) return `format ${lines[0]}`;
  return undefined;
}

const env = (id: string, path: string): Probe => ({ id, path, category: 'env', what: `dotenv file ${path}`, severity: 'high', confirm: confirmEnv, scanSecrets: true });
const wpBackup = (id: string, path: string): Probe => ({
  id,
  path,
  category: 'backup',
  what: `WordPress config backup ${path}`,
  severity: 'high',
  confirm: textRe(/define\s*\(\s*['"]DB_(?:PASSWORD|NAME|USER)['"]/),
  scanSecrets: true,
});
const sqlDump = (id: string, path: string): Probe => ({
  id,
  path,
  category: 'backup',
  what: `database dump ${path}`,
  severity: 'high',
  confirm: textRe(/^(?:-- MySQL dump|-- PostgreSQL database dump|CREATE TABLE|INSERT INTO)/im, false),
  scanSecrets: true,
});
const archive = (id: string, path: string): Probe => ({ id, path, category: 'backup', what: `site archive ${path}`, severity: 'high', confirm: magic('PK\u0003\u0004', 'zip archive (PK header)') });
const listing = (id: string, path: string): Probe => ({ id, path, category: 'listing', what: `directory listing of ${path}`, severity: 'medium', confirm: confirmDirectoryListing });

export const PROBES: readonly Probe[] = [
  env('env', '/.env'),
  env('env-local', '/.env.local'),
  env('env-production', '/.env.production'),
  env('env-production-local', '/.env.production.local'),
  env('env-development', '/.env.development'),
  env('env-dev', '/.env.dev'),
  env('env-prod', '/.env.prod'),
  env('env-staging', '/.env.staging'),
  env('env-backup', '/.env.backup'),
  env('env-bak', '/.env.bak'),
  env('env-old', '/.env.old'),
  env('env-save', '/.env.save'),
  env('env-swp', '/.env~'),
  // Example files are meant to hold placeholders; real keys end up in them by mistake.
  { ...env('env-example', '/.env.example'), what: 'dotenv example file /.env.example', severity: 'low' },
  env('api-env', '/api/.env'),
  env('backend-env', '/backend/.env'),

  { id: 'git-head', path: '/.git/HEAD', category: 'vcs', what: 'git repository (.git/HEAD)', severity: 'high', confirm: textRe(/^(?:ref: refs\/[^\s]+|[0-9a-f]{40})\s*$/m, false) },
  { id: 'git-config', path: '/.git/config', category: 'vcs', what: 'git repository config (.git/config)', severity: 'high', confirm: textRe(/^\s*repositoryformatversion\s*=/m, false), scanSecrets: true },
  { id: 'git-logs-head', path: '/.git/logs/HEAD', category: 'vcs', what: 'git reflog (.git/logs/HEAD)', severity: 'high', confirm: textRe(/^[0-9a-f]{40} [0-9a-f]{40} /m, false) },
  { id: 'git-index', path: '/.git/index', category: 'vcs', what: 'git index (.git/index)', severity: 'high', confirm: magic('DIRC', 'git index (DIRC header)') },
  { id: 'git-credentials', path: '/.git-credentials', category: 'credentials', what: 'git credential store', severity: 'critical', confirm: textRe(/^https?:\/\/[^:\s]+:[^@\s]+@/m), scanSecrets: true },
  { id: 'svn-entries', path: '/.svn/entries', category: 'vcs', what: 'Subversion working copy (.svn/entries)', severity: 'high', confirm: confirmSvnEntries },
  { id: 'svn-wc-db', path: '/.svn/wc.db', category: 'vcs', what: 'Subversion working copy database (.svn/wc.db)', severity: 'high', confirm: magic('SQLite format 3', 'SQLite database header') },
  { id: 'hg-requires', path: '/.hg/requires', category: 'vcs', what: 'Mercurial repository (.hg/)', severity: 'high', confirm: textRe(/^(?:revlogv1|store|fncache|dotencode|generaldelta)\s*$/m, false) },
  { id: 'hg-hgrc', path: '/.hg/hgrc', category: 'vcs', what: 'Mercurial repository config (.hg/hgrc)', severity: 'high', confirm: textRe(/^\[(?:paths|ui|auth)\]/m, false), scanSecrets: true },
  { id: 'bzr-branch-format', path: '/.bzr/branch-format', category: 'vcs', what: 'Bazaar repository (.bzr/)', severity: 'high', confirm: textRe(/Bazaar/, false) },

  { id: 'ds-store', path: '/.DS_Store', category: 'meta', what: 'macOS folder index (.DS_Store) listing file names', severity: 'low', confirm: magic('\u0000\u0000\u0000\u0001Bud1', '.DS_Store header (Bud1)') },
  { id: 'idea-workspace', path: '/.idea/workspace.xml', category: 'meta', what: 'JetBrains project files (.idea/)', severity: 'low', confirm: textRe(/<project version=/, false) },

  { id: 'npmrc', path: '/.npmrc', category: 'credentials', what: 'npm config (.npmrc)', severity: 'high', confirm: textRe(/^\s*(?:\/\/[^\s]+:)?(?:_authToken|_auth|registry|always-auth|_password)\s*=/m), scanSecrets: true },
  { id: 'aws-credentials', path: '/.aws/credentials', category: 'credentials', what: 'AWS credentials file', severity: 'critical', confirm: textRe(/^\s*aws_(?:access_key_id|secret_access_key)\s*=/m), scanSecrets: true },
  { id: 'docker-config', path: '/.docker/config.json', category: 'credentials', what: 'Docker registry credentials', severity: 'critical', confirm: textRe(/"auths"\s*:/, false), scanSecrets: true },
  { id: 'pypirc', path: '/.pypirc', category: 'credentials', what: 'PyPI credentials (.pypirc)', severity: 'high', confirm: textRe(/^\[(?:distutils|pypi|testpypi)\]/m, false), scanSecrets: true },
  { id: 'htpasswd', path: '/.htpasswd', category: 'credentials', what: 'password file (.htpasswd)', severity: 'high', confirm: textRe(/^[^:\s]+:(?:\$apr1\$|\$2[aby]\$|\{SHA\}|\$[56]\$)/m) },
  { id: 'ssh-key', path: '/.ssh/id_rsa', category: 'credentials', what: 'SSH private key', severity: 'critical', confirm: textRe(/-----BEGIN (?:RSA |OPENSSH |EC )?PRIVATE KEY-----/, false), scanSecrets: true },
  { id: 'sftp-config', path: '/sftp-config.json', category: 'credentials', what: 'Sublime SFTP config with server login', severity: 'high', confirm: textRe(/"(?:password|host)"\s*:/, false), scanSecrets: true },
  { id: 'vscode-sftp', path: '/.vscode/sftp.json', category: 'credentials', what: 'VS Code SFTP config with server login', severity: 'high', confirm: textRe(/"(?:password|host)"\s*:/, false), scanSecrets: true },

  { id: 'config-json', path: '/config.json', category: 'config', what: 'config.json with credential fields', severity: 'high', confirm: confirmJsonWithSecrets, scanSecrets: true },
  { id: 'appsettings-json', path: '/appsettings.json', category: 'config', what: 'ASP.NET appsettings.json', severity: 'high', confirm: textRe(/"(?:ConnectionStrings|Logging|AllowedHosts)"\s*:/, false), scanSecrets: true },
  { id: 'web-config', path: '/web.config', category: 'config', what: 'IIS/ASP.NET web.config', severity: 'medium', confirm: (b) => (/^\s*(?:<\?xml[^>]*>\s*)?<configuration[\s>]/i.test(b) ? '<configuration>' : undefined), scanSecrets: true },
  { id: 'docker-compose', path: '/docker-compose.yml', category: 'config', what: 'docker-compose.yml', severity: 'medium', confirm: textRe(/^services:\s*$/m, false), scanSecrets: true },
  { id: 'terraform-state', path: '/terraform.tfstate', category: 'config', what: 'Terraform state (holds every resource secret)', severity: 'critical', confirm: textRe(/"terraform_version"\s*:/, false), scanSecrets: true },
  { id: 'gitlab-ci', path: '/.gitlab-ci.yml', category: 'config', what: 'GitLab CI pipeline (.gitlab-ci.yml)', severity: 'medium', confirm: textRe(/^(?:stages|variables|image|include):/m, false), scanSecrets: true },
  { id: 'travis-yml', path: '/.travis.yml', category: 'config', what: 'Travis CI config (.travis.yml)', severity: 'medium', confirm: textRe(/^(?:language|script|install|env):/m, false), scanSecrets: true },
  { id: 'circleci-config', path: '/.circleci/config.yml', category: 'config', what: 'CircleCI config', severity: 'medium', confirm: textRe(/^(?:version:\s*2|jobs:|workflows:)/m, false), scanSecrets: true },
  { id: 'dockerfile', path: '/Dockerfile', category: 'config', what: 'Dockerfile', severity: 'low', confirm: textRe(/^FROM\s+\S+/m, false), scanSecrets: true },
  { id: 'crossdomain-xml', path: '/crossdomain.xml', category: 'config', what: 'crossdomain.xml allowing every domain', severity: 'low', confirm: textRe(/<allow-access-from\s+domain="\*"/, false) },

  wpBackup('wp-config-bak', '/wp-config.php.bak'),
  wpBackup('wp-config-old', '/wp-config.php.old'),
  wpBackup('wp-config-save', '/wp-config.php.save'),
  wpBackup('wp-config-tilde', '/wp-config.php~'),
  wpBackup('wp-config-txt', '/wp-config.txt'),
  { id: 'config-php-bak', path: '/config.php.bak', category: 'backup', what: 'PHP config backup', severity: 'high', confirm: textRe(/<\?php|\$(?:db|config|password)/i, false), scanSecrets: true },
  sqlDump('backup-sql', '/backup.sql'),
  sqlDump('dump-sql', '/dump.sql'),
  sqlDump('database-sql', '/database.sql'),
  archive('backup-zip', '/backup.zip'),
  archive('site-zip', '/site.zip'),

  { id: 'server-status', path: '/server-status', category: 'server-info', what: 'Apache server-status (live requests and client IPs)', severity: 'medium', confirm: htmlRe(/Apache Server Status for[^<]*/i) },
  { id: 'server-info', path: '/server-info', category: 'server-info', what: 'Apache server-info (full server config)', severity: 'medium', confirm: htmlRe(/Apache Server Information/i) },
  { id: 'nginx-status', path: '/nginx_status', category: 'server-info', what: 'nginx stub_status', severity: 'low', confirm: textRe(/^Active connections:\s*\d+/m, false) },
  { id: 'phpinfo', path: '/phpinfo.php', category: 'server-info', what: 'phpinfo() page (server config and environment)', severity: 'medium', confirm: htmlRe(/<title>\s*(?:phpinfo\(\)|PHP \d[^<]*- phpinfo\(\))\s*<\/title>|PHP Version \d+\.\d+[^<]*/i), scanSecrets: true },
  { id: 'info-php', path: '/info.php', category: 'server-info', what: 'phpinfo() page (server config and environment)', severity: 'medium', confirm: htmlRe(/<title>\s*(?:phpinfo\(\)|PHP \d[^<]*- phpinfo\(\))\s*<\/title>|PHP Version \d+\.\d+[^<]*/i), scanSecrets: true },
  { id: 'actuator-env', path: '/actuator/env', category: 'debug', what: 'Spring Boot actuator /env (configuration and secrets)', severity: 'high', confirm: textRe(/"(?:activeProfiles|propertySources)"\s*:/, false), scanSecrets: true },
  { id: 'actuator', path: '/actuator', category: 'debug', what: 'Spring Boot actuator index', severity: 'low', confirm: textRe(/"_links"\s*:\s*\{\s*"self"/, false) },
  { id: 'actuator-heapdump', path: '/actuator/heapdump', category: 'debug', what: 'Spring Boot heap dump (memory with secrets)', severity: 'critical', confirm: magic('JAVA PROFILE', 'HPROF header') },
  { id: 'go-pprof', path: '/debug/pprof/', category: 'debug', what: 'Go pprof profiler', severity: 'medium', confirm: htmlRe(/Types of profiles available/i) },
  { id: 'go-expvar', path: '/debug/vars', category: 'debug', what: 'Go expvar (command line, memory stats)', severity: 'low', confirm: textRe(/"cmdline"\s*:\s*\[/, false) },
  { id: 'debug', path: '/debug', category: 'debug', what: 'debug endpoint', severity: 'medium', confirm: (b) => debugEndpointProof(b) },
  { id: 'werkzeug-console', path: '/console', category: 'debug', what: 'Werkzeug interactive console (remote code execution)', severity: 'critical', confirm: htmlRe(/Interactive Console[\s\S]{0,400}?Werkzeug|Werkzeug[\s\S]{0,400}?Interactive Console|__debugger__/i) },
  { id: 'symfony-profiler', path: '/_profiler/', category: 'debug', what: 'Symfony profiler (requests, config, environment)', severity: 'high', confirm: htmlRe(/Symfony Profiler/i) },
  { id: 'laravel-telescope', path: '/telescope/requests', category: 'debug', what: 'Laravel Telescope (requests, queries, environment)', severity: 'high', confirm: htmlRe(/<title>[^<]*Telescope[^<]*<\/title>/i) },
  { id: 'laravel-log', path: '/storage/logs/laravel.log', category: 'debug', what: 'Laravel log file', severity: 'high', confirm: textRe(/^\[\d{4}-\d\d-\d\d[ T][\d:]+\] \w+\.(?:ERROR|WARNING|INFO|DEBUG)/m, false), scanSecrets: true },
  { id: 'elmah', path: '/elmah.axd', category: 'debug', what: 'ELMAH error log (ASP.NET)', severity: 'high', confirm: htmlRe(/Error Log for/i) },
  { id: 'trace-axd', path: '/trace.axd', category: 'debug', what: 'ASP.NET trace viewer', severity: 'high', confirm: htmlRe(/Application Trace/i) },
  { id: 'npm-debug-log', path: '/npm-debug.log', category: 'debug', what: 'npm debug log', severity: 'low', confirm: textRe(/^\d+ (?:verbose|info|error) /m, false), scanSecrets: true },

  listing('listing-git', '/.git/'),
  listing('listing-uploads', '/uploads/'),
  listing('listing-backup', '/backup/'),
  listing('listing-backups', '/backups/'),
  listing('listing-static', '/static/'),
  listing('listing-assets', '/assets/'),
  listing('listing-files', '/files/'),
  listing('listing-logs', '/logs/'),

  {
    id: 'security-txt',
    path: '/.well-known/security.txt',
    category: 'security-txt',
    what: 'security.txt',
    severity: 'info',
    confirm: textRe(/^Contact:\s*\S+/im, false),
  },
];

/** A debug endpoint proves itself by debug-looking content: JSON state, a debug toolbar, or a framework debug page. */
function debugEndpointProof(body: string): string | undefined {
  const m = /(?:debug[_ -]?mode\s*[:=]\s*(?:true|on|1)|"debug"\s*:\s*true|Werkzeug Debugger|DEBUG\s*=\s*True|Django Debug Toolbar|phpdebugbar)/i.exec(body);
  return m ? m[0].slice(0, 80) : undefined;
}
