/**
 * A jailed run, end to end, in the order STYLE.md asks for: assemble (pure:
 * the policy, the environment, the files to write), compile (pure), then the
 * disk (the private TMPDIR and its files), then exec in a child under a
 * supervisor that ends every descendant, removes the TMPDIR and passes the
 * status on.
 */
import fs = require('node:fs');
import { ApplyError } from './errors.js';
import { realHost } from './host.js';
import { formatDenials, judgeObserved, type ObservedRecord } from './denials.js';
import { layerRefused, probe, spawnJailed, supervise, superviseAsync, takeObserved, unlockDir, type ExecTarget, type ProbeResult } from './native/apply.js';
import { mergeVerifiedContent } from './npmcache/merge.js';
import { compile, type JailPlan } from './plan.js';
import { findArch, syscallName } from './seccomp/arch/index.js';
import { assemble, type Assembled, type JailRequest } from './policy/assemble.js';
import { withFullListings } from './policy/protect.js';
import type { Host } from './policy/host.js';
import type * as Protect from './protect/index.js';
import { printable } from './text.js';
import { cleanup, loadProtect, materialize, restoreGuarded, statusOf, sweepBeside, writeStderr } from './runsteps.js';

export { provideProtect, sweepStale } from './runsteps.js';

export interface RunRequest extends Omit<JailRequest, 'nodeExecPath' | 'namespacesOk'> {
  nodeExecPath?: string;
  /** Use at most this Landlock ABI (tests). */
  abiCap?: number;
}

export interface Prepared extends Assembled {
  plan: JailPlan;
  target: ExecTarget;
}

/** Request → a plan ready to apply. Touches nothing: --print-policy prints
 *  this, and runPrepared() runs it. */
export function prepare(req: RunRequest, facts: ProbeResult = probe(req.abiCap), host: Host = realHost(req.env)): Prepared {
  const a = assemble({ ...req, nodeExecPath: req.nodeExecPath ?? process.execPath, namespacesOk: facts.namespaces?.ok === true }, host);
  const plan = compile(a.policy, facts, { bestEffort: req.options.bestEffort });
  return { ...a, plan, target: { file: a.command.file, argv: req.argv, env: a.env } };
}

/**
 * Run a prepared plan, always under a supervisor, even in the fallback with
 * nothing to check after the run: exec in place would leave nobody to end
 * what the command leaves running, and a process left holding the terminal
 * reads what is typed at the shell afterwards (a sudo password). Returns
 * the exit status to use; when the command died of a signal, this process
 * dies of it too, after cleaning up. The supervisor ends everything the
 * command left running before the cleanup, so it must run in a process with
 * no other children (the jail CLI). A problem cleaning up is a warning,
 * never the status.
 */
export function runPrepared(p: Prepared, onFallback?: (plan: JailPlan) => void, say?: (line: string) => void, opts: RunOptions = {}): number {
  const run = new SupervisedRun(p, opts);
  let result;
  try {
    const pid = run.start(onFallback).pid;
    if (p.tmpDir) sweepBeside(p.tmpDir); // while the command runs
    result = supervise(pid);
    run.after(say);
  } finally {
    run.cleanup();
  }
  return statusOf(result);
}

export interface RunOptions {
  quarantineRoot?: string;
  /** The observer's records (plan.observer), given here instead of the
   *  --report-denials summary on stderr (jail learn), with the plan that
   *  ran (a fallback's, when the namespace layer was refused). */
  onObserved?: (observed: Observed) => void;
}

export interface Observed {
  plan: JailPlan;
  calls: ObservedRecord[];
  dropped: number;
  nameOf: (nr: number) => string | undefined;
}

/** What the supervisor serves while the command runs (the egress proxy):
 *  given the plan that runs and the sockets its init made (in the order of
 *  plan.view.sockets), and stopped once everything jailed has ended. */
export interface Service {
  /** Once the private TMPDIR exists, before the command starts (the SSH
   *  agent's socket is made in it). */
  beforeStart?(): Promise<void>;
  attach(plan: JailPlan, fds: number[]): void;
  stop(): Promise<void>;
}

/** Several services as one: attached in order, stopped together. */
export function allOf(services: Service[]): Service {
  return {
    async beforeStart() {
      for (const s of services) await s.beforeStart?.();
    },
    attach(plan, fds) {
      for (const s of services) s.attach(plan, fds);
    },
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
    },
  };
}

