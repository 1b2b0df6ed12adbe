export { createFetchContext, type FetchContext, type FetchContextOptions } from './context.js';
export { createBoundedFetch, DEFAULT_LIMITS, parseHttpUrl, type BoundedFetchConfig, type FetchClient } from './bounded-fetch.js';
export { classifyAddress, parseAddress, type AddressVerdict } from './address.js';
export { createLookup, parseResolveRule, type DnsResolver, type Lookup, type ResolveRule } from './resolve.js';
