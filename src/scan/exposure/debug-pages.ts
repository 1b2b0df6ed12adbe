/**
 * Recognises framework debug pages and stack traces in a response body: Django, Laravel
 * (Ignition/Whoops), Symfony, Express/Node, Werkzeug/Flask, Rails, Spring, ASP.NET, PHP and
 * bare Python/Java tracebacks. Signatures are the pages' own fixed texts, not guesses.
 */
import type { DebugPage } from './facts.js';

interface Signature {
  framework: string;
  kind: DebugPage['kind'];
  re: RegExp;
}

/** Most specific first: the first match names the framework. */
const SIGNATURES: readonly Signature[] = [
  { framework: 'Werkzeug/Flask', kind: 'debugger', re: /Werkzeug Debugger|The debugger caught an exception in your WSGI application|__debugger__=yes/i },
  { framework: 'Django', kind: 'debug-page', re: /You(?:'|’|&#x27;|&#39;|&rsquo;)re seeing this error because you have <code>DEBUG = True<\/code>|Using the URLconf defined in <code>[^<]+<\/code>/i },
  { framework: 'Laravel', kind: 'debug-page', re: /Illuminate\\(?:Foundation|Database|Routing|Http)\\[\w\\]+|window\.ignite\b|<title>[^<]*Ignition[^<]*<\/title>|Whoops, looks like something went wrong|facade\/ignition|spatie\/laravel-ignition/ },
  { framework: 'Symfony', kind: 'debug-page', re: /Symfony\\Component\\[\w\\]+Exception|<div class="sf-toolbar|symfony\/debug|Symfony Exception/ },
  { framework: 'Rails', kind: 'debug-page', re: /Action Controller: Exception caught|<h1>Routing Error<\/h1>[\s\S]{0,600}No route matches|Rails\.root: /i },
  { framework: 'ASP.NET', kind: 'debug-page', re: /Server Error in '[^']*' Application|An unhandled exception occurred while processing the request\.|<b>\s*Stack Trace:\s*<\/b>|\[HttpException \(0x[0-9a-f]+\)|Version Information:\s*<\/b>\s*Microsoft \.NET Framework/i },
  { framework: 'Spring', kind: 'stack-trace', re: /(?:\tat |"trace"\s*:\s*"[^"]{0,200}?\\n\\tat |\n\s*at )(?:org\.springframework|org\.apache\.catalina|java\.base\/|java\.lang\.)[\w.$]+\(/ },
  { framework: 'Spring', kind: 'debug-page', re: /<h1>Whitelabel Error Page<\/h1>[\s\S]{0,400}?(?:at [\w.$]+\(|Exception)/ },
  { framework: 'Express/Node.js', kind: 'stack-trace', re: /(?:&nbsp; &nbsp;|\n {4})at (?:[\w.<>$[\] ]+ )?\(?(?:\/|[A-Z]:\\|node:internal\/|file:\/\/)[^)\n<]*?:\d+:\d+\)?/ },
  { framework: 'PHP', kind: 'stack-trace', re: /<b>(?:Fatal error|Warning|Parse error|Notice)<\/b>:\s[\s\S]{0,300}? in <b>\/[^<]+<\/b> on line <b>\d+<\/b>|Stack trace:\s*(?:<br \/>\s*)?#0 \/[^\n]+\.php\(\d+\)/ },
  { framework: 'Python', kind: 'stack-trace', re: /Traceback \(most recent call last\):\s*(?:<br\s*\/?>)?\s*File &quot;|Traceback \(most recent call last\):\s*\n\s*File "/ },
  { framework: 'Java', kind: 'stack-trace', re: /(?:Exception|Error)(?::[^\n]*)?\n\s+at [a-z][\w$]*(?:\.[\w$]+)+\([\w$]+\.java:\d+\)/ },
];

/** Debug pages name the error near the top or embed it as data at the end; the middle (inlined assets) is skipped. */
const EDGE_CHARS = 128 * 1024;

export function recogniseDebugPage(body: string): { framework: string; kind: DebugPage['kind']; evidence: string } | undefined {
  const head = body.length > 2 * EDGE_CHARS ? `${body.slice(0, EDGE_CHARS)}\n${body.slice(-EDGE_CHARS)}` : body;
  for (const s of SIGNATURES) {
    const m = s.re.exec(head);
    if (m) return { framework: s.framework, kind: s.kind, evidence: clean(m[0]) };
  }
  return undefined;
}

function clean(s: string): string {
  const text = s
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 140 ? `${text.slice(0, 137)}…` : text;
}