/**
 * runPrepared() with the event loop free while the command runs: for a
 * service the supervisor runs meanwhile (the egress proxy). Waiting happens
 * on a thread of libuv's pool; signals and the end of every descendant are
 * as in runPrepared().
 */
export async function runPreparedAsync(p: Prepared, service: Service, onFallback?: (plan: JailPlan) => void, say?: (line: string) => void, opts: RunOptions = {}): Promise<number> {
  const run = new SupervisedRun(p, opts);
  // A fault in the service must not end this process while the command
  // runs: the restore of what runs later, and the cleanup, come after it.
  // It is said, and the service stops.
  const fault = (e: unknown) => {
    writeStderr(`jail: internal error in the supervisor's service, which stops: ${e instanceof Error ? e.message : String(e)}\n`);
    void service.stop().catch(() => {});
  };
  process.on('uncaughtException', fault);
  let result;
  try {
    run.materialize();
    await service.beforeStart?.();
    const started = run.start(onFallback);
    try {
      service.attach(started.plan, started.fds);
    } catch (e) {
      // Nothing may run without its service: end it, then say why.
      process.kill(started.pid, 'SIGKILL');
      await superviseAsync(started.pid);
      throw e;
    }
    result = await superviseAsync(started.pid);
    run.after(say);
  } finally {
    await service.stop().catch(fault);
    process.removeListener('uncaughtException', fault);
    run.cleanup();
  }
  return statusOf(result);
}

/** Starts the plan's command: spawnJailed for the CLI's supervisor; the
 *  library passes its own (spawnChild, with the child's stdio). */
export type Spawner<S> = (plan: JailPlan, target: ExecTarget) => S;

/** One supervised run's steps around the wait: start (with the fallbacks
 *  when a layer or the npm cache's overlay is refused), what comes after
 *  the command, and the cleanup whatever happened. What it has to say
 *  goes to `write` (this process's stderr unless told). */
export class SupervisedRun {
  private ran: JailPlan;
  private guarded: Protect.Snapshot | null = null;
  private readonly layerDir: string | undefined;
  private made = false;
  /** The locks held on the directories made (so that no sweep removes them). */
  private locks: number[] = [];

  private readonly quarantineRoot: string | undefined;
  private readonly onObserved: ((observed: Observed) => void) | undefined;

  constructor(
    private p: Prepared,
    opts: RunOptions,
    private readonly write: (text: string) => void = writeStderr,
  ) {
    this.quarantineRoot = opts.quarantineRoot;
    this.onObserved = opts.onObserved;
    this.ran = p.plan;
    this.layerDir = p.policy.npmCache?.layerDir;
  }

  /** The plan that runs (after a fallback, the fallback's). */
  get plan(): JailPlan {
    return this.ran;
  }

  /** The private TMPDIR and its files (once). */
  materialize(): void {
    if (!this.made) this.locks = materialize({ tmpDir: this.p.tmpDir, files: this.p.files, ...(this.layerDir && this.p.plan.layer === 'namespaces' && { layerDir: this.layerDir }) });
    this.made = true;
  }

  start(onFallback?: (plan: JailPlan) => void): { pid: number; fds: number[]; plan: JailPlan };
  start<S extends { pid: number; fds: number[] }>(onFallback: ((plan: JailPlan) => void) | undefined, spawn: Spawner<S>): S & { plan: JailPlan };
  start(onFallback?: (plan: JailPlan) => void, spawn: Spawner<{ pid: number; fds: number[] }> = spawnJailed): { pid: number; fds: number[]; plan: JailPlan } {
    let p = this.p;
    this.materialize();
    try {
      // The guarded set as it is right before the command starts.
      this.guarded = p.plan.afterRun.length ? loadProtect().snapshot(p.plan.afterRun) : null;
      try {
        return { ...spawn(p.plan, p.target), plan: p.plan };
      } catch (e) {
        // The overlay for npm's cache was refused (a kernel before 5.11, an
        // upper directory without user xattrs: tmpfs before 6.6): nothing
        // ran; run with the cache read-only, as the fallback has it.
        if (!overlayRefused(e, p)) throw e;
        this.write(`jail: warning: npm cache: the private overlay cannot be mounted here (${printable(String((e as ApplyError).syscall))}: ${printable(String((e as ApplyError).code))}); the cache is read-only in this run.\n`);
        p = this.p = { ...p, policy: { ...p.policy, npmCache: null } };
        p.plan = compile(p.policy, p.plan.facts, { bestEffort: p.options.bestEffort });
        this.ran = p.plan;
        return { ...spawn(p.plan, p.target), plan: p.plan };
      }
    } catch (e) {
      // Taken as there without a probe, the namespace layer was refused:
      // nothing ran; run in the fallback layer, as a probe would have chosen.
      const refused = p.plan.facts.namespaces?.assumed && p.policy.namespaces === 'auto' ? layerRefused(e) : null;
      if (refused === null) throw e;
      // Its listings were made for the namespace layer: what is beside the
      // way to a hidden path, which the Landlock layer grants, is listed now.
      p = this.p = { ...p, policy: withFullListings(p.policy, realHost(process.env)) };
      const plan = compile(p.policy, { ...p.plan.facts, namespaces: { ok: false, why: refused } }, { bestEffort: p.options.bestEffort });
      onFallback?.(plan);
      this.ran = plan;
      // The fallback checks more after the run (what mounts would have
      // held): record for the plan that runs, still before anything ran.
      this.guarded = plan.afterRun.length ? loadProtect().snapshot(plan.afterRun) : null;
      return { ...spawn(plan, p.target), plan };
    }
  }

