/**
 * The secrets corpus, generated at run time (no key is ever written whole in the repository):
 * realistic files with planted keys of every provider, in every kind of file where keys leak
 * (.env, JS bundles and minified one-liners, JSON, YAML, Python, logs with bearer headers, HTML
 * inline scripts, source maps, patches, URLs with keys in query strings), and an equally large
 * set of trap files that a scanner must stay silent on. Shared by the corpus test and
 * `npm run compare:secrets`.
 */
import { checksummedToken, ExampleRandom, b64 } from '../../src/secrets/examples.js';

export interface Planted {
  provider: string;
  /** A short name of the key kind, e.g. `openai-project`. */
  kind: string;
  ai: boolean;
  secret: string;
  /** Offset of the secret in the file's text. */
  index: number;
}

export interface CorpusFile {
  path: string;
  text: string;
  planted: Planted[];
  /** `positive` files hold planted keys; `trap` files hold none. */
  set: 'positive' | 'trap';
}

interface KeyKind {
  kind: string;
  provider: string;
  ai: boolean;
  /** The environment variable name people use for it. */
  env: string;
  /** What code calls the provider's client (context keys need the provider named nearby). */
  client: string;
  make: (r: ExampleRandom) => string;
  /** Templates that cannot show this kind (a value with no name and no prefix is undetectable). */
  skip?: readonly string[];
}

const uuid = (r: ExampleRandom) => `${r.chars('hex', 8)}-${r.chars('hex', 4)}-4${r.chars('hex', 3)}-a${r.chars('hex', 3)}-${r.chars('hex', 12)}`;
const MARK = 'T3Blbk' + 'FJ';
const GROQ = 'WGdyb3' + 'FY';

