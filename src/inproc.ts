/**
 * spawn() in the calling process: the plan is compiled here and the addon
 * clones the jailed child directly (native/supervisor.h, jail_spawn_child),
 * with no second Node process. What the CLI's supervisor does around the
 * command happens here too, on the event loop: the private TMPDIR, the
 * filtered environment, the guards checked after the run, npm's cache
 * merged, the TMPDIR removed; then `exit`, then `close`.
 *
 * Runs this path cannot serve yet take the CLI child instead (api.ts):
 * those with services running beside the command (the egress proxy of
 * --allow-host and --secret, --ssh-agent confirm), those whose guards must
 * be checked with nothing of the command's left running in the
 * Landlock-only layer (only the CLI's subreaper ends what it leaves
 * behind), and spawn options it does not implement.
 *
 * The Landlock-only layer: the command is a direct child, and what it
 * leaves running after it exits is not ended (nothing in a library may be
 * a subreaper for the whole process); the TMPDIR goes when the command
 * exits. The namespace layer: the init is PID 1 of the jail, so all of it
 * ends with the command.
 */
import { EventEmitter } from 'node:events';
import fs = require('node:fs');
import net = require('node:net');
import os = require('node:os');
import path = require('node:path');
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { CommandError } from './errors.js';
import { checkKeptFds, hostAnswers, realHost, stampDir } from './host.js';
import { closeFd, pipe, probe, spawnChild, startChild, watchChild, type ChildHandle, type ProbeResult } from './native/apply.js';
import type { NativeStatus } from './native/binding.js';
import { formatError } from './cli/report.js';
import { afterRunHints } from './hints.js';
import { makeOutputDirs } from './cli/outputdirs.js';
import type { JailPlan } from './plan.js';
import { NO_PROFILE } from './policy/assemble.js';
import { parseFd } from './policy/build.js';
import { OPTIONS, type JailOptions, type OptionName } from './policy/options.js';
import * as protect from './protect/index.js';
import { prepare, provideProtect, SupervisedRun, type Prepared } from './run.js';
import { printableLines } from './text.js';
import { fresh, keep, keptTrace, replayKeptStart, tracing, type Kept, type KeptTrace } from './trace.js';
import type { Host } from './policy/host.js';

provideProtect(protect);

/** Which way a spawn() went, and why (JAIL_DEBUG_SPAWN=1 says it on stderr). */
export interface SpawnPath {
  path: 'in-process' | 'cli';
  why?: string;
}

/** Spawn options this path implements; any other set sends the run to the CLI. */
const HANDLED = new Set(['cwd', 'env', 'stdio', 'shell', 'argv0', 'windowsHide', 'windowsVerbatimArguments']);

/** The API's options as the CLI reads them back from toArgs()'s flags
 *  (checked already). */
export function typedApiOptions(opts: JailOptions): JailOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const name = key as OptionName;
    switch (OPTIONS[name].kind) {
      case 'switch':
        if (value === true) out[name] = true;
        break;
      case 'negated':
        if (value === false) out[name] = false;
        break;
      case 'unix':
        out[name] = [...(value as Array<string | true>)]; // a kept plan is frozen: not the caller's array
        break;
      case 'choice':
      case 'name':
        out[name] = value;
        break;
      case 'fds':
        out[name] = (value as Array<string | number>).map((v) => parseFd(String(v)));
        break;
      default:
        out[name] = (value as Array<string | number | { path: string }>).map((v) => (typeof v === 'object' ? v.path : String(v)));
    }
  }
  if (opts.profile === undefined) out.profile = NO_PROFILE;
  return out as JailOptions;
}

/** Kernel facts, once per process and setting (JAIL_LANDLOCK_ABI,
 *  JAIL_NAMESPACES): the namespace layer is tried for real once, so the
 *  layer is known before a plan is compiled. */
const factsCache = new Map<string, ProbeResult>();
function factsFor(env: NodeJS.ProcessEnv): ProbeResult {
  const cap = env.JAIL_LANDLOCK_ABI;
  const ns = env.JAIL_NAMESPACES === 'off' ? 'off' : 'auto';
  const key = `${cap ?? ''}/${ns}`;
  let f = factsCache.get(key);
  if (!f) {
    const n = cap === undefined || cap === '' ? undefined : Number(cap);
    f = probe(n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined, ns);
    factsCache.set(key, f);
  }
  return f;
}