  /** Everything the command started has ended: what it wrote to npm's
   *  cache can be judged now, with nothing left to change it. */
  after(say?: (line: string) => void): void {
    if (this.ran.layer === 'namespaces') mergeNpmCache(this.p, this.write, say);
    if (this.ran.observer) {
      if (this.onObserved) this.onObserved(observed(this.ran));
      else reportDenials(this.ran, this.p);
    }
  }

  /** The supervisor's wait returns (or throws) only once the command and
   *  all it left running have ended: nothing jailed can undo the restore. */
  cleanup(): void {
    if (this.guarded) restoreGuarded(this.guarded, this.quarantineRoot, this.write);
    if (this.p.tmpDir) cleanup(this.p.tmpDir, 'TMPDIR', this.write);
    const layer = this.layerDir;
    if (layer && fs.existsSync(layer)) cleanup(layer, "npm cache's private layer", this.write);
    for (const fd of this.locks.splice(0)) unlockDir(fd);
  }
}

/** --report-denials: what the observer recorded, judged against the plan
 *  that ran (denials.ts), on stderr. */
function reportDenials(plan: JailPlan, p: Prepared): void {
  const { calls, dropped, nameOf } = observed(plan);
  const lines = formatDenials(judgeObserved(plan, p.policy, realHost(process.env), calls, dropped, nameOf), p.policy.cwd);
  if (lines.length) writeStderr(lines.map((l) => `jail: ${l}\n`).join(''));
}

/** What the observer recorded in this run, taken (once). */
function observed(plan: JailPlan): Observed {
  const { calls, dropped } = takeObserved();
  const arch = findArch(plan.facts.arch);
  return { plan, calls, dropped, nameOf: (nr) => (arch ? syscallName(arch, nr) : undefined) };
}

/** Whether the view failed at the npm cache's overlay (its mount point or
 *  its private directory), before anything ran. */
function overlayRefused(e: unknown, p: Prepared): boolean {
  const c = p.policy.npmCache;
  return c !== null && e instanceof ApplyError && e.step === 'view' && (e.path === c.path || e.path === c.layerDir);
}

/** npm's cache after a run in the namespace layer: the verified content of
 *  the private layer into the real cache, the rest dropped (merge.ts). A
 *  file under content-v2 that does not match its name is no write npm
 *  makes, so it is named on stderr. */
function mergeNpmCache(p: Prepared, write: (text: string) => void, say?: (line: string) => void): void {
  const cache = p.policy.npmCache;
  if (!cache?.layerDir) return;
  const r = mergeVerifiedContent(`${cache.layerDir}/upper`, cache.path);
  if (r.rejected.length) {
    const shown = r.rejected.slice(0, 5).map((f) => printable(f)).join(', ');
    write(`jail: npm cache: dropped ${r.rejected.length} file(s) the command wrote under content-v2 that do not match their own hash (or are not plain files and directories): ${shown}${r.rejected.length > 5 ? ', …' : ''}\n`);
  }
  for (const why of r.problems) write(`jail: warning: npm cache: could not keep a verified entry: ${printable(why)}\n`);
  say?.(`npm cache: kept ${r.kept} new verified content file(s) (${r.present} there already); index entries, _npx, _logs and the rest the command wrote are dropped`);
}
