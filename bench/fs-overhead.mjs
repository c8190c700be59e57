#!/usr/bin/env node
/**
 * The file-system bars: under the jail, stat-heavy work runs at most 1.03×
 * its unjailed time; open-heavy work at most 1.15×, and within 3% of a
 * Landlock-only run with the same path rules.
 *
 *   node bench/fs-overhead.mjs [--quick] [--check] [--stat-dir DIR]
 *
 * Jobs (no Node inside the measured part):
 *   stat  `ls -lRa DIR` (default /usr/lib): an lstat and xattr probe per entry.
 *         Not /usr/share: it holds polkit-1/rules.d (mode 0700), which root
 *         lists directly but not in the jail, which drops capabilities.
 *   open  `read-tree TREE PASSES` (bench/read-tree.c): openat/read/close on
 *         every file of a 20,000-file, 8-level tree made in a temp dir;
 *         PASSES is calibrated so that a direct run takes about 0.6 s
 *
 * Variants of each job:
 *   direct    the job itself
 *   jail      node bin/jail.cjs --ro TMP -- job (the default system base + TMP)
 *   landlock  bench/landlock-only.c applying the path rules that
 *             `jail --print-policy --json` reports for the same flags: Landlock
 *             only, no seccomp, no Node
 * and, to measure start-up, each variant running /bin/true instead of the job.
 *
 * Every round runs all six once in a fresh random order. The jail's Node
 * start-up (tens of ms) would swamp the job's own slowdown, so besides the
 * raw ratio jail/direct the bench reports the start-up-corrected ratio
 * (jail − (jail true − true)) / direct, and likewise for landlock. The bars
 * are judged on the corrected ratios, as medians of per-round ratios.
 *
 * --quick: 5 rounds instead of 15 (CI smoke). --check: exit 1 when a bar
 * fails (otherwise the exit status is 0 either way).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, shuffle } from './stats.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    'stat-dir': { type: 'string', default: '/usr/lib' },
  },
});
const ROUNDS = opt.quick ? 5 : 15;
const WARMUP = opt.quick ? 2 : 3;
const TREE_FILES = 20_000;
const TREE_DEPTH = 8;
const TREE_FANOUT = 3; // 3^8 = 6,561 leaf directories, about 3 files each
const OPEN_TARGET_S = 0.6;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bench = path.join(root, 'bench');
const node = process.execPath;
const jail = path.join(root, 'bin', 'jail.cjs');

const r3 = (x) => Math.round(x * 1000) / 1000;


/** Wall time of one run in ms, output discarded. */
function time(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`\`${argv.join(' ')}\` failed (status ${r.status}, signal ${r.signal})`);
  return ms;
}

/** Runs once and returns a digest of stdout; throws with stderr on failure. */
function outputDigest(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`\`${argv.join(' ')}\` failed (status ${r.status}):\n${r.stderr}`);
  return createHash('sha256').update(r.stdout).digest('hex');
}

function compile(name) {
  const out = path.join(tmp, name);
  execFileSync('cc', ['-O2', '-o', out, path.join(bench, `${name}.c`)], { stdio: 'inherit' });
  return out;
}

/** TREE_FILES small files spread over the leaves of a TREE_DEPTH-level tree. */
function makeTree(dir) {
  let leaves = [dir];
  for (let level = 0; level < TREE_DEPTH; level++) {
    leaves = leaves.flatMap((d) => Array.from({ length: TREE_FANOUT }, (_, i) => path.join(d, `d${i}`)));
  }
  for (const d of leaves) fs.mkdirSync(d, { recursive: true });
  const body = Buffer.alloc(200, 'x');
  for (let i = 0; i < TREE_FILES; i++) fs.writeFileSync(path.join(leaves[i % leaves.length], `f${i}`), body);
}

// Landlock right names (as --print-policy --json spells them) → bits, from
// the project's own table so the two cannot disagree.
const { fsRightNames } = createRequire(import.meta.url)(path.join(root, 'dist', 'landlock', 'abi.js'));
const RIGHT_BITS = new Map(Array.from({ length: 64 }, (_, i) => [fsRightNames(1n << BigInt(i))[0], 1n << BigInt(i)]));

/** landlock-only argv prefix with the path rules the jail would apply for jailFlags + job. */
function landlockArgs(launcher, jailFlags, job) {
  const json = execFileSync(node, [jail, '--print-policy', '--json', ...jailFlags, '--', ...job], { encoding: 'utf8' });
  const { landlock } = JSON.parse(json);
  if (!landlock) throw new Error('jail --print-policy reports no Landlock ruleset: nothing to compare with');
  const handled = landlock.handledFs.reduce((m, name) => m | RIGHT_BITS.get(name), 0n);
  // The private TMPDIR is a placeholder in a printed policy (it is made per
  // run); the Landlock-only launcher gets the same rules without it.
  const rules = landlock.paths.filter((p) => fs.existsSync(p.path));
  return [launcher, '0x' + handled.toString(16), ...rules.map((p) => `${p.path}:${p.access}`), '--'];
}

