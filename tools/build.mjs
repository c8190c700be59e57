#!/usr/bin/env node
/**
 * The one build of jail's JavaScript, used by `npm run build:js`, `prepare`,
 * `pretest` and the test harness (test/global-setup.ts):
 *
 *   tsc -p tsconfig.build.json          dist/**.js and .d.ts (the library)
 *   esbuild src/cli/main.ts → dist/cli.js   the CLI, one bundle (start-up)
 *   src/cli/load.cjs → dist/load.cjs    what bin/ loads it with, and
 *   dist/cli.js.cache                   its V8 code cache (src/cli/make-codecache.cjs)
 *
 *   node tools/build.mjs              build
 *   node tools/build.mjs --if-stale   build only when src/ (or this file, the
 *                                     tsconfigs, package.json) is newer than dist/
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The CLI bundle. commander is bundled; the addon loader stays outside, and
 *  child_process loads on first use (start-up, see README). */
const CLI_BUNDLE = {
  entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')],
  outfile: path.join(ROOT, 'dist', 'cli.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['node-gyp-build'],
  alias: { 'node:child_process': path.join(ROOT, 'src', 'cli', 'lazy-child-process.ts') },
  plugins: [
    {
      // jsonc-parser is needed only when a config file exists: a bundle of
      // its own beside cli.js, loaded on first use, keeps 22 kB out of every
      // start. (It ships inside jail's dist/, never from a node_modules the
      // command might write.)
      name: 'vendor',
      setup(b) {
        b.onResolve({ filter: /^jsonc-parser$/ }, () => ({ path: './vendor/jsonc-parser.js', external: true }));
        b.onResolve({ filter: /^tldts$/ }, () => ({ path: './vendor/tldts.js', external: true }));
        // The egress proxy (dns-packet and all) loads only for --allow-host.
        b.onResolve({ filter: /\/egress\/session\.js$/ }, () => ({ path: './egress.js', external: true }));
        // jail's SSH agent loads only for --ssh-agent confirm.
        b.onResolve({ filter: /\/sshagent\/session\.js$/ }, () => ({ path: './sshagent.js', external: true }));
      },
    },
  ],
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

/** A run from a stored plan (src/cli/fast.ts), a bundle of its own beside
 *  cli.js: dist/load.cjs tries it first, and it must load fast. */
const FAST_BUNDLE = {
  ...CLI_BUNDLE,
  entryPoints: [path.join(ROOT, 'src', 'cli', 'fast.ts')],
  outfile: path.join(ROOT, 'dist', 'fast.js'),
  format: 'cjs',
  // No name kept per function (about a hundred defineProperty calls at
  // load, 0.15 ms): nothing in a stored run prints a function's name.
  keepNames: false,
  plugins: [
    {
      // What runs after a run with guards to check (a writable tree in the
      // fallback): tsc's dist/protect/, loaded then, not with every start.
      name: 'protect',
      setup(b) {
        b.onResolve({ filter: /\/protect\/index\.js$/ }, () => ({ path: './protect/index.js', external: true }));
      },
    },
  ],
};

/** The egress proxy, a bundle of its own beside cli.js: only a run with
 *  --allow-host loads it. */
const EGRESS_BUNDLE = {
  ...CLI_BUNDLE,
  entryPoints: [path.join(ROOT, 'src', 'egress', 'session.ts')],
  outfile: path.join(ROOT, 'dist', 'egress.js'),
  format: 'cjs',
  plugins: [
    {
      name: 'vendor',
      setup(b) {
        b.onResolve({ filter: /^tldts$/ }, () => ({ path: './vendor/tldts.js', external: true }));
        // Certificates for --secret only (reflect-metadata comes with it).
        b.onResolve({ filter: /^(@peculiar\/x509|reflect-metadata)$/ }, () => ({ path: './vendor/x509.js', external: true }));
      },
    },
  ],
};

/** A third-party module as one minified CommonJS file in dist/vendor/,
 *  loaded by the bundles above only when a run needs it. */
const vendor = (name, from) => ({
  ...from,
  outfile: path.join(ROOT, 'dist', 'vendor', `${name}.js`),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
});

/** @peculiar/x509 and the reflect-metadata it needs loaded first: the
 *  run's CA and leaf certificates, for --secret only. */
const VENDOR_X509 = vendor('x509', {
  stdin: { contents: "require('reflect-metadata');\nmodule.exports = require('@peculiar/x509');\n", resolveDir: ROOT, loader: 'js' },
});

/** jail's confirming SSH agent, a bundle of its own beside cli.js: only a
 *  run with --ssh-agent confirm loads it. */
const SSHAGENT_BUNDLE = {
  ...CLI_BUNDLE,
  entryPoints: [path.join(ROOT, 'src', 'sshagent', 'session.ts')],
  outfile: path.join(ROOT, 'dist', 'sshagent.js'),
  format: 'cjs',
  plugins: [],
};

/** tldts (the public-suffix list, ~100 kB), for a wildcard --allow-host only. */
const VENDOR_TLDTS = vendor('tldts', { entryPoints: [require.resolve('tldts')] });

/** jsonc-parser (its main is a UMD build whose requires esbuild cannot
 *  follow; its ESM build bundles cleanly). */
const VENDOR_JSONC = vendor('jsonc-parser', { entryPoints: [require.resolve('jsonc-parser/lib/esm/main.js')] });

/** What dist/ is built from. */
const INPUTS = ['src', 'tools/build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
/** What the build writes that others load: the CLI and the library entry. */
const OUTPUTS = ['dist/cli.js', 'dist/fast.js', 'dist/egress.js', 'dist/sshagent.js', 'dist/load.cjs', 'dist/make-codecache.js', 'dist/vendor/jsonc-parser.js', 'dist/vendor/tldts.js', 'dist/vendor/x509.js', 'dist/index.js', 'dist/index.d.ts'];

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs; // a file removed from src/ changes its directory
  for (const e of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, e)));
  return t;
}