/**
 * Plans kept between runs: a harness runs the same policy again and again,
 * and preparing it (the policy, the system base, the search for what to
 * hide and protect, the compilers) is most of what the library adds to a
 * spawn. A plan is reused only for the same request (options, command
 * name, working directory, environment, node, kernel facts) when the host
 * answers every question its preparation asked as it did then (trace.ts):
 * then preparing again would give this plan. The arguments after the
 * command's name are not read when preparing; they are put in per run.
 * Not kept: runs with --secret (their placeholders are made fresh for
 * each run). At most KEPT_PLANS, the least recently used dropped.
 *
 * The addon's batch of those questions (about 1 ms) is asked while the
 * command is made ready (native/warm.c: the warm init builds the view and
 * starts the command, which waits before it confines itself): the kept
 * plan comes back with holds(), which the spawn asks last. When it says
 * false, the waiting command is ended, having run nothing, the TMPDIR is
 * removed, and the request is prepared afresh (JailedChild.begin).
 */
const KEPT_PLANS = 16;
const MAX_TRACE = 5000;
/** About 4 MB of answers (config texts, listings) per kept plan. */
const MAX_TRACE_SIZE = 4 << 20;
const keptPlans = new Map<string, { facts: ProbeResult; trace: KeptTrace; prepared: Kept<Prepared> }>();

/** A prepared run; from a kept plan, with holds() still to be asked. */
interface Ready {
  p: Prepared;
  /** Whether the kept plan holds (the batch's answers as they were): the
   *  last step before anything of it runs. Without it, p is fresh. */
  holds?: () => boolean;
}

function prepareKept(opts: JailOptions, argv: string[], env: NodeJS.ProcessEnv, cwd: string, facts: ProbeResult, host: Host): Ready {
  const request = () => ({ options: opts, argv, env, projectRoot: undefined });
  if (opts.secret?.length || process.env.JAIL_TEST_NO_KEPT_PLANS === '1') return { p: prepare(request(), facts, host) };
  const key = JSON.stringify([opts, argv[0], cwd, process.execPath, env]);
  const kept = keptPlans.get(key);
  if (kept && kept.facts === facts) {
    keptPlans.delete(key); // back in, as the most recent, once it holds
    const r = replayKeptStart(kept.trace, host, hostAnswers);
    if (r) {
      const holds = () => {
        if (!r.holds(r.names)) return false;
        keptPlans.set(key, kept);
        if (keptPlans.size > KEPT_PLANS) keptPlans.delete(keptPlans.keys().next().value!);
        return true;
      };
      return { p: forRun(kept.prepared, r.names, argv), holds };
    }
  }
  const traced = tracing(host, stampDir);
  const p = prepare(request(), facts, traced.host);
  // A trace of a huge tree (thousands of directories listed) is not worth
  // its memory.
  if (!traced.trace.reusable || traced.trace.calls.length > MAX_TRACE || traced.trace.size > MAX_TRACE_SIZE) return { p };
  let k: Kept<Prepared>;
  let trace: KeptTrace | null;
  try {
    trace = keptTrace(traced.trace, hostAnswers);
    k = keep(p, traced.trace.names);
  } catch {
    return { p }; // something in it that is not plain data, or no addon: not kept
  }
  if (!trace) return { p };
  keptPlans.set(key, { facts, trace, prepared: k });
  if (keptPlans.size > KEPT_PLANS) keptPlans.delete(keptPlans.keys().next().value!);
  return { p: forRun(k, traced.trace.names, argv) };
}

/** A kept plan for this run, with this run's TMPDIR name and arguments. */
function forRun(k: Kept<Prepared>, names: string[], argv: string[]): Prepared {
  const p = fresh(k, names);
  return { ...p, target: { ...p.target, argv } };
}

/**
 * The environment as child_process reads it for the command: every
 * enumerable variable, inherited ones too, undefined left out, each value a
 * string. The one snapshot both keys a kept plan and is prepared from, so
 * that nothing preparing reads escapes the key (an inherited
 * NPM_CONFIG_USERCONFIG did); throws as child_process.spawn would.
 */
export function envOf(given: NodeJS.ProcessEnv | Record<string, unknown>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k in given) {
    // inherited variables too, as child_process passes them
    const v = (given as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = `${v as string}`;
  }
  return out;
}

/** A pipe, /dev/null, or an fd of ours ('inherit': 0, 1 or 2). */
type StdioKind = 'pipe' | 'ignore' | number;

