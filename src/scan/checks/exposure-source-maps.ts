/** Public source maps: with `sourcesContent`, the original source (comments and all) is public. */
import type { Finding } from '../../finding.js';
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS } from './exposure-support.js';

const FIX = [
  'Do not deploy source maps to the public site, or serve them only to your error tracker:',
  'Vite: build.sourcemap = false (or "hidden" and upload the maps to your error tracker); Next.js: productionBrowserSourceMaps: false;',
  'webpack: devtool: false or "hidden-source-map"; and stop the web server from serving *.map files.',
].join('\n');

export const exposureSourceMapsCheck: Check = {
  name: 'source-maps',
  section: 'exposure',
  run(facts): CheckOutput {
    const maps = facts.exposure?.sourceMaps ?? [];
    const findings: Finding[] = [];
    if (maps.length > 0) {
      const withSources = maps.filter((m) => m.sourcesWithContent > 0);
      const listed = maps.slice(0, 5).map((m) => `${m.inline ? 'inline map in' : 'map'} ${m.inline ? m.script : m.url}: ${m.sources} sources${m.sourcesWithContent > 0 ? `, ${m.sourcesWithContent} with full code` : ''} (${m.sampleSources.slice(0, 3).join(', ')}${m.sources > 3 ? ', …' : ''})`);
      if (maps.length > 5) listed.push(`… and ${maps.length - 5} more maps`);
      findings.push({
        id: withSources.length > 0 ? 'source-map-exposed-with-sources' : 'source-map-exposed',
        severity: withSources.length > 0 ? 'medium' : 'low',
        title: withSources.length > 0
          ? `${maps.length} public source map${maps.length > 1 ? 's' : ''} ship the original source code`
          : `${maps.length} public source map${maps.length > 1 ? 's' : ''} reveal the source file structure`,
        evidence: listed.join('\n'),
        recommendation: FIX,
        docs: `${EXPOSURE_DOCS}#source-maps`,
        section: 'exposure',
        location: { url: maps[0]!.url },
      });
    }
    const test = maps.length === 0
      ? exposureResult('source-maps-none', true)
      : exposureResult(maps.some((m) => m.sourcesWithContent > 0) ? 'source-maps-with-sources' : 'source-maps-names-only', false, { maps: maps.length });
    return { findings, tests: { 'source-maps': test } };
  },
};