/** Why dist/ is out of date, or null when it is current. */
export function staleReason() {
  let oldest = Infinity;
  for (const o of OUTPUTS) {
    const p = path.join(ROOT, o);
    if (!fs.existsSync(p)) return `${o} is missing`;
    oldest = Math.min(oldest, fs.statSync(p).mtimeMs);
  }
  for (const i of INPUTS) {
    if (newest(path.join(ROOT, i)) > oldest) return `${i} changed since the last build`;
  }
  return null;
}

/**
 * The code cache for dist/cli.js, made by the node that builds (it fits no
 * other: dist/load.cjs checks the node, the arch and the bundle's bytes and
 * otherwise loads the bundle without it). Best effort: a build without it
 * only starts slower, so a failure is reported and the stale file removed.
 */
export function makeCodeCache() {
  const cache = path.join(ROOT, 'dist', 'cli.js.cache');
  fs.rmSync(cache, { force: true });
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'make-codecache.js')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) console.error(`build: no code cache for dist/cli.js (${r.signal ?? `exit ${r.status}`}); jail starts without it.\n${r.stderr}`);
}

/** tsc, then esbuild, then the loader and the code cache. Throws when tsc or
 *  esbuild fails (their messages are on stderr). */
export async function build() {
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (${tsc.signal ?? `exit ${tsc.status}`})`);
  const esbuild = await import('esbuild');
  await esbuild.build(CLI_BUNDLE);
  await esbuild.build(FAST_BUNDLE);
  await esbuild.build(VENDOR_JSONC);
  await esbuild.build(EGRESS_BUNDLE);
  await esbuild.build(SSHAGENT_BUNDLE);
  await esbuild.build(VENDOR_TLDTS);
  await esbuild.build(VENDOR_X509);
  fs.copyFileSync(path.join(ROOT, 'src', 'cli', 'load.cjs'), path.join(ROOT, 'dist', 'load.cjs'));
  fs.copyFileSync(path.join(ROOT, 'src', 'cli', 'make-codecache.cjs'), path.join(ROOT, 'dist', 'make-codecache.js'));
  makeCodeCache();
}

/** Build when stale; returns what was done, for the caller to report. */
export async function buildIfStale() {
  const why = staleReason();
  if (why) await build();
  return why;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--if-stale')) {
      const why = await buildIfStale();
      if (why) console.error(`build: ${why}; rebuilt dist/`);
    } else {
      await build();
    }
  } catch (e) {
    console.error(`build: ${e.message}`);
    process.exit(1);
  }
}
