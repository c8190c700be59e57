/**
 * `jail FLAGS -- COMMAND …` from a stored plan (src/planstore.ts), without
 * loading the rest of the CLI: its own bundle (dist/fast.js), which
 * dist/load.cjs tries first. It takes the stored plan only when everything
 * agrees (the key, the kernel facts, every answer of the host), and then
 * does what a run of the CLI does with it: the private TMPDIR, the
 * guarded set, the supervised command, the cleanup, the hints, the status.
 *
 * null means "not from a stored plan": nothing ran and nothing is left
 * over, and the CLI prepares the run as always (and says what is wrong, if
 * anything is). Once the command has started, there is no going back.
 */
import fs = require('node:fs');
import path = require('node:path');
import { PolicyError } from '../errors.js';
import { askEarly, checkKeptFds, hostAnswers, realHost, scanEtcEarly, scanTreeEarly, stampDir, tempName, verifyEarly } from '../host.js';
import { afterRunHints, type HintInput } from '../hints.js';
import { addViewRules, finishNative, openView, probe, reraise, startNative, supervise, unlockDir, type ExecTarget } from '../native/apply.js';
import type { NativePlan } from '../native/binding.js';
import { bundleId, decodeRun, DIST, encodeRun, entryName, readEntry, storeDir, storeKey } from '../planstore.js';
import type { Guard } from '../policy/model.js';
import type * as Protect from '../protect/index.js';
import { cleanup, loadProtect, materialize, restoreGuarded, statusOf, sweepBeside, writeStderr } from '../runsteps.js';
import { printable, printableLines } from '../text.js';
import { batchPaths, freshNames, packCalls, replayStored, scanCheck, storedCalls, storedScans, tracing, type PackedCalls } from '../trace.js';

/** What a stored plan holds to run (main.ts writes it). */
export interface StoredRun {
  /** The addon's plan, the command's arguments after its name left out. */
  native: NativePlan;
  layer: 'namespaces' | 'landlock';
  fallback: string | null;
  tmpDir: string | null;
  files: Array<{ name: string; text: string }>;
  afterRun: Guard[];
  /** What the run said on stderr before the command started (warnings). */
  said: string;
  hints: HintInput;
}

/** JAIL_PLAN_STORE=off: no plan is stored or taken from the store. */
export function storeOff(env: NodeJS.ProcessEnv): boolean {
  const v = env.JAIL_PLAN_STORE;
  if (v !== undefined && v !== '' && v !== 'on' && v !== 'off') {
    throw new PolicyError(`JAIL_PLAN_STORE=${v}: not on or off.`, 'set it to off to neither store nor reuse plans, or unset it.');
  }
  return v === 'off' || env.JAIL_TEST_NO_KEPT_PLANS === '1';
}

/** JAIL_NAMESPACES=off: act as if namespaces were refused (tests, comparisons). */
export function namespacesEnv(v: string | undefined): 'auto' | 'off' {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'off') return 'off';
  throw new PolicyError(`JAIL_NAMESPACES=${v}: not auto or off.`, 'set it to off to test the Landlock-only layer, or unset it.');
}

export function abiCap(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new PolicyError(`JAIL_LANDLOCK_ABI=${v}: not an ABI number.`, 'set it to a whole number such as 3, or unset it.');
  }
  return n;
}


/**
 * jail's own node runs without the caller's NODE_OPTIONS (a `--require`
 * there, from a project's .npmrc `node-options`, would run code outside the
 * jail): the launcher (bin/) moves it to JAIL_NODE_OPTIONS, and here it goes
 * back, for the command's environment, where the filter judges it.
 */
export function restoreNodeOptions(env: NodeJS.ProcessEnv): void {
  if (env.JAIL_NODE_OPTIONS === undefined) return;
  env.NODE_OPTIONS = env.JAIL_NODE_OPTIONS;
  delete env.JAIL_NODE_OPTIONS;
}

/** Signals that end a process when not handled (what Node does with them
 *  before jail's own handlers are in place). */
const ENDING = [1, 2, 3, 14, 15, 10, 12]; // HUP INT QUIT ALRM TERM USR1 USR2