export const KEY_KINDS: readonly KeyKind[] = [
  { kind: 'openai-project', provider: 'OpenAI', ai: true, env: 'OPENAI_API_KEY', client: 'new OpenAI', make: (r) => 'sk-proj-' + r.chars('base64url', 74) + MARK + r.chars('base64url', 74) },
  { kind: 'openai-project-short', provider: 'OpenAI', ai: true, env: 'OPENAI_API_KEY', client: 'new OpenAI', make: (r) => 'sk-proj-' + r.chars('base64url', 58) + MARK + r.chars('base64url', 58) },
  { kind: 'openai-service-account', provider: 'OpenAI', ai: true, env: 'OPENAI_API_KEY', client: 'new OpenAI', make: (r) => 'sk-svcacct-' + r.chars('base64url', 74) + MARK + r.chars('base64url', 74) },
  { kind: 'openai-admin', provider: 'OpenAI', ai: true, env: 'OPENAI_ADMIN_KEY', client: 'new OpenAI', make: (r) => 'sk-admin-' + r.chars('base64url', 58) + MARK + r.chars('base64url', 58) },
  { kind: 'openai-legacy', provider: 'OpenAI', ai: true, env: 'OPENAI_API_KEY', client: 'new OpenAI', make: (r) => 'sk-' + r.chars('alnum', 20) + MARK + r.chars('alnum', 20) },
  { kind: 'anthropic-api', provider: 'Anthropic', ai: true, env: 'ANTHROPIC_API_KEY', client: 'new Anthropic', make: (r) => 'sk-ant-api03-' + r.chars('base64url', 93) + 'AA' },
  { kind: 'anthropic-admin', provider: 'Anthropic', ai: true, env: 'ANTHROPIC_ADMIN_KEY', client: 'new Anthropic', make: (r) => 'sk-ant-admin01-' + r.chars('base64url', 93) + 'AA' },
  { kind: 'anthropic-oauth', provider: 'Anthropic', ai: true, env: 'CLAUDE_CODE_OAUTH_TOKEN', client: 'new Anthropic', make: (r) => 'sk-ant-' + r.pick(['oat01', 'ort01']) + '-' + r.chars('base64url', 93) + 'AA' },
  { kind: 'google-api', provider: 'Google', ai: true, env: 'GEMINI_API_KEY', client: 'new GoogleGenAI', make: (r) => 'AIza' + r.chars('base64url', 35) },
  { kind: 'gemini-auth', provider: 'Google', ai: true, env: 'GEMINI_API_KEY', client: 'new GoogleGenAI', make: (r) => 'AQ.Ab' + r.chars('base64url', 48) },
  {
    kind: 'azure-84', provider: 'Azure', ai: true, env: 'AZURE_OPENAI_API_KEY', client: 'new AzureOpenAI',
    make: (r) => r.chars('alnum', 52) + 'JQQJ9' + r.pick(['9', 'D', 'H']) + r.chars('alnum', 1) + r.pick([...'ABCDEFGHIJKL']) + r.chars('alnum', 16) + r.chars('letters', 1) + r.chars('alnum', 7),
  },
  { kind: 'azure-32', provider: 'Azure', ai: true, env: 'AZURE_OPENAI_API_KEY', client: 'new AzureOpenAI', make: (r) => r.chars('hex', 32) },
  { kind: 'aws-access-key-id', provider: 'AWS', ai: true, env: 'AWS_ACCESS_KEY_ID', client: 'new BedrockRuntimeClient', make: (r) => r.pick(['AKIA', 'ASIA']) + r.chars('base32', 16) },
  { kind: 'aws-secret', provider: 'AWS', ai: true, env: 'AWS_SECRET_ACCESS_KEY', client: 'new BedrockRuntimeClient', make: (r) => r.chars('base64', 40) },
  {
    kind: 'bedrock-long-term', provider: 'AWS', ai: true, env: 'AWS_BEARER_TOKEN_BEDROCK', client: 'new BedrockRuntimeClient',
    make: (r) => 'ABSK' + b64('BedrockAPIKey-' + r.chars('lowerAlnum', 4) + '-at-' + r.chars('digits', 12) + ':' + r.chars('base64', 44)),
  },
  {
    kind: 'bedrock-short-term', provider: 'AWS', ai: true, env: 'AWS_BEARER_TOKEN_BEDROCK', client: 'new BedrockRuntimeClient',
    make: (r) => 'bedrock-api-key-' + b64('bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA' + r.chars('base32', 16) + '%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Security-Token=' + r.chars('base64', 200) + '&X-Amz-Signature=' + r.chars('hex', 64) + '&Version=1'),
  },
  { kind: 'groq', provider: 'Groq', ai: true, env: 'GROQ_API_KEY', client: 'new Groq', make: (r) => 'gsk_' + r.chars('alnum', 20) + GROQ + r.chars('alnum', 24) },
  { kind: 'huggingface', provider: 'Hugging Face', ai: true, env: 'HF_TOKEN', client: 'new HfInference', make: (r) => 'hf_' + r.chars('letters', 34) },
  { kind: 'replicate', provider: 'Replicate', ai: true, env: 'REPLICATE_API_TOKEN', client: 'new Replicate', make: (r) => 'r8_' + r.chars('alnum', 37) },
  { kind: 'perplexity', provider: 'Perplexity', ai: true, env: 'PERPLEXITY_API_KEY', client: 'new Perplexity', make: (r) => 'pplx-' + r.chars('alnum', 48) },
  { kind: 'xai', provider: 'xAI', ai: true, env: 'XAI_API_KEY', client: 'createXai', make: (r) => 'xai-' + r.chars('alnum', 80) },
  { kind: 'mistral', provider: 'Mistral AI', ai: true, env: 'MISTRAL_API_KEY', client: 'new Mistral', make: (r) => r.chars('alnum', 32) },
  { kind: 'cohere', provider: 'Cohere', ai: true, env: 'COHERE_API_KEY', client: 'new CohereClient', make: (r) => r.chars('alnum', 40) },
  { kind: 'deepseek', provider: 'DeepSeek', ai: true, env: 'DEEPSEEK_API_KEY', client: 'createDeepSeek', make: (r) => 'sk-' + r.chars('hex', 32) },
  { kind: 'openrouter', provider: 'OpenRouter', ai: true, env: 'OPENROUTER_API_KEY', client: 'createOpenRouter', make: (r) => 'sk-or-v1-' + r.chars('hex', 64) },
  { kind: 'together', provider: 'Together AI', ai: true, env: 'TOGETHER_API_KEY', client: 'new Together', make: (r) => 'tgp_v1_' + r.chars('base64url', 43) },
  { kind: 'together-legacy', provider: 'Together AI', ai: true, env: 'TOGETHER_API_KEY', client: 'new Together', make: (r) => r.chars('hex', 64) },
  { kind: 'fireworks', provider: 'Fireworks AI', ai: true, env: 'FIREWORKS_API_KEY', client: 'createFireworks', make: (r) => 'fw_' + r.chars('alnum', 24) },
  { kind: 'nvidia', provider: 'NVIDIA', ai: true, env: 'NVIDIA_API_KEY', client: 'new NvidiaClient', make: (r) => 'nvapi-' + r.chars('base64url', 64) },
  { kind: 'moonshot', provider: 'Moonshot AI', ai: true, env: 'MOONSHOT_API_KEY', client: 'new MoonshotClient', make: (r) => 'sk-' + r.chars('alnum', 48) },
  { kind: 'deepinfra', provider: 'DeepInfra', ai: true, env: 'DEEPINFRA_API_KEY', client: 'createDeepInfra', make: (r) => r.chars('alnum', 32) },
  { kind: 'elevenlabs', provider: 'ElevenLabs', ai: true, env: 'ELEVENLABS_API_KEY', client: 'new ElevenLabsClient', make: (r) => 'sk_' + r.chars('hex', 48) },
  { kind: 'langsmith', provider: 'LangChain', ai: true, env: 'LANGSMITH_API_KEY', client: 'new LangSmithClient', make: (r) => 'lsv2_' + r.pick(['pt', 'sk']) + '_' + r.chars('hex', 32) + '_' + r.chars('hex', 10) },
  { kind: 'pinecone', provider: 'Pinecone', ai: true, env: 'PINECONE_API_KEY', client: 'new Pinecone', make: (r) => 'pcsk_' + r.chars('alnum', 5) + '_' + r.chars('alnum', 63) },
  { kind: 'pinecone-legacy', provider: 'Pinecone', ai: true, env: 'PINECONE_API_KEY', client: 'new Pinecone', make: uuid },
  // Common non-AI secrets.
  { kind: 'generic-token', provider: 'Generic', ai: false, env: 'INTERNAL_API_TOKEN', client: 'new InternalClient', make: (r) => r.chars('base64url', 40), skip: ['go'] },
  { kind: 'google-oauth-client-secret', provider: 'Google', ai: false, env: 'GOOGLE_CLIENT_SECRET', client: 'new OAuth2Client', make: (r) => 'GOCSPX-' + r.chars('base64url', 28) },
  { kind: 'azure-storage', provider: 'Azure', ai: false, env: 'AZURE_STORAGE_CONNECTION_STRING', client: 'BlobServiceClient.fromConnectionString', make: (r) => `DefaultEndpointsProtocol=https;AccountName=${r.chars('lowerAlnum', 10)};AccountKey=${r.chars('base64', 86)}==;EndpointSuffix=core.windows.net` },
  { kind: 'github', provider: 'GitHub', ai: false, env: 'GITHUB_TOKEN', client: 'new Octokit', make: (r) => checksummedToken(r.pick(['ghp_', 'gho_', 'ghs_']), r) },
  { kind: 'github-fine-grained', provider: 'GitHub', ai: false, env: 'GH_TOKEN', client: 'new Octokit', make: (r) => 'github_pat_' + r.chars('alnum', 22) + '_' + r.chars('alnum', 59) },
  { kind: 'gitlab', provider: 'GitLab', ai: false, env: 'GITLAB_TOKEN', client: 'new Gitlab', make: (r) => 'glpat-' + r.chars('base64url', 20) },
  { kind: 'slack', provider: 'Slack', ai: false, env: 'SLACK_BOT_TOKEN', client: 'new WebClient', make: (r) => 'xoxb-' + r.chars('digits', 12) + '-' + r.chars('digits', 13) + '-' + r.chars('alnum', 24) },
  { kind: 'slack-webhook', provider: 'Slack', ai: false, env: 'SLACK_WEBHOOK_URL', client: 'new IncomingWebhook', make: (r) => 'https://hooks.slack.com/services/T' + r.chars('upperAlnum', 10) + '/B' + r.chars('upperAlnum', 10) + '/' + r.chars('alnum', 24) },
  { kind: 'stripe', provider: 'Stripe', ai: false, env: 'STRIPE_SECRET_KEY', client: 'new Stripe', make: (r) => 'sk_live_' + r.chars('alnum', 99) },
  { kind: 'twilio', provider: 'Twilio', ai: false, env: 'TWILIO_API_KEY', client: 'twilio', make: (r) => 'SK' + r.chars('hex', 32) },
  { kind: 'sendgrid', provider: 'SendGrid', ai: false, env: 'SENDGRID_API_KEY', client: 'sgMail.setApiKey', make: (r) => 'SG.' + r.chars('base64url', 22) + '.' + r.chars('base64url', 43) },
  { kind: 'npm', provider: 'npm', ai: false, env: 'NPM_TOKEN', client: 'publish', make: (r) => 'npm_' + r.chars('alnum', 36) },
  { kind: 'pypi', provider: 'PyPI', ai: false, env: 'TWINE_PASSWORD', client: 'twine', make: (r) => 'pypi-AgEIcHlwaS5vcmc' + r.chars('base64url', 120) },
  { kind: 'telegram', provider: 'Telegram', ai: false, env: 'TELEGRAM_BOT_TOKEN', client: 'new Telegraf', make: (r) => r.chars('digits', 10) + ':AA' + r.chars('base64url', 33) },
];

