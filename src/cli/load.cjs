/*
 * dist/load.cjs: loads the CLI bundle dist/cli.js with the V8 code cache that
 * tools/build.mjs made for it (dist/cli.js.cache), so the bundle's functions
 * are not compiled again on every run (Node 20 has no
 * module.enableCompileCache). Plain CommonJS, copied as is by the build.
 *
 * The cache file is one header line of JSON, then a copy of the bundle's
 * bytes, then V8's cached data:
 *
 *   {"v":1,"node":"v20.20.2","arch":"x64","v8":"…","sourceBytes":N,"dataBytes":M,"sha256":"…"}\n
 *   <the N bytes of dist/cli.js it was made from><M bytes of cached data>
 *
 * V8 checks only the source's length and its own version and flags, so the
 * rest is ours: the cache is used only when it was made by this node on
 * this arch and its copy of the bundle equals, byte for byte, the bundle
 * read here (a memcmp: exact, nothing to steer, and cheaper than loading
 * node:crypto to hash). Anything else, a missing or short file, a foreign
 * node, a different bundle, or V8 refusing the data, and the bundle is
 * loaded by a plain require(), as before. JAIL_DEBUG_CACHE=1 says which on
 * stderr.
 *
 * The cache sits beside jail's own code: host.self lists it, so no jail is
 * ever granted to write it (refuseWritableSelf).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
/** CommonJS's Module class: the public node:module would load the ES
 *  module loader and source maps with it, 0.4 ms that a run never uses. */
const Module = module.constructor;

const BUNDLE = path.join(__dirname, 'cli.js');
const CACHE = `${BUNDLE}.cache`;
/** A run from a stored plan (src/cli/fast.ts), with a cache of its own. */
const FAST = path.join(__dirname, 'fast.js');
const VERSION = 1;
/** Node's CommonJS wrapper, the header on its own line (lineOffset -1), so
 *  lines and columns in stack traces are those of dist/cli.js. */
const HEAD = '(function (exports, require, module, __filename, __dirname) {\n';
const TAIL = '\n})';

/** What this node would write in, and accept from, a cache header. */
function identity(sourceBytes, dataBytes) {
  return { v: VERSION, node: process.version, arch: process.arch, v8: process.versions.v8, sourceBytes, dataBytes };
}

/** The cached data in `cache` when it was made from exactly `source` by a
 *  node like this one; otherwise the reason it is not. */
function check(cache, source, name = 'cli.js') {
  const nl = cache.indexOf(10);
  if (nl < 0) return { why: 'no header' };
  let h;
  try {
    h = JSON.parse(cache.toString('latin1', 0, nl));
  } catch {
    return { why: 'unreadable header' };
  }
  const want = identity(source.length, h && h.dataBytes);
  for (const k of Object.keys(want)) {
    if (!h || h[k] !== want[k]) return { why: `made for ${k} ${h && h[k]}, not ${want[k]}` };
  }
  if (!Number.isSafeInteger(h.dataBytes) || h.dataBytes <= 0 || cache.length !== nl + 1 + source.length + h.dataBytes) return { why: 'wrong size' };
  if (!source.equals(cache.subarray(nl + 1, nl + 1 + source.length))) return { why: `made from a different dist/${name}` };
  return { data: cache.subarray(nl + 1 + source.length) };
}

/** A bundle's exports (dist/cli.js unless told), and whether its cache
 *  (the bundle's name and .cache) was used ('accepted') or why not. */
function loadWithCache(bundle = BUNDLE) {
  let script;
  try {
    const source = fs.readFileSync(bundle);
    const c = check(fs.readFileSync(`${bundle}.cache`), source, path.basename(bundle));
    if (!c.data) return { status: c.why };
    script = new (require('node:vm').Script)(HEAD + source.toString('utf8') + TAIL, { filename: bundle, lineOffset: -1, cachedData: c.data });
    if (script.cachedDataRejected) return { status: 'rejected by V8' };
  } catch (e) {
    return { status: e && e.code === 'ENOENT' ? `${path.basename(e.path)} missing` : `${e && e.message}` };
  }
  const m = new Module(bundle, module);
  m.filename = bundle;
  m.paths = Module._nodeModulePaths(path.dirname(bundle));
  Module._cache[bundle] = m; // a later require('…/dist/cli.js') gets this one
  try {
    script.runInThisContext().call(m.exports, m.exports, Module.createRequire(bundle), m, bundle, __dirname);
  } catch (e) {
    delete Module._cache[bundle]; // as require() does when a module throws
    throw e;
  }
  m.loaded = true;
  return { exports: m.exports, status: 'accepted' };
}

/** dist/cli.js's exports, loaded with the code cache when it fits. */
function load() {
  const r = loadWithCache();
  load.status = r.status;
  if (process.env.JAIL_DEBUG_CACHE === '1') process.stderr.write(`jail: code cache ${r.status === 'accepted' ? 'accepted' : `not used: ${r.status}`}\n`);
  return r.exports || require(BUNDLE);
}
/**
 * bin/jail.cjs: `jail ARGS`, from a plan the CLI stored when one holds
 * (dist/fast.js, a small bundle: src/cli/fast.ts), else by the CLI. A
 * stored plan's run that fails after its command started is not run again.
 */
function jail(argv) {
  let fast = null;
  try {
    fast = loadWithCache(FAST).exports || require(FAST);
  } catch (e) {
    if (process.env.JAIL_DEBUG_STORE === '1') process.stderr.write(`jail: plan store: not loaded: ${e && e.message}\n`);
  }
  if (fast) {
    let status;
    try {
      status = fast.runStored(argv);
    } catch (e) {
      process.stderr.write(`jail: internal error after the command started: ${e && e.message}\n`);
      return 125;
    }
    if (status !== null) return status;
  }
  return load().main(argv);
}
/** 'accepted', or why the cache was not used; set by load(). */
load.status = undefined;
load.jail = jail;
load.FAST = FAST;
load.loadWithCache = loadWithCache;
load.identity = identity;
load.HEAD = HEAD;
load.TAIL = TAIL;
load.BUNDLE = BUNDLE;
load.CACHE = CACHE;
module.exports = load;
