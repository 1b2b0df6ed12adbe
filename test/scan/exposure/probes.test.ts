/** Each probe's content proof, on the real file format and on the look-alikes a site may answer with. */
import { describe, expect, it } from 'vitest';
import { PROBES } from '../../../src/scan/exposure/probes.js';

const probe = (id: string) => {
  const p = PROBES.find((x) => x.id === id);
  if (!p) throw new Error(`no probe ${id}`);
  return (body: string) => p.confirm(body, '');
};
const spaIndex = '<!doctype html><html><head><title>App</title></head><body><div id="root"></div></body></html>';

describe('probe content proofs', () => {
  it('has more than 40 probes with unique ids and paths', () => {
    expect(PROBES.length).toBeGreaterThan(40);
    expect(new Set(PROBES.map((p) => p.id)).size).toBe(PROBES.length);
    expect(new Set(PROBES.map((p) => p.path)).size).toBe(PROBES.length);
  });

  it('refuses an HTML index page for every probe', () => {
    for (const p of PROBES) expect(p.confirm(spaIndex, 'text/html'), p.id).toBeUndefined();
  });

  it('confirms a dotenv file and masks its values', () => {
    expect(probe('env')('# comment\nexport NODE_ENV=production\nDB_PASSWORD=hunter22\n')).toBe('export NODE_ENV=…');
    expect(probe('env')('just some text\nwith no assignments\n')).toBeUndefined();
  });

  it('confirms .git/HEAD by a ref or a detached commit id', () => {
    expect(probe('git-head')('ref: refs/heads/main\n')).toBe('ref: refs/heads/main');
    expect(probe('git-head')(`${'a1'.repeat(20)}\n`)).toBe('a1'.repeat(20));
    expect(probe('git-head')('ref: see the docs\n')).toBeUndefined();
  });

  it('confirms .svn/entries by its format number, not by any number', () => {
    expect(probe('svn-entries')('12\n')).toBe('format 12');
    expect(probe('svn-entries')('10\n\ndir\n0\nhttps://svn.example.invalid/trunk\n')).toBe('format 10');
    expect(probe('svn-entries')('404\n')).toBeUndefined();
    expect(probe('svn-entries')('1\nsome other text\n')).toBeUndefined();
  });

  it('confirms binary formats by their magic bytes', () => {
    expect(probe('ds-store')('\u0000\u0000\u0000\u0001Bud1\u0000\u0000')).toBeDefined();
    expect(probe('git-index')('DIRC\u0000\u0000\u0000\u0002')).toBeDefined();
    expect(probe('backup-zip')('PK\u0003\u0004\u0014\u0000')).toBeDefined();
    expect(probe('backup-zip')('PKZIP is a format')).toBeUndefined();
  });

  it('confirms config.json only when it has credential fields', () => {
    expect(probe('config-json')('{"apiUrl":"/api","theme":"dark"}')).toBeUndefined();
    expect(probe('config-json')('{"db":{"password":"hunter22"}}')).toBe('"password": "…"');
  });

  it('confirms server pages by their own titles', () => {
    expect(probe('server-status')('<html><body><h1>Apache Server Status for shop.example.invalid (via 10.0.0.1)</h1></body></html>')).toContain('Apache Server Status for');
    expect(probe('phpinfo')('<html><head><title>PHP 8.3.1 - phpinfo()</title></head></html>')).toBeDefined();
    expect(probe('actuator-env')('{"activeProfiles":["prod"],"propertySources":[]}')).toBeDefined();
    expect(probe('werkzeug-console')('<html><head><title>Console // Werkzeug Debugger</title></head><body><h1>Interactive Console</h1></body></html>')).toBeDefined();
  });

  it('confirms CI configs and Dockerfiles by their own keys', () => {
    expect(probe('gitlab-ci')('stages:\n  - build\nbuild:\n  script: npm ci\n')).toBe('stages:');
    expect(probe('circleci-config')('version: 2.1\njobs:\n  build: {}\n')).toBeDefined();
    expect(probe('dockerfile')('FROM node:20-slim\nENV NODE_ENV=production\n')).toBe('FROM node:20-slim');
    expect(probe('dockerfile')('Welcome to our site\n')).toBeUndefined();
  });
});