/**
 * Paired rounds of the three variants of one job plus their /bin/true
 * start-up controls. Checks first that every variant prints the same output,
 * so a denial shows as an error rather than as a fast run.
 */
function measure(name, job, jailFlags, launcher) {
  const ll = landlockArgs(launcher, jailFlags, job);
  const jailed = [node, jail, ...jailFlags, '--'];
  const runs = {
    direct: job,
    jail: [...jailed, ...job],
    landlock: [...ll, ...job],
    directTrue: ['/bin/true'],
    jailTrue: [...jailed, '/bin/true'],
    landlockTrue: [...ll, '/bin/true'],
  };
  const want = outputDigest(runs.direct);
  for (const v of ['jail', 'landlock']) {
    if (outputDigest(runs[v]) !== want) throw new Error(`${name}: the ${v} run prints something else than the direct run (a denial?)`);
  }

  const t = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const k of shuffle(Object.keys(runs))) {
      const ms = time(runs[k]);
      if (round >= WARMUP) t[k].push(ms);
    }
  }
  const per = (f) => median(t.direct.map((_, i) => f(i)));
  const jailCorrected = (i) => t.jail[i] - (t.jailTrue[i] - t.directTrue[i]);
  const landlockCorrected = (i) => t.landlock[i] - (t.landlockTrue[i] - t.directTrue[i]);
  return {
    job: job.join(' ').replaceAll(tmp, '$TMP'),
    medianMs: Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, Math.round(median(xs) * 10) / 10])),
    jailStartupMs: Math.round(per((i) => t.jailTrue[i] - t.directTrue[i]) * 10) / 10,
    ratio: {
      jailRaw: r3(per((i) => t.jail[i] / t.direct[i])),
      jailCorrected: r3(per((i) => jailCorrected(i) / t.direct[i])),
      landlockCorrected: r3(per((i) => landlockCorrected(i) / t.direct[i])),
      jailVsLandlock: r3(per((i) => jailCorrected(i) / landlockCorrected(i))),
    },
  };
}

function report(name, r, bars) {
  console.log(`\n${name}: ${r.job}`);
  console.log(`  median wall ms   direct ${r.medianMs.direct}   jail ${r.medianMs.jail}   landlock-only ${r.medianMs.landlock}`);
  console.log(`  /bin/true ms     direct ${r.medianMs.directTrue}   jail ${r.medianMs.jailTrue}   landlock-only ${r.medianMs.landlockTrue}   (jail start-up ≈ ${r.jailStartupMs} ms)`);
  console.log('  per-round medians:');
  console.log(`    jail / direct, raw (incl. start-up)        ${r.ratio.jailRaw.toFixed(3)}`);
  console.log(`    jail / direct, start-up corrected          ${r.ratio.jailCorrected.toFixed(3)}`);
  console.log(`    landlock-only / direct, start-up corrected ${r.ratio.landlockCorrected.toFixed(3)}`);
  console.log(`    jail / landlock-only, both corrected       ${r.ratio.jailVsLandlock.toFixed(3)}`);
  r.bars = bars.map(([what, key, max]) => ({ what, value: r.ratio[key], max, pass: r.ratio[key] <= max }));
  for (const b of r.bars) console.log(`  bar: ${b.what} ≤ ${b.max}: ${b.value.toFixed(3)} ${b.pass ? 'PASS' : 'FAIL'}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-bench-'));
const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
// With a listener, Node survives Ctrl-C while the child (same process group)
// dies of it; time() then throws and the finally at the end removes tmp.
process.on('SIGINT', () => {});

try {
  const readTree = compile('read-tree');
  const launcher = compile('landlock-only');
  const tree = path.join(tmp, 'tree');
  makeTree(tree);
  const jailFlags = ['--ro', tmp];

  // Calibrate: fastest of a few warm single passes sets the pass count.
  const onePass = Math.min(...Array.from({ length: 3 }, () => time([readTree, tree, '1'])));
  const passes = Math.max(1, Math.round((OPEN_TARGET_S * 1000) / onePass));

  console.log(`fs-overhead: ${ROUNDS} rounds after ${WARMUP} warm-up rounds, order shuffled per round; temp dir ${tmp}`);
  const stat = measure('stat', ['ls', '-lRa', opt['stat-dir']], jailFlags, launcher);
  report('stat-heavy', stat, [['jail / direct (corrected)', 'jailCorrected', 1.03]]);
  const open = measure('open', [readTree, tree, String(passes)], jailFlags, launcher);
  report('open-heavy', open, [
    ['jail / direct (corrected)', 'jailCorrected', 1.15],
    ['jail / landlock-only (corrected)', 'jailVsLandlock', 1.03],
  ]);

  const pass = [...stat.bars, ...open.bars].every((b) => b.pass);
  console.log(`\nall bars: ${pass ? 'PASS' : 'FAIL'}`);
  console.log(JSON.stringify({ bench: 'fs-overhead', rounds: ROUNDS, treeFiles: TREE_FILES, openPasses: passes, stat, open, pass }));
  if (opt.check && !pass) process.exitCode = 1;
} catch (e) {
  console.error(`fs-overhead.mjs: ${e.message}`);
  process.exitCode = 2;
} finally {
  cleanup();
}