// ---------------------------------------------------------------------------------------------
// Where keys leak: each template places `key` in a realistic file and returns the text; the key
// must appear exactly once, verbatim.

interface Template {
  name: string;
  ext: string;
  render: (k: KeyKind, key: string, r: ExampleRandom) => string;
}

const filler = (r: ExampleRandom) =>
  r.pick([
    'export function formatPrice(cents) {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n',
    'const items = await db.query("select id, name from items where owner = $1", [userId]);\n',
    '// retry with backoff so a flaky upstream does not fail the whole request\n',
    'if (!res.ok) throw new Error(`upstream answered ${res.status}`);\n',
    'const cache = new Map();\nconst ttl = 60_000;\n',
    'app.get("/health", (_req, res) => res.json({ ok: true }));\n',
  ]);

const camel = (env: string) => env.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

export const TEMPLATES: readonly Template[] = [
  { name: 'dotenv', ext: '.env', render: (k, key, r) => `# ${k.provider}\nNODE_ENV=production\nPORT=${3000 + r.int(100)}\n${k.env}=${key}\nLOG_LEVEL=info\n` },
  { name: 'dotenv-quoted', ext: '.env.local', render: (k, key) => `DATABASE_POOL=10\nexport ${k.env}="${key}"\n` },
  {
    name: 'js-source', ext: '.ts',
    render: (k, key, r) => `import { ${k.client.replace(/^new /, '').replace(/\W.*$/, '')} } from "sdk";\n${filler(r)}\nconst client = ${k.client}({\n  apiKey: "${key}",\n  timeout: 30_000,\n});\n${filler(r)}`,
  },
  {
    name: 'minified-bundle', ext: '.min.js',
    render: (k, key, r) => `!function(){"use strict";var e=${r.int(9)},t="${r.chars('lowerAlnum', 6)}";function n(o){return o*e}const a={${camel(k.env)}:"${key}",baseURL:"/api",retries:3};window.__cfg=a;${k.client}(a).then(function(c){return c.ping()});console.log(t,n(2))}();`,
  },
  { name: 'json-config', ext: '.json', render: (k, key) => JSON.stringify({ name: 'my-app', provider: k.provider.toLowerCase(), env: { [k.env]: key }, features: ['chat', 'search'] }, null, 2) + '\n' },
  { name: 'yaml', ext: '.yaml', render: (k, key) => `service:\n  name: assistant\n  replicas: 2\n  env:\n    - name: ${k.env}\n      value: "${key}"\n    - name: LOG_LEVEL\n      value: debug\n` },
  { name: 'python', ext: '.py', render: (k, key) => `import os\n\n# TODO move to the environment\n${k.env} = "${key}"\n\nclient = ${k.client.replace(/^new /, '')}(api_key=${k.env})\n` },
  {
    name: 'log-bearer', ext: '.log',
    render: (k, key, r) => `2026-01-0${1 + r.int(8)}T10:00:00Z INFO request id=${uuid(r)} provider=${k.provider.toLowerCase()} ${k.env.toLowerCase()}\n2026-01-01T10:00:01Z DEBUG POST /v1/chat/completions headers={"Authorization":"Bearer ${key}","Content-Type":"application/json"}\n2026-01-01T10:00:02Z INFO 200 in 812ms\n`,
  },
  {
    name: 'html-inline', ext: '.html',
    render: (k, key) => `<!doctype html>\n<html><head><title>Chat</title>\n<script>\n  window.${camel(k.env)} = '${key}';\n  ${k.client}({ key: window.${camel(k.env)} });\n</script></head><body><div id="app"></div></body></html>\n`,
  },
  {
    name: 'source-map', ext: '.js.map',
    render: (k, key) => JSON.stringify({ version: 3, file: 'app.js', sources: ['src/config.ts'], sourcesContent: [`// ${k.provider} client\nexport const ${k.env} = "${key}";\nexport default ${k.client}({ apiKey: ${k.env} });\n`], mappings: 'AAAA,SAAS,IAAI' }) + '\n',
  },
  {
    name: 'patch', ext: '.patch',
    render: (k, key, r) => `diff --git a/.env b/.env\nindex ${r.chars('hex', 7)}..${r.chars('hex', 7)} 100644\n--- a/.env\n+++ b/.env\n@@ -1,2 +1,3 @@\n PORT=3000\n+${k.env}=${key}\n LOG_LEVEL=info\n`,
  },
  {
    name: 'url-query', ext: '.md',
    render: (k, key) => `Call it like this (${k.provider}):\n\n    curl "https://api.example.com/v1/models?${k.env.toLowerCase()}=${key}&limit=10"\n`,
  },
  { name: 'shell-header', ext: '.sh', render: (k, key) => `#!/bin/sh\n# ${k.provider} smoke test\ncurl -sS https://api.example.com/v1/chat \\\n  -H "x-api-key: ${key}" \\\n  -d @body.json\n` },
  { name: 'docker-compose', ext: 'docker-compose.yml', render: (k, key) => `services:\n  api:\n    image: app:latest\n    environment:\n      - ${k.env}=${key}\n      - PORT=8080\n` },
  { name: 'terraform', ext: '.tf', render: (k, key) => `resource "kubernetes_secret" "${k.env.toLowerCase()}" {\n  data = {\n    ${k.env.toLowerCase()} = "${key}"\n  }\n}\n` },
  {
    name: 'notebook', ext: '.ipynb',
    render: (k, key) => JSON.stringify({ cells: [{ cell_type: 'code', source: ['import os\n', `os.environ["${k.env}"] = "${key}"\n`, `client = ${k.client.replace(/^new /, '')}()\n`] }], nbformat: 4 }, null, 1) + '\n',
  },
  { name: 'properties', ext: '.properties', render: (k, key) => `# ${k.provider}\n${k.provider.toLowerCase().replace(/\W/g, '')}.api.key=${key}\nserver.port=8080\n` },
  { name: 'toml', ext: '.toml', render: (k, key) => `[${k.provider.toLowerCase().replace(/\W/g, '-')}]\napi_key = "${key}"\ntimeout = 30\n` },
  { name: 'appsettings', ext: 'appsettings.json', render: (k, key) => JSON.stringify({ Logging: { LogLevel: { Default: 'Information' } }, [k.provider.replace(/\W/g, '')]: { ApiKey: key } }, null, 2) + '\n' },
  { name: 'go', ext: '.go', render: (k, key) => `package main\n\n// ${k.provider}\nfunc newClient() *Client {\n\treturn NewClient("${key}")\n}\n` },
];

