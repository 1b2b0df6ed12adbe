/**
 * `keyward secrets --verify` and `--rules` as a user runs them: the built CLI on a folder holding keys
 * built from parts, asking a fake issuer on 127.0.0.1 (given with --verify-url) that accepts one key
 * and refuses another; and a project's own rules file, found in the working directory or named.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeyward } from './helpers/cli.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/fake-keys.js';
import { tempRepo } from './helpers/git-repo.js';

describe('keyward secrets --verify', () => {
  let dir: string;
  let server: Server;
  let base: string;
  const asked: string[] = [];
  const live = fakeOpenAiKey();
  const revoked = fakeAnthropicKey();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-verify-'));
    writeFileSync(join(dir, 'settings.py'), `OPENAI_API_KEY = "${live}"\nANTHROPIC_API_KEY = "${revoked}"\n`);
    server = createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      const ok = req.headers.authorization === `Bearer ${live}` || req.headers['x-api-key'] === live;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? '{"data":[]}' : '{"error":{"message":"invalid x-api-key"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((r) => server.close(() => r()));
  });

  const urls = () => ['--verify-url', `openai=${base}/v1`, '--verify-url', `anthropic=${base}`];

  it('reports each key live or rejected, as text and JSON, and never prints a key', async () => {
    asked.length = 0;
    const text = await runKeyward(['secrets', dir, '--verify', ...urls()]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/live LIVE: the provider accepts this key \(answered 200\)/);
    expect(text.stdout).toMatch(/live rejected: the provider does not accept this key \(answered 401/);
    expect(text.stdout).toContain('verified 2 distinct keys: 1 live, 1 rejected, 0 unknown.');
    expect(text.stdout + text.stderr).not.toContain(live);
    expect(text.stdout + text.stderr).not.toContain(revoked);
    expect(asked.sort()).toEqual(['GET /v1/models', 'GET /v1/models?limit=1']);

    const json = await runKeyward(['secrets', dir, '--verify', ...urls(), '-f', 'json']);
    const findings = (JSON.parse(json.stdout) as { findings: Array<{ provider: string; live?: string; liveDetail?: string }> }).findings;
    expect(findings.map((f) => [f.provider, f.live]).sort()).toEqual([
      ['Anthropic', 'rejected'],
      ['OpenAI', 'live'],
    ]);
    const sarif = await runKeyward(['secrets', dir, '--verify', ...urls(), '-f', 'sarif']);
    expect(sarif.stdout).toContain('"live": "live"');
  });

  it('with --only-live reports the live key alone, and asks nobody without --verify', async () => {
    const only = await runKeyward(['secrets', dir, '--verify', '--only-live', ...urls(), '-f', 'json']);
    expect(only.code).toBe(1);
    expect((JSON.parse(only.stdout) as { findings: Array<{ provider: string }> }).findings.map((f) => f.provider)).toEqual(['OpenAI']);
    asked.length = 0;
    const plain = await runKeyward(['secrets', dir, '-f', 'json']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).not.toContain('"live"');
    expect(asked).toEqual([]);
  });

  it('refuses a URL a key would travel to unencrypted, an unknown family, and --only-live alone, before scanning', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--verify', '--verify-url', 'openai=http://10.1.2.3/v1'], /would travel to it unencrypted/],
      [['--verify', '--verify-url', 'nobody=https://example.test'], /must name a family of keys: openai, openai-admin, anthropic/],
      [['--verify', '--verify-url', 'openai=not a url'], /is not a URL/],
      [['--only-live'], /--only-live only applies with --verify/],
    ];
    for (const [args, message] of cases) {
      const r = await runKeyward(['secrets', dir, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("keyward secrets with a project's own rules", () => {
  let dir: string;
  const token = `acme_svc_${fakeOpenAiKey().replace(/[^A-Za-z0-9]/g, '').slice(-32)}`;
  const rules = { schema: 'keyward.rules/1', rules: [{ id: 'acme-service-token', provider: 'Acme', title: 'Acme service token', severity: 'medium', keywords: ['acme_svc_'], pattern: 'acme_svc_[A-Za-z0-9]{32}' }], allowlist: { paths: ['fixtures/'] } };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-rules-'));
    // Not an assignment the generic rule would catch: only the project's rule finds it.
    writeFileSync(join(dir, 'client.ts'), `fetch(url, { headers: { 'x-acme': '${token}' } });\n`);
    mkdirSync(join(dir, 'fixtures'));
    writeFileSync(join(dir, 'fixtures', 'sample.ts'), `const sample = '${token}';\n`);
    writeFileSync(join(dir, '.keyward-rules.json'), JSON.stringify(rules));
    writeFileSync(join(dir, 'broken-rules.json'), JSON.stringify({ ...rules, rules: [{ ...rules.rules[0], severity: 'urgent' }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .keyward-rules.json from the working directory, skips the paths it lists, and ignores it with --no-rules', async () => {
    const r = await runKeyward(['secrets', '.', '-f', 'json', '--fail-on', 'medium'], { cwd: dir });
    expect(r.code).toBe(1);
    const findings = (JSON.parse(r.stdout) as { findings: Array<{ rule: string; file: string; severity: string; provider: string }> }).findings;
    expect(findings.map((f) => [f.rule, f.provider, f.severity, f.file])).toEqual([['acme-service-token', 'Acme', 'medium', 'client.ts']]);
    expect(r.stdout).not.toContain(token);
    const off = await runKeyward(['secrets', '.', '--no-rules', '-f', 'json'], { cwd: dir });
    expect((JSON.parse(off.stdout) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule)).not.toContain('acme-service-token');
  });

  it('masks the project\'s own kind of secret in keyward redact, from the working directory\'s file or --rules', async () => {
    const log = `GET /v1/items?ref=${token} 200\n`;
    const masked = await runKeyward(['redact'], { cwd: dir, input: log });
    expect(masked.code).toBe(0);
    expect(masked.stdout).not.toContain(token);
    expect(masked.stdout).toMatch(/^GET \/v1\/items\?ref=acme_svc_…\S{4} 200\n$/);
    expect((await runKeyward(['redact', '--no-rules'], { cwd: dir, input: log })).stdout).toBe(log);
    expect((await runKeyward(['redact', '--rules', join(dir, '.keyward-rules.json')], { input: log })).stdout).not.toContain(token);
    const wrong = await runKeyward(['redact', '--rules'], { input: log });
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringMatching(/takes only --rules <file> or --no-rules/)]);
  });

  it('takes a rules file named with --rules, and refuses a broken one before scanning (exit 2, the rule and the field)', async () => {
    const named = await runKeyward(['secrets', join(dir, 'client.ts'), '--rules', join(dir, '.keyward-rules.json'), '-f', 'json']);
    expect((JSON.parse(named.stdout) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule)).toEqual(['acme-service-token']);
    const broken = await runKeyward(['secrets', dir, '--rules', join(dir, 'broken-rules.json')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken-rules\.json: rule 'acme-service-token': 'severity' must be one of critical, high, medium, low, info/);
    // In history and in staged changes too.
    const repo = tempRepo();
    try {
      const first = repo.commit('add the client', { 'client.ts': `call('${token}');\n` });
      repo.commit('take it out', { 'client.ts': 'call(process.env.ACME_TOKEN);\n' });
      const history = await runKeyward(['secrets', '--git', repo.dir, '--rules', join(dir, '.keyward-rules.json'), '-f', 'json']);
      expect((JSON.parse(history.stdout) as { findings: Array<{ rule: string; commit: string }> }).findings.map((f) => [f.rule, f.commit])).toEqual([['acme-service-token', first]]);
      repo.write('later.ts', `call('${token}');\n`);
      repo.git('add', 'later.ts');
      const staged = await runKeyward(['secrets', '--staged', repo.dir, '--rules', join(dir, '.keyward-rules.json'), '-f', 'json']);
      expect((JSON.parse(staged.stdout) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule)).toEqual(['acme-service-token']);
    } finally {
      repo.remove();
    }
    const missing = await runKeyward(['secrets', dir, '--rules', join(dir, 'nope.json')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read the rules file .*nope\.json.*ENOENT/)]);
  });
});
