/*
 * dist/make-codecache.js: makes dist/cli.js.cache, the V8 code cache
 * dist/load.cjs loads the CLI with (the format is described there), and
 * dist/fast.js.cache for the bundle that runs a stored plan. Run in a
 * node of its own by tools/build.mjs and, on a user's machine, by
 * scripts/install.js (a cache fits only the node that made it, so the
 * package ships none):
 *
 *   node dist/make-codecache.js
 *
 * It compiles the bundle exactly as the loader does, runs main() once in the
 * package directory as `jail --print-policy --ro . -- /bin/true` (everything
 * up to applying a policy; nothing is applied, started or written, its output
 * goes nowhere), then keeps the code of every function
 * that ran. That caches far more than produceCachedData at compile time,
 * which holds only what V8 compiles eagerly (see the README). The output is
 * written to a temporary name and renamed, so a reader never sees half.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const load = require('./load.cjs');

/** The cache of `bundle`, made after `exercise(exports)` ran what it runs. */
function make(bundle, exercise) {
  const source = fs.readFileSync(bundle);
  const script = new vm.Script(load.HEAD + source.toString('utf8') + load.TAIL, { filename: bundle, lineOffset: -1 });
  const m = { exports: {} };
  script.runInThisContext().call(m.exports, m.exports, require('node:module').createRequire(bundle), m, bundle, path.dirname(bundle));
  const write = [process.stdout.write, process.stderr.write];
  try {
    process.chdir(path.join(__dirname, '..'));
    process.stdout.write = process.stderr.write = () => true; // the run's output goes nowhere
    exercise(m.exports);
  } catch {
    // a machine that cannot run jail (no addon, no Landlock) still caches what ran
  } finally {
    [process.stdout.write, process.stderr.write] = write;
  }
  const data = script.createCachedData();
  const header = { ...load.identity(source.length, data.length), sha256: crypto.createHash('sha256').update(source).digest('hex') };
  const tmp = `${bundle}.cache.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), source, data]));
  fs.renameSync(tmp, `${bundle}.cache`);
}

make(load.BUNDLE, (cli) => cli.main(['--print-policy', '--ro', '.', '--', '/bin/true']));
// A run from a stored plan: its code on harmless inputs (fast.ts's warm()).
make(load.FAST, (fast) => fast.warm());