/** options.stdio as three entries this path can make; null when it cannot. */
function stdioKinds(stdio: SpawnOptions['stdio']): [StdioKind, StdioKind, StdioKind] | null {
  const one = (s: unknown, i: number): StdioKind | null => {
    if (s === undefined || s === null || s === 'pipe' || s === 'overlapped') return 'pipe';
    if (s === 'inherit') return i;
    if (s === 'ignore') return 'ignore';
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0) return s;
    return null;
  };
  if (stdio === undefined || typeof stdio === 'string') {
    const k = one(stdio, 0);
    if (k === null) return null;
    return [one(stdio, 0)!, one(stdio, 1)!, one(stdio, 2)!];
  }
  if (!Array.isArray(stdio) || stdio.slice(3).some((s) => s !== undefined && s !== null && s !== 'ignore')) return null;
  const a = [0, 1, 2].map((i) => one(stdio[i], i));
  return a.some((k) => k === null) ? null : (a as [StdioKind, StdioKind, StdioKind]);
}

/** Whether this run is one the in-process path serves, and if not, why. */
function cliOnly(p: Prepared): string | null {
  if (p.policy.egress !== null) return 'an egress proxy runs beside the command (--allow-host, --secret)';
  if (p.policy.sshAgent?.mode === 'confirm') return 'the SSH agent asks before each use (--ssh-agent confirm)';
  if (p.plan.observer) return "the supervisor's observer records the command's calls (--report-denials)";
  return null;
}

/**
 * The in-process spawn, or a reason to use the CLI child (then nothing has
 * been made). Throws only what child_process.spawn would throw at once;
 * the jail's own failures come as exit status 125 with the message on the
 * child's stderr, as from the CLI.
 */
export function spawnInProcess(policy: JailOptions, command: string, args: readonly string[], options: SpawnOptions): { child: ChildProcess; path: SpawnPath } | { child: null; path: SpawnPath } {
  if (process.env.JAIL_SPAWN === 'cli') return { child: null, path: { path: 'cli', why: 'JAIL_SPAWN=cli' } };
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && v !== false && !HANDLED.has(k)) return { child: null, path: { path: 'cli', why: `spawn option "${k}"` } };
  }
  const kinds = stdioKinds(options.stdio);
  if (!kinds) return { child: null, path: { path: 'cli', why: 'stdio other than pipe, inherit, ignore or an fd' } };
  const env = envOf(options.env ?? process.env);
  const cwd = path.resolve(options.cwd === undefined ? process.cwd() : String(options.cwd));
  const opts = typedApiOptions(policy);
  const argv = [command, ...args];

  let created: string[] | null = null;
  /** The run prepared, or what failed (then the output directories made
   *  for it are removed again). */
  const ready = (): { ready: Ready | null; failure: unknown } => {
    try {
      const facts = factsFor(env);
      const host = realHost(env, cwd, true);
      created ??= makeOutputDirs(opts.rw, cwd, env.HOME || os.homedir(), host.self).created;
      const r = prepareKept(opts, argv, env, cwd, facts, host);
      checkKeptFds(r.p.policy.keepFds);
      return { ready: r, failure: null };
    } catch (e) {
      for (const d of [...(created ?? [])].reverse()) {
        try {
          fs.rmdirSync(d);
        } catch {
          // not empty or gone: leave it
        }
      }
      return { ready: null, failure: e };
    }
  };
  let r = ready();
  const why = r.ready && cliOnly(r.ready.p);
  if (why) return { child: null, path: { path: 'cli', why } };
  const child = new JailedChild(command, argv);
  if (child.open(kinds) && child.begin(r.ready, r.failure, cwd) === 'stale') {
    // The kept plan did not hold (a file made, changed or removed since):
    // prepared afresh, as a request not seen before.
    r = ready();
    const again = r.ready && cliOnly(r.ready.p);
    if (again) {
      child.abandon();
      return { child: null, path: { path: 'cli', why: again } };
    }
    child.begin(r.ready, r.failure, cwd);
  }
  return { child: child as unknown as ChildProcess, path: { path: 'in-process' } };
}

/** A jailed child with child_process's ChildProcess surface: pid, stdio
 *  streams, kill(), exitCode and signalCode, `spawn`, `exit`, `close`,
 *  and `error` when it could not be started at all. */
class JailedChild extends EventEmitter {
  pid: number | undefined = undefined;
  stdin: net.Socket | null = null;
  stdout: net.Socket | null = null;
  stderr: net.Socket | null = null;
  readonly stdio: Array<net.Socket | null> = [null, null, null];
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  connected = false;
  readonly jailPath: SpawnPath = { path: 'in-process' };
  private exited = false;
  private closesNeeded = 1; // the exit, plus one per readable stream
  private refd = true;
  private refWatch: ((on: boolean) => void) | undefined;