// ---------------------------------------------------------------------------------------------
// Traps: things that look like keys to a naive scanner and are not secrets.

const TRAPS: readonly ((r: ExampleRandom) => { ext: string; text: string })[] = [
  (r) => ({ ext: '.env.example', text: `OPENAI_API_KEY=sk-...\nANTHROPIC_API_KEY=sk-ant-...\nGEMINI_API_KEY=your-gemini-key\nGROQ_API_KEY=gsk_${'x'.repeat(52)}\nPORT=${r.int(9000)}\n` }),
  () => ({ ext: '.md', text: 'Set `OPENAI_API_KEY=sk-your-key-here` and `ANTHROPIC_API_KEY=<ANTHROPIC_API_KEY>` in your shell.\n' }),
  () => ({ ext: '.ts', text: 'const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });\nconst anthropic = new Anthropic({ apiKey: process.env["ANTHROPIC_API_KEY"] ?? "" });\n' }),
  () => ({ ext: '.py', text: 'import os\nclient = OpenAI(api_key=os.environ["OPENAI_API_KEY"])\nmistral = Mistral(api_key=os.getenv("MISTRAL_API_KEY"))\n' }),
  () => ({ ext: '.yaml', text: 'env:\n  - name: OPENAI_API_KEY\n    valueFrom:\n      secretKeyRef:\n        name: openai-credentials\n        key: api-key\n  token: ${{ secrets.GITHUB_TOKEN }}\n' }),
  () => ({ ext: '.md', text: 'AWS example credentials: `AKIA' + 'IOSFODNN7' + 'EXAMPLE` / `wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY`\n' }),
  (r) => ({ ext: '.txt', text: `commit ${r.chars('hex', 40)}\nAuthor: Dev <dev@example.com>\n\n    bump azure sdk, checksum ${r.chars('hex', 64)}\n    md5 ${r.chars('hex', 32)}\n` }),
  (r) => ({ ext: '.json', text: JSON.stringify({ requestId: uuid(r), traceId: uuid(r), sessionId: uuid(r), etag: r.chars('hex', 32) }, null, 2) }),
  (r) => ({
    ext: 'package-lock.json',
    text: JSON.stringify({ packages: { 'node_modules/openai': { version: '6.1.0', resolved: 'https://registry.npmjs.org/openai/-/openai-6.1.0.tgz', integrity: 'sha512-' + r.chars('base64', 86) + '==' }, 'node_modules/@azure/openai': { version: '2.0.0', integrity: 'sha512-' + r.chars('base64', 86) + '==' } } }, null, 2),
  }),
  (r) => ({ ext: 'yarn.lock', text: `"@anthropic-ai/sdk@^1.0.0":\n  version "1.14.0"\n  resolved "https://registry.yarnpkg.com/@anthropic-ai/sdk/-/sdk-1.14.0.tgz#${r.chars('hex', 40)}"\n  integrity sha512-${r.chars('base64', 86)}==\n` }),
  () => ({ ext: '.min.js', text: 'var getAccessTokenFromRefreshToken=function(e){return e.refreshTokenExpiresAt>Date.now()},secretKeyPlaceholderValue="configure-in-settings",apiKeyHeaderName="x-api-key";' }),
  (r) => ({ ext: '.css', text: `.css-${r.chars('lowerAlnum', 7)}{color:red}.sc-${r.chars('letters', 6)}{margin:0}._button_${r.chars('lowerAlnum', 5)}_1{padding:4px}.sk-proj-card{display:flex}.token-${r.chars('lowerAlnum', 8)}{font:inherit}\n` }),
  (r) => ({ ext: '.html', text: `<img alt="logo" src="data:image/png;base64,${r.chars('base64', 600)}=="><link rel="preload" href="data:font/woff2;base64,${r.chars('base64', 800)}">` }),
  (r) => ({ ext: '.ts', text: `// test fixture\nconst fakeToken = "ghp_${r.chars('alnum', 36)}"; // wrong checksum\nconst notGroq = "gsk_${r.chars('alnum', 52)}";\n` }),
  (r) => ({ ext: '.env', text: `TWILIO_ACCOUNT_SID=AC${r.chars('hex', 32)}\nSTRIPE_PUBLISHABLE_KEY=pk_live_${r.chars('alnum', 24)}\nNEXT_PUBLIC_SUPABASE_URL=https://${r.chars('lowerAlnum', 20)}.supabase.co\n` }),
  () => ({ ext: '.md', text: `\`\`\`bash\nexport OPENAI_API_KEY="sk-proj-${'x'.repeat(52)}"\nexport HF_TOKEN=hf_${'x'.repeat(34)}\n\`\`\`\n` }),
  (r) => ({ ext: '.ts', text: `const sha = "${r.chars('hex', 40)}";\nconst digest = createHash("sha256").update(body).digest("hex"); // e.g. ${r.chars('hex', 64)}\n` }),
  () => ({ ext: '.env', text: 'DATABASE_URL=postgres://postgres:postgres@localhost:5432/app\nREDIS_URL=redis://localhost:6379\nMONGO_URL=mongodb://user:password@localhost/test\n' }),
  (r) => ({ ext: '.log', text: `GET /v1/models 401 Authorization: Bearer <redacted>\nPOST /v1/chat 200 Authorization: Bearer sk-proj-…${r.chars('alnum', 4)} fingerprint=sha256:${r.chars('hex', 16)}\n` }),
  (r) => ({ ext: '.js', text: `const i18n={apiKeyLabel:"API key",tokenHint:"Paste your token here",secretTitle:"Client secret"};const buildId="${r.chars('lowerAlnum', 20)}";` }),
  (r) => ({ ext: '.json', text: JSON.stringify({ compilerOptions: { tsBuildInfoFile: `.cache/${r.chars('hex', 16)}.tsbuildinfo` }, version: `1.0.0-beta.${r.int(9)}+sha.${r.chars('hex', 7)}` }) }),
  (r) => ({ ext: '.py', text: `MODEL = "mistral-large-latest"\nTOKENIZER = "mistralai/Mistral-7B-Instruct-v0.${r.int(3)}"\nEMBEDDINGS = "cohere/embed-english-v3.0"\n` }),
  (r) => ({ ext: '.html', text: `<script src="https://cdn.example.com/lib.min.js" integrity="sha384-${r.chars('base64', 64)}" crossorigin="anonymous"></script>\n<link href="/_next/static/css/${r.chars('hex', 16)}.css" rel="stylesheet">\n` }),
  (r) => ({ ext: '.json', text: JSON.stringify({ files: { 'main.js': `static/js/main.${r.chars('hex', 20)}.js`, 'app.js': `static/chunks/pages/_app-${r.chars('hex', 16)}.js` }, buildId: r.chars('base64url', 21) }, null, 2) }),
  (r) => ({ ext: '.patch', text: `From ${r.chars('hex', 40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH] bump openai sdk\n\ndiff --git a/package.json b/package.json\nindex ${r.chars('hex', 7)}..${r.chars('hex', 7)} 100644\n-    "openai": "^5.0.0"\n+    "openai": "^6.0.0"\n` }),
  (r) => ({ ext: '.json', text: JSON.stringify({ event: 'upload', payload: r.chars('base64', 400) + '==', signature: r.chars('hex', 64) }) }),
  (r) => ({ ext: '.min.js', text: Array.from({ length: 40 }, () => `var ${r.chars('letters', 2)}${r.chars('alnum', 5)}=function(${r.chars('letters', 1)}){return ${r.chars('letters', 1)}.${r.chars('letters', 3)}${r.chars('alnum', 4)}}`).join(';') }),
  (r) => ({ ext: '.env', text: `CACHE_KEY=${r.chars('hex', 64)}\nPUBLIC_KEY=${r.chars('base64', 88)}\nSESSION_ID=${r.chars('hex', 32)}\nAZURE_OPENAI_DEPLOYMENT=gpt-4o\n` }),
  (r) => ({ ext: '.ts', text: `Sentry.init({ dsn: "https://${r.chars('hex', 32)}@o${r.chars('digits', 6)}.ingest.sentry.io/${r.chars('digits', 7)}" });\nconst maxTokens = ${r.int(4000)};\n` }),
  (r) => ({ ext: '.yaml', text: `openai:\n  model: gpt-4o-mini\n  max_tokens: ${r.int(4000)}\n  organization_id: org-${r.chars('alnum', 24)}\n  project_id: proj_${r.chars('alnum', 24)}\n` }),
  (r) => ({ ext: '.md', text: `Your key looks like \`sk-proj-abc…${r.chars('alnum', 4)}\` in the dashboard; never paste the whole key in issues.\nGroq keys start with \`gsk_\`, Anthropic keys with \`sk-ant-api03-\`.\n` }),
];