/**
 * Run `argv` from a stored plan; null when there is none that holds.
 *
 * The command is made ready (namespaces, view, its process confined and
 * waiting before its exec: startNative) while this thread makes the
 * private TMPDIR, which the view waits for (openView), and asks the host
 * its questions again, then adds the view's rule entries to its ruleset
 * (addViewRules: root's /etc, while the init builds the rest of the
 * view); it is let go only when every answer agrees; else
 * it ends having run nothing, and the CLI prepares the run afresh. So the
 * TMPDIR is made before the questions are asked: a listing of its
 * directory is compared without it (replayStored).
 */
export function runStored(argv: string[]): number | null {
  const debug = process.env.JAIL_DEBUG_STORE === '1';
  const found = storedRun(argv, debug);
  if (typeof found === 'string') {
    if (debug) writeStderr(`jail: plan store: not used: ${found}\n`);
    return null;
  }
  const { run, target, calls, names, facts } = found;
  let locks: number[] = [];
  let guarded: Protect.Snapshot | null;
  let started = false;
  let pid: number;
  try {
    startNative(run.native, target, true); // its namespaces are made meanwhile
    started = true;
    locks = materialize(run);
    openView();
    let why: string | null = 'something it looked at changed';
    try {
      // As main() probes for a run (a bad value throws: main says so).
      const env = process.env;
      if (JSON.stringify(probe(abiCap(env.JAIL_LANDLOCK_ABI), namespacesEnv(env.JAIL_NAMESPACES) === 'off' ? 'off' : 'assume')) !== facts) why = 'the kernel facts changed';
      else if (replayStored(calls, realHost(env), hostAnswers, names)) why = null;
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (why !== null) {
      started = false;
      const seen = finishNative(false, target);
      finish(run, locks, null);
      if (debug) writeStderr(`jail: plan store: not used: ${why}\n`);
      // A signal that came while the command was made ready would have
      // ended this process before it was: it does now.
      const sig = ENDING.find((s) => seen & (1 << s));
      if (sig !== undefined) reraise(sig);
      return null;
    }
    addViewRules(target); // root's /etc, entry by entry, while the init builds the view
    if (debug) writeStderr('jail: plan store: used\n');
    if (run.said) writeStderr(run.said);
    guarded = run.afterRun.length ? loadProtect().snapshot(run.afterRun) : null;
    started = false;
    pid = finishNative(true, target).pid;
  } catch (e) {
    // Nothing ran (a layer refused, the command gone): the CLI prepares
    // this run afresh, and says what is wrong.
    if (started) {
      try {
        finishNative(false, target);
      } catch {
        // it ended by itself
      }
    }
    if (debug) writeStderr(`jail: plan store: not started: ${e instanceof Error ? e.message : String(e)}\n`);
    finish(run, locks, null);
    return null;
  }
  let result;
  try {
    if (run.tmpDir) sweepBeside(run.tmpDir); // while the command runs
    result = supervise(pid);
  } finally {
    finish(run, locks, guarded);
  }
  const status = statusOf(result);
  try {
    for (const hint of afterRunHints(run.hints, run, status)) writeStderr(printableLines(`jail: ${hint}\n`));
  } catch {
    // a hint that fails is no reason to change the command's status
  }
  return status;
}

/** The stored run for `argv` with this run's TMPDIR and arguments, the
 *  questions its preparation asked (to be asked again) and this run's
 *  TMPDIR names, or why there is none. */
function storedRun(argv: string[], debug: boolean): { run: StoredRun; target: ExecTarget; calls: PackedCalls; names: string[]; facts: string } | string {
  const env = process.env;
  if (!argv.includes('--')) return 'no -- before the command';
  restoreNodeOptions(env); // as main() does first
  try {
    if (storeOff(env)) return 'turned off (JAIL_PLAN_STORE=off)';
    const key = storeKey(argv, env, bundleId(DIST), hostAnswers.digest);
    if (!key) return 'no -- before the command';
    // Without a plan the CLI prepares one, and root's /etc is scanned for
    // it: begun now, on the addon's thread, while the CLI loads.
    const dir = storeDir(DIST, false);
    const file = dir && entryName(dir, key, hostAnswers.digest, false);
    const e = dir && file ? readEntry(dir, file) : null;
    if (!e || e.key !== key.key || e.env !== key.env) {
      scanEtcEarly(argv);
      return dir ? 'no plan for this run' : `no store of this user's in ${path.join(DIST, 'plans')}`;
    }
    // The questions, on the addon's threads while the run is decoded and
    // its command made ready; replayStored takes the answers. A tree
    // scanned for the plan (root's /etc) is checked by its directories'
    // times where they were stored, else scanned again.
    for (const { root, maxDepth, check } of storedScans(e.calls)) {
      if (!check) {
        scanTreeEarly(root, maxDepth);
        continue;
      }
      verifyEarly(root, maxDepth, check); // else replayStored checks it itself
      if (debug) writeStderr(`jail: plan store: ${printable(root)} checked by its directories' times, not listed\n`);
    }
    if (e.calls.ops) askEarly(e.calls.ops, batchPaths(e.calls), e.calls.nums);
    const names = freshNames(e.calls.others, { tempName });
    const run = decodeRun<StoredRun>(e.run, e.names, names, env);
    checkKeptFds(run.native.keepFds);
    const args = argv.slice(argv.indexOf('--') + 1);
    run.native.argv = args;
    run.hints = { ...run.hints, target: { argv: args } };
    return { run, target: { file: run.native.file, argv: args, env }, calls: e.calls, names, facts: e.facts };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** After the command (or instead of it): the guarded set back, the TMPDIR
 *  gone, the locks dropped. */
function finish(run: StoredRun, locks: number[], guarded: Protect.Snapshot | null): void {
  if (guarded) restoreGuarded(guarded, undefined, writeStderr);
  if (run.tmpDir && fs.existsSync(run.tmpDir)) cleanup(run.tmpDir, 'TMPDIR', writeStderr);
  for (const fd of locks) unlockDir(fd);
}

/**
 * For the code cache (dist/make-codecache.js): this bundle's code run on
 * harmless inputs, so that V8 has compiled what a run from a stored plan
 * runs: the key, the store's checks, a replay of a few questions about
 * `/`, the run's encoding both ways. Nothing is started or written.
 */
export function warm(): void {
  const env = { ...process.env };
  const key = storeKey(['--', 'true'], env, bundleId(DIST), hostAnswers.digest);
  const dir = storeDir(DIST, false);
  const file = key && dir && entryName(dir, key, hostAnswers.digest, false);
  if (dir && file) readEntry(dir, file);
  const host = realHost(env);
  const t = tracing(host, stampDir);
  t.host.identify('/');
  t.host.stat('/');
  t.host.realpath('/');
  t.host.readlink('/');
  t.host.executable('/');
  t.host.readText('/etc/hostname', { follow: true });
  t.host.readHead('/bin/sh', 4);
  t.host.readdir('/');
  void t.host.cwd;
  void t.host.self;
  void t.host.tmpdir;
  void t.host.planStore;
  t.host.unixSockets?.();
  const calls = storedCalls(t.trace, hostAnswers);
  if (calls) {
    const packed = packCalls(calls);
    storedScans(packed);
    scanCheck('\u0001\u0002');
    askEarly(packed.ops, batchPaths(packed), packed.nums);
    replayStored(packed, host, hostAnswers);
  }
  decodeRun(encodeRun({ n: 1n, u: new Uint8Array(8), envp: [`PATH=${env.PATH ?? ''}`, 'X=1'] }, env), [], [], env);
  // A run's own steps, where they touch nothing: V8 caches a function's
  // code only once it has run, and compiles the rest in every run.
  runStored([]); // no --: null at once
  const none = { tmpDir: null, files: [], afterRun: [], hints: { target: { argv: [] }, env: {}, options: {}, command: { file: '', chain: [] }, policy: { npmCache: null } } } as unknown as StoredRun;
  materialize(none);
  finish(none, [], null);
  cleanup(path.join(DIST, 'no-such-dir', 'jail-0-000000000000'), 'TMPDIR', () => {});
  statusOf({ code: 0, signal: null });
  afterRunHints(none.hints, { layer: 'namespaces', fallback: null }, 0);
  probe(undefined, 'assume');
}
