#!/usr/bin/env node
/*
 * npm install step. Uses a prebuilt addon from prebuilds/ when one fits this
 * machine; otherwise builds it from source with node-gyp. It never fails the
 * user's `npm install`: off Linux there is nothing to build (jail then refuses
 * to run, or runs unconfined with --best-effort), and when a build fails,
 * `jail` itself says how to build the addon and exits 125.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

if (process.platform !== 'linux') {
  console.warn(`jail: no native addon for ${process.platform}: jail confines commands on Linux only.`);
  process.exit(0);
}
let loads = false;
try {
  require('node-gyp-build')(root);
  loads = true; // a prebuild (or an earlier build)
} catch {
  // build below
}
if (!loads) {
  const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.warn('jail: could not build the native addon; `jail` will refuse to run until it is built.');
    console.warn('jail: install python3, make and a C/C++ compiler, then run `npm rebuild jail`.');
  }
}
// The CLI's V8 code cache, for this node (dist/load.cjs): start-up only, so
// without it (or with --ignore-scripts) jail just starts a few ms slower.
spawnSync(process.execPath, [path.join(root, 'dist', 'make-codecache.js')], { cwd: root, stdio: 'ignore' });