/** The corpus for one seed: `perPair` files per (key kind, template) pair, then as many traps as positives. */
export function generateCorpus(seed = 1, perPair = 1): CorpusFile[] {
  const r = new ExampleRandom(seed);
  const files: CorpusFile[] = [];
  let n = 0;
  for (const k of KEY_KINDS) {
    for (const t of TEMPLATES) {
      if (k.skip?.includes(t.name)) continue;
      for (let i = 0; i < perPair; i++) {
        const key = k.make(r);
        const text = t.render(k, key, r);
        const index = text.indexOf(key);
        if (index === -1 || text.indexOf(key, index + 1) !== -1) throw new Error(`template ${t.name} must hold the ${k.kind} key exactly once`);
        files.push({ path: `positive/${k.kind}/${t.name}-${n++}${t.ext}`, text, planted: [{ provider: k.provider, kind: k.kind, ai: k.ai, secret: key, index }], set: 'positive' });
      }
    }
  }
  const positives = files.length;
  for (let i = 0; i < positives; i++) {
    const trap = TRAPS[i % TRAPS.length]!(r);
    const name = trap.ext.startsWith('.') ? `trap-${i}${trap.ext}` : `${i}/${trap.ext}`;
    files.push({ path: `trap/${name}`, text: trap.text, planted: [], set: 'trap' });
  }
  return files;
}