  constructor(
    readonly spawnfile: string,
    readonly spawnargs: string[],
  ) {
    super();
  }

  /** The child's ends of its stdio (given to it, then closed here). */
  private theirs: number[] = [];
  /** Of those, the ones made here (pipes, /dev/null). */
  private toClose: number[] = [];
  /** Of those, the ones fs opened (/dev/null): fs closes them, the addon
   *  the rest (a worker thread warns about any other mix). */
  private opened = new Set<number>();
  /** Where the jail's own messages go: the child's stderr (-1: nowhere). */
  private errFd = -1;
  /** Whether errFd is a pipe's end made here. */
  private errOwned = false;

  private closeOne(fd: number): void {
    if (this.opened.has(fd)) fs.closeSync(fd);
    else closeFd(fd);
  }

  /** The child's stdio and ours; false (and `error` to come) when it could
   *  not be made. */
  open(kinds: [StdioKind, StdioKind, StdioKind]): boolean {
    const { theirs, toClose, opened } = this;
    try {
      for (let i = 0; i < 3; i++) {
        const k = kinds[i]!;
        if (k === 'pipe') {
          const [r, w] = pipe();
          const [mine, child] = i === 0 ? [w, r] : [r, w];
          theirs.push(child);
          toClose.push(child);
          const s = new net.Socket({ fd: mine, readable: i > 0, writable: i === 0 });
          this.stdio[i] = s;
          if (i > 0) {
            this.closesNeeded++;
            s.on('close', () => this.maybeClose());
          }
        } else if (k === 'ignore') {
          const fd = fs.openSync('/dev/null', i === 0 ? 'r' : 'w');
          opened.add(fd);
          theirs.push(fd);
          toClose.push(fd);
        } else {
          theirs.push(k);
        }
      }
      [this.stdin, this.stdout, this.stderr] = [this.stdio[0] ?? null, this.stdio[1] ?? null, this.stdio[2] ?? null];
      this.errFd = kinds[2] === 'ignore' ? -1 : theirs[2]!;
      this.errOwned = kinds[2] === 'pipe';
      return true;
    } catch (e) {
      for (const fd of toClose) this.closeOne(fd);
      process.nextTick(() => this.emit('error', e));
      return false;
    }
  }

  /** open()'s stdio closed again, nothing emitted: the run goes to the CLI
   *  after all. */
  abandon(): void {
    for (const s of this.stdio) s?.destroy();
    for (const fd of this.toClose) this.closeOne(fd);
  }

