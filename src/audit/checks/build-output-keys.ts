/**
 * Keys in build output that gets deployed (`dist/`, `build/`, `out/`, `.next/static/`, `public/`,
 * mobile bundles and app packages): shipped to every visitor or every phone, whatever `.gitignore`
 * says, so they are scanned even though git ignores them.
 */
import { posix } from 'node:path';
import { gatewayTokenAdvice, isGatewayToken } from '../../detect/gateway-token.js';
import type { Finding } from '../../finding.js';
import { matchToFinding, scanText, type SecretMatch } from '../../secrets/index.js';
import { scanPaths, toSecretFinding } from '../../secrets/sources/index.js';
import { auditDocs, type AuditCheck, type AuditContext, type ProjectFile } from '../types.js';

/** Folders (at any depth) whose content is served to browsers or packed into an app. */
const OUTPUT_DIRS = /(?:^|\/)(?:dist|build|out|public|\.next\/static|\.output\/public|\.svelte-kit\/output\/client|\.vercel\/output\/static|\.netlify|storybook-static|www|android\/app\/src\/main\/assets|ios\/[^/]+\/main\.jsbundle)\//;
/** React Native / Expo bundles wherever they sit. */
const MOBILE_BUNDLE = /(?:\.jsbundle|\.android\.bundle|\.ios\.bundle|\.hbc)$/;
/** What a deployed folder holds that can carry a key: code, maps, markup, data. */
const TEXT_ASSET = /\.(?:m?js|cjs|map|html?|json|txt|xml|css|svg|env|ya?ml|webmanifest|bundle|jsbundle)$/i;

/** Packaged apps: opened with the secrets sources (zip within limits, dex and Mach-O strings). */
const APP_PACKAGE = /\.(?:apk|aab|ipa|xapk|appx|msix)$/i;

function recommendation(m: Pick<SecretMatch, 'revokeUrl'>): string {
  return (
    `Everything in this folder is shipped to users, so the key is public once deployed: revoke it${m.revokeUrl ? ` (${m.revokeUrl})` : ''} and create a new one, ` +
    'keep it in a server-side variable without a public prefix, and call the provider from your backend or through `keyward gateway`. Rebuild and redeploy.'
  );
}

/** Keys inside app packages (an .apk's classes.dex, an .ipa's binary and JS bundle). */
async function inAppPackages(ctx: AuditContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const file of ctx.files.filter((f) => APP_PACKAGE.test(f.path))) {
    try {
      const onSkip = (name: string, reason: string, detail?: string) => {
        if (reason === 'binary') return;
        const why = detail ?? reason;
        // The package itself (damaged, a zip bomb) or one entry inside it.
        if (name === file.abs) ctx.warn(`${file.path}: not scanned (${why})`);
        else ctx.warn(`${name.replace(file.abs, file.path)}: skipped inside the app package (${why})`);
      };
      for await (const m of scanPaths([file.abs], { onSkip, engine: ctx.engine })) {
        const base = toSecretFinding(m);
        const where = m.file.replace(file.abs, file.path);
        if (isGatewayToken(m.match)) {
          const { secret: _secret, ...rest } = base;
          findings.push({ ...rest, id: 'build-output-key', severity: 'medium', title: `keyward gateway token in app package ${where}: make sure it may call only the app route`, recommendation: gatewayTokenAdvice(m.match.revokeHow), docs: auditDocs('build-output-key'), location: { ...base.location, file: where } });
          continue;
        }
        findings.push({
          ...base,
          id: 'build-output-key',
          severity: 'critical',
          title: `${m.match.provider} key in app package ${where}`,
          recommendation: recommendation(m.match),
          docs: auditDocs('build-output-key'),
          location: { ...base.location, file: where },
        });
      }
    } catch (e) {
      // A zip bomb or a damaged package: say so and go on with the rest of the audit.
      ctx.warn(`${file.path}: not scanned (${(e as Error).message})`);
    }
  }
  return findings;
}

export function isBuildOutput(path: string): boolean {
  if (MOBILE_BUNDLE.test(path)) return true;
  return OUTPUT_DIRS.test(path) && TEXT_ASSET.test(posix.basename(path));
}

export const buildOutputKeys: AuditCheck = {
  id: 'build-output-key',
  title: 'No keys in build output',
  wants: (f: ProjectFile) => isBuildOutput(f.path),
  project: inAppPackages,
  inspect(file, text, ctx) {
    return scanText(text, { path: file.path, engine: ctx.engine }).map((m) => {
      const base = matchToFinding(m, { file: file.path });
      if (isGatewayToken(m)) {
        const { secret: _secret, ...rest } = base;
        return { ...rest, id: 'build-output-key', severity: 'medium' as const, title: `keyward gateway token in build output ${file.path}: make sure it may call only the app route`, recommendation: gatewayTokenAdvice(m.revokeHow), docs: auditDocs('build-output-key'), location: { file: file.path, line: m.line, column: m.column } };
      }
      return {
        ...base,
        id: 'build-output-key',
        severity: 'critical' as const,
        title: `${m.provider} key in build output ${file.path}`,
        recommendation: recommendation(m),
        docs: auditDocs('build-output-key'),
        location: { file: file.path, line: m.line, column: m.column },
      };
    });
  },
};
