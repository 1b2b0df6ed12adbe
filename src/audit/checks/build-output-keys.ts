/**
 * Keys in build output that gets deployed (`dist/`, `build/`, `out/`, `.next/static/`, `public/`,
 * mobile bundles): shipped to every visitor or every phone, whatever `.gitignore` says, so they are
 * scanned even though git ignores them.
 */
import { posix } from 'node:path';
import { matchToFinding, scanText } from '../../secrets/index.js';
import { auditDocs, type AuditCheck, type ProjectFile } from '../types.js';

/** Folders (at any depth) whose content is served to browsers or packed into an app. */
const OUTPUT_DIRS = /(?:^|\/)(?:dist|build|out|public|\.next\/static|\.output\/public|\.svelte-kit\/output\/client|\.vercel\/output\/static|\.netlify|storybook-static|www|android\/app\/src\/main\/assets|ios\/[^/]+\/main\.jsbundle)\//;
/** React Native / Expo bundles wherever they sit. */
const MOBILE_BUNDLE = /(?:\.jsbundle|\.android\.bundle|\.ios\.bundle|\.hbc)$/;
/** What a deployed folder holds that can carry a key: code, maps, markup, data. */
const TEXT_ASSET = /\.(?:m?js|cjs|map|html?|json|txt|xml|css|svg|env|ya?ml|webmanifest|bundle|jsbundle)$/i;

export function isBuildOutput(path: string): boolean {
  if (MOBILE_BUNDLE.test(path)) return true;
  return OUTPUT_DIRS.test(path) && TEXT_ASSET.test(posix.basename(path));
}

export const buildOutputKeys: AuditCheck = {
  id: 'build-output-key',
  title: 'No keys in build output',
  wants: (f: ProjectFile) => isBuildOutput(f.path),
  inspect(file, text) {
    return scanText(text, { path: file.path }).map((m) => {
      const base = matchToFinding(m, { file: file.path });
      return {
        ...base,
        id: 'build-output-key',
        severity: 'critical' as const,
        title: `${m.provider} key in build output ${file.path}`,
        recommendation:
          `Everything in this folder is shipped to users, so the key is public once deployed: revoke it${m.revokeUrl ? ` (${m.revokeUrl})` : ''} and create a new one, ` +
          'keep it in a server-side variable without a public prefix, and call the provider from your backend or through `keyward gateway`. Rebuild and redeploy.',
        docs: auditDocs('build-output-key'),
        location: { file: file.path, line: m.line, column: m.column },
      };
    });
  },
};
