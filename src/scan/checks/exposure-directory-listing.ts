/** Directory listings: every file in the folder is one click away, including the ones meant to stay unlinked. */
import type { Finding } from '../../finding.js';
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS } from './exposure-support.js';

const FIX = 'Turn directory listings off: nginx `autoindex off;`, Apache `Options -Indexes`, IIS `<directoryBrowse enabled="false" />`, Express: drop serve-index.';

export const exposureDirectoryListingCheck: Check = {
  name: 'directory-listing',
  section: 'exposure',
  run(facts): CheckOutput {
    const listings = facts.exposure?.directoryListings ?? [];
    const findings: Finding[] = listings.map((l) => ({
      id: 'directory-listing',
      severity: 'medium',
      title: `Directory listing at ${l.url} (${l.server})`,
      evidence: l.evidence,
      recommendation: FIX,
      docs: `${EXPOSURE_DOCS}#directory-listing`,
      section: 'exposure',
      location: { url: l.url },
    }));
    return { findings, tests: { 'directory-listing': listings.length > 0 ? exposureResult('directory-listing-found', false, { urls: listings.map((l) => l.url) }) : exposureResult('directory-listing-none', true) } };
  },
};