  /**
   * The run, on open()'s stdio: `ready` is the prepared run (null:
   * `failure` says why there is none). 'stale' when it is a kept plan that
   * does not hold: then nothing of it ran, its TMPDIR is gone, nothing was
   * said, and the stdio stays for another begin().
   */
  begin(ready: Ready | null, failure: unknown, cwd: string): 'stale' | undefined {
    const { theirs, toClose, errFd, errOwned } = this;
    // Our own messages, from here on, go where the command's stderr goes;
    // a pipe's end stays open for them until the run is cleaned up.
    const said: string[] = [];
    const say = (text: string) => said.push(printableLines(text));
    const closeTheirs = () => {
      for (const fd of toClose) if (!(errOwned && fd === errFd)) this.closeOne(fd);
    };
    const finish = (status: number | null, signal: NodeJS.Signals | null) => {
      flush(errFd, errOwned, said, () => undefined);
      this.exitWith(status, signal);
    };
    if (!ready) {
      say(failure instanceof CommandError ? `${failure.message}\n` : formatError(failure));
      closeTheirs();
      process.nextTick(() => finish(failure instanceof CommandError ? failure.exitCode : 125, null));
      return;
    }
    const p = ready.p;
    let holds = ready.holds;
    let stale = false;
    // The plan's warnings, said once it is the plan that runs.
    let warned = false;
    const warn = () => {
      if (warned) return;
      warned = true;
      for (const d of p.plan.dropped) say(`jail: warning: --best-effort: running without ${d}\n`);
      for (const w of p.warnings) say(`jail: warning: ${w}\n`);
    };
    const stdio = theirs as [number, number, number];
    const run = new SupervisedRun(p, {}, say);
    let started: ChildHandle & { plan: JailPlan };
    try {
      started = run.start(undefined, (plan, target) => {
        const asked = holds;
        holds = undefined;
        let go: ((go: boolean) => ChildHandle | null) | null = null;
        if (asked) {
          // A kept plan: its command made ready (it waits, having run
          // nothing) while its answers are checked.
          let failed: { e: unknown } | null = null;
          try {
            go = startChild(plan, target, stdio, cwd);
          } catch (e) {
            failed = { e }; // the plan's own failure, unless it does not hold
          }
          if (!asked()) {
            go?.(false);
            stale = true;
            throw new Error('the kept plan does not hold');
          }
          if (failed) throw failed.e;
        }
        warn();
        if (said.length) flushSync(errFd, said);
        return go ? go(true)! : spawnChild(plan, target, stdio, cwd);
      });
    } catch (thrown) {
      let e = thrown;
      if (stale) {
        try {
          run.cleanup();
          said.length = 0;
          return 'stale';
        } catch (c) {
          e = c; // its TMPDIR could not be removed: that is this run's failure
        }
      } else {
        warn();
        try {
          run.cleanup();
        } catch (c) {
          say(formatError(c));
        }
      }
      say(e instanceof CommandError ? `${e.message}\n` : formatError(e));
      closeTheirs();
      process.nextTick(() => finish(e instanceof CommandError ? e.exitCode : 125, null));
      return;
    }
    closeTheirs();
    for (const fd of started.fds) closeFd(fd); // no sockets are asked for on this path
    this.pid = started.pid;
    process.nextTick(() => this.emit('spawn'));
    const watch = watchChild(started);
    this.refWatch = watch.ref;
    if (!this.refd) watch.ref(false);
    watch.ended.then(
      (status) => {
        let ended: [number | null, NodeJS.Signals | null];
        try {
          ended = this.afterRun(run, p, status, say);
        } catch (e) {
          // A cleanup that failed is the jail's failure, as in the CLI.
          say(formatError(e));
          ended = [125, null];
        }
        finish(...ended);
      },
      (e: unknown) => {
        this.emit('error', e);
        finish(null, null);
      },
    );
  }

  /** After the command: npm's cache, the guards, the TMPDIR; its status. */
  private afterRun(run: SupervisedRun, p: Prepared, status: NativeStatus, say: (text: string) => void): [number | null, NodeJS.Signals | null] {
    try {
      run.after((line) => say(`jail: ${line}\n`));
    } finally {
      run.cleanup();
    }
    if (status.signal !== null) return [null, signalName(status.signal)];
    const code = status.code ?? 125;
    for (const hint of afterRunHints(p, run.plan, code)) say(`jail: ${hint}\n`);
    return [code, null];
  }

  private exitWith(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
    // As child_process does: a stream nobody reads is drained, so that
    // it ends and `close` comes.
    for (const st of [this.stdout, this.stderr]) if (st && st.readableFlowing === null && st.listenerCount('readable') === 0) st.resume();
    this.maybeClose();
  }

  private maybeClose(): void {
    if (--this.closesNeeded === 0) this.emit('close', this.exitCode, this.signalCode);
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.pid === undefined || this.exited) return false;
    // Safe from pid reuse: the child is reaped only by watchChild's
    // callback, on this thread, which sets `exited` first.
    try {
      process.kill(this.pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw e;
    }
    this.killed = true;
    return true;
  }

  /** As ChildProcess: whether waiting for the child keeps the event loop
   *  alive (its stdio pipes, if any, still do until closed or unref'd). */
  ref(): void {
    this.refd = true;
    if (!this.exited) this.refWatch?.(true);
  }

  unref(): void {
    this.refd = false;
    if (!this.exited) this.refWatch?.(false);
  }

  disconnect(): void {}
}

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, v] of Object.entries(os.constants.signals)) if (v === n) return name as NodeJS.Signals;
  return null;
}

/** Before the command runs: the pipe is empty, a few lines fit. */
function flushSync(fd: number, said: string[]): void {
  const text = said.splice(0).join('');
  if (fd < 0 || !text) return;
  try {
    fs.writeSync(fd, text);
  } catch {
    // nowhere to say it
  }
}

/** After it: written without blocking this thread (the reader of a pipe
 *  may be this process, behind a full buffer), then our end (owned: a pipe
 *  the addon made) is closed. */
function flush(fd: number, owned: boolean, said: string[], done: () => void): void {
  const text = said.splice(0).join('');
  const close = () => {
    try {
      if (owned) closeFd(fd);
    } catch {
      // in a callback: nothing to throw to, and the fd is ours alone
    }
    done();
  };
  if (fd < 0 || !text) return close();
  fs.write(fd, text, () => close());
}
