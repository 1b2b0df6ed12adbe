/**
 * Where a source file runs, told by framework conventions: `"use client"`, component folders,
 * Next.js `pages/` outside `pages/api`, a Vite or Create React App project's `src/`, a mobile app's
 * code; and the server-side counterparts (`"use server"`, API routes, `+page.server.ts`, `*.server.ts`).
 */
import { posix } from 'node:path';
import type { ProjectFile } from './types.js';

export type RunsWhere = { where: 'client' | 'server' | 'unknown'; why: string };

const SERVER_PATH = [
  [/(?:^|\/)(?:src\/)?pages\/api\//, 'a Next.js API route'],
  [/(?:^|\/)(?:src\/)?app\/(?:.*\/)?route\.[cm]?[jt]sx?$/, 'a Next.js route handler'],
  [/(?:^|\/)(?:src\/)?app\/api\//, 'an API route'],
  [/\+(?:page|layout)\.server\.[jt]s$|\+server\.[jt]s$|hooks\.server\.[jt]s$/, 'a SvelteKit server module'],
  [/\.server\.[cm]?[jt]sx?$/, 'a server module (*.server.*)'],
  [/(?:^|\/)(?:server|api|functions|netlify\/functions|supabase\/functions|backend|lambda|workers?)\//, 'a server folder'],
  [/(?:^|\/)(?:scripts|test|tests|__tests__|e2e|bench)\//, 'a script or test folder'],
  [/(?:^|\/)middleware\.[jt]s$|\.config\.[cm]?[jt]s$|\.(?:test|spec)\.[cm]?[jt]sx?$/, 'build or test code'],
] as const;

const CLIENT_PATH = [
  [/(?:^|\/)(?:src\/)?components\//, 'a components folder'],
  [/(?:^|\/)(?:src\/)?pages\//, 'a Next.js page (pages/ runs in the browser too)'],
  [/(?:^|\/)(?:src\/)?(?:hooks|composables|client|frontend|browser|static)\//, 'a client-side folder'],
  [/\.(?:vue|svelte)$/, 'a component file'],
  [/\.html?$/, 'an HTML page'],
  [/(?:^|\/)public\/.*\.m?js$/, 'a script served from public/'],
] as const;

/** Marker files that say a folder is an app whose `src/` (or `app/`) runs in the browser or on a phone. */
const SPA_MARKERS = /^(?:vite\.config\.[cm]?[jt]s|index\.html|public\/index\.html|app\.json|metro\.config\.js|quasar\.config\.[jt]s|angular\.json)$/;
const NEXT_MARKER = /^next\.config\.[cm]?[jt]s$/;

/** Per-project facts computed once from the file list. */
export class Conventions {
  /** Folders ('' is the root) that hold a client-side app whose src/ runs in the browser or on a phone. */
  private readonly spaRoots = new Set<string>();
  private readonly nextRoots = new Set<string>();
  private readonly packageRoots = new Set<string>();

  constructor(files: readonly ProjectFile[]) {
    for (const f of files) {
      const dir = posix.dirname(f.path);
      const base = posix.basename(f.path);
      const d = dir === '.' ? '' : dir;
      if (base === 'package.json') this.packageRoots.add(d);
      if (NEXT_MARKER.test(base)) this.nextRoots.add(d);
      if (SPA_MARKERS.test(base)) this.spaRoots.add(d);
      if (f.path.endsWith('public/index.html')) this.spaRoots.add(posix.dirname(posix.dirname(f.path)).replace(/^\.$/, ''));
      if (/(?:^|\/)(?:android|ios)\/$/.test(d + '/')) this.spaRoots.add(posix.dirname(d).replace(/^\.$/, ''));
    }
    // A Next.js app's index.html-free layout is not a SPA even when it has a public/ folder.
    for (const d of this.nextRoots) this.spaRoots.delete(d);
  }

  private appRoot(path: string): string {
    let dir = posix.dirname(path);
    while (dir !== '.' && dir !== '/') {
      if (this.packageRoots.has(dir) || this.spaRoots.has(dir) || this.nextRoots.has(dir)) return dir;
      dir = posix.dirname(dir);
    }
    return '';
  }

  classify(file: ProjectFile, text: string): RunsWhere {
    const directive = /^(?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*(['"])use (client|server)\1/.exec(text);
    if (directive) return directive[2] === 'client' ? { where: 'client', why: 'its "use client" directive' } : { where: 'server', why: 'its "use server" directive' };
    for (const [re, why] of SERVER_PATH) if (re.test(file.path)) return { where: 'server', why };
    for (const [re, why] of CLIENT_PATH) if (re.test(file.path)) return { where: 'client', why };
    const root = this.appRoot(file.path);
    const inApp = root === '' ? file.path : file.path.slice(root.length + 1);
    if (this.spaRoots.has(root) && /^(?:src|app)\//.test(inApp)) return { where: 'client', why: `the client-side app in ${root || 'the project root'} (its src/ is bundled for the browser or the phone)` };
    return { where: 'unknown', why: '' };
  }
}
