import { describe, expect, it } from 'vitest';
import { chunkRefsInScript, viteManifestRefs, webpackChunkUrls } from '../../../src/scan/exposure/chunks.js';
import { parseSourceMap } from '../../../src/scan/exposure/source-maps.js';

describe('webpack runtime chunk maps', () => {
  it('evaluates the Next.js form with a name map and a hash map', () => {
    const rt = 'd.p="/_next/";d.u=function(e){return"static/chunks/"+(({261:"reactPlayer"})[e]||e)+"."+({57:"28b2a7c7",261:"aa1b"})[e]+".js"},d.miniCssF=function(){}';
    expect(webpackChunkUrls(rt, 'https://s.test/', 'https://s.test/_next/static/chunks/webpack-1.js')).toEqual([
      'https://s.test/_next/static/chunks/reactPlayer.aa1b.js',
      'https://s.test/_next/static/chunks/57.28b2a7c7.js',
    ]);
  });

  it('evaluates the create-react-app form against its public path', () => {
    const rt = 'o.p="/shop/",o.u=function(e){return"static/js/"+e+"."+{71:"a1b2",88:"ccdd"}[e]+".chunk.js"}';
    expect(webpackChunkUrls(rt, 'https://s.test/', 'https://s.test/x.js')).toEqual(['https://s.test/shop/static/js/71.a1b2.chunk.js', 'https://s.test/shop/static/js/88.ccdd.chunk.js']);
  });

  it('evaluates the arrow form and resolves against the script when the public path is automatic', () => {
    expect(webpackChunkUrls('r.u=e=>"js/"+e+"."+{12:"abc"}[e]+".js";', 'https://s.test/p/', 'https://s.test/static/rt.js')).toEqual(['https://s.test/static/js/12.abc.js']);
  });

  it('gives nothing for code it does not understand', () => {
    expect(webpackChunkUrls('a.u=function(e){return compute(e)}', 'https://s.test/', 'https://s.test/x.js')).toEqual([]);
  });
});

describe('chunk references in scripts and manifests', () => {
  it('reads every chunk of a Next.js build manifest', () => {
    const refs = chunkRefsInScript('self.__BUILD_MANIFEST=function(s){return{"/":["static/chunks/pages/index-abc.js"],"/lazy":[s,"static/chunks/pages/lazy-1.js"]}}("static/chunks/123-x.js")', 'https://s.test/_next/static/BID/_buildManifest.js', 'https://s.test/');
    expect(refs.map((r) => [r.url, r.via])).toEqual([
      ['https://s.test/_next/static/chunks/pages/index-abc.js', 'next-build-manifest'],
      ['https://s.test/_next/static/chunks/pages/lazy-1.js', 'next-build-manifest'],
      ['https://s.test/_next/static/chunks/123-x.js', 'next-build-manifest'],
    ]);
  });

  it('reads ES module imports and Vite preload lists relative to the right base', () => {
    const refs = chunkRefsInScript('const a=()=>import("./Lazy-abc.js");import{x}from"./dep-1.js";__vite__mapDeps([0]);m.f=["assets/Other-2.js","assets/x.css"]', 'https://s.test/app/assets/index-1.js', 'https://s.test/app/');
    expect(refs.map((r) => r.url)).toEqual(['https://s.test/app/assets/Lazy-abc.js', 'https://s.test/app/assets/dep-1.js', 'https://s.test/app/assets/Other-2.js']);
  });

  it('reads a Vite build manifest and refuses a web app manifest', () => {
    const vite = JSON.stringify({ 'index.html': { file: 'assets/index-1.js', isEntry: true }, 'src/L.tsx': { file: 'assets/L-2.js' }, 'style.css': { file: 'assets/s.css' } });
    expect(viteManifestRefs(vite, 'https://s.test/.vite/manifest.json')?.map((r) => r.url)).toEqual(['https://s.test/assets/index-1.js', 'https://s.test/assets/L-2.js']);
    expect(viteManifestRefs(JSON.stringify({ name: 'Shop', icons: [] }), 'https://s.test/manifest.json')).toBeUndefined();
    expect(viteManifestRefs('<!doctype html>', 'https://s.test/manifest.json')).toBeUndefined();
  });
});

describe('source maps', () => {
  it('reads sources and sourcesContent, with sourceRoot, and index maps with sections', () => {
    const map = { version: 3, sourceRoot: 'webpack://', sources: ['a.ts', 'b.ts'], sourcesContent: ['A', null], mappings: 'AAAA' };
    expect(parseSourceMap(JSON.stringify(map))?.sources).toEqual([{ name: 'webpack://a.ts', content: 'A' }, { name: 'webpack://b.ts' }]);
    const indexed = { version: 3, sections: [{ offset: { line: 0, column: 0 }, map: { ...map, sourceRoot: '' } }] };
    expect(parseSourceMap(JSON.stringify(indexed))?.sources.map((s) => s.name)).toEqual(['a.ts', 'b.ts']);
  });

  it('refuses what is not a v3 source map', () => {
    expect(parseSourceMap('{"version":2,"sources":[],"mappings":""}')).toBeUndefined();
    expect(parseSourceMap('<html>')).toBeUndefined();
  });
});