/** A finding as any scanner reports it: where the secret sits in which file. */
export interface Reported {
  path: string;
  index: number;
  length: number;
  provider?: string;
}

export interface Score {
  planted: number;
  found: number;
  reported: number;
  falsePositives: number;
  recall: number;
  precision: number;
  /** Keys found but named as another provider (keyward only). */
  misattributed: number;
  missedKinds: Map<string, number>;
}

/**
 * Recall: planted keys that some report overlaps. Precision: reports that overlap a planted key.
 * `filter` picks the planted keys (and the files) that count, e.g. the AI providers and the traps.
 */
export function score(files: readonly CorpusFile[], reported: readonly Reported[], filter: (f: CorpusFile) => boolean = () => true): Score {
  const byPath = new Map<string, Reported[]>();
  for (const rep of reported) (byPath.get(rep.path) ?? byPath.set(rep.path, []).get(rep.path)!).push(rep);
  let planted = 0;
  let found = 0;
  let reportedN = 0;
  let fp = 0;
  let misattributed = 0;
  const missedKinds = new Map<string, number>();
  for (const f of files) {
    if (!filter(f)) continue;
    const reps = byPath.get(f.path) ?? [];
    reportedN += reps.length;
    for (const rep of reps) {
      if (!f.planted.some((p) => rep.index < p.index + p.secret.length && p.index < rep.index + rep.length)) fp++;
    }
    for (const p of f.planted) {
      planted++;
      const hit = reps.find((rep) => rep.index < p.index + p.secret.length && p.index < rep.index + rep.length);
      if (hit) {
        found++;
        if (hit.provider !== undefined && hit.provider !== p.provider) misattributed++;
      } else missedKinds.set(p.kind, (missedKinds.get(p.kind) ?? 0) + 1);
    }
  }
  return {
    planted,
    found,
    reported: reportedN,
    falsePositives: fp,
    recall: planted ? found / planted : 1,
    precision: reportedN ? (reportedN - fp) / reportedN : 1,
    misattributed,
    missedKinds,
  };
}

export const isAiOrTrap = (f: CorpusFile) => f.set === 'trap' || f.planted.some((p) => p.ai);
