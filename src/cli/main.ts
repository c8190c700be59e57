/**
 * The `jail` command: flags → policy → plan → exec. Exit status: 125 when
 * the jail itself fails, 126/127 when the command cannot be run or found,
 * otherwise the command's own.
 */
import { Command, Option } from 'commander';
import os = require('node:os');
import fs = require('node:fs');
import { CommandError, NativeLoadError, PolicyError } from '../errors.js';
import { checkKeptFds, hostAnswers, realHost, scanEtcEarly, stampDir } from '../host.js';
import { jailedNative, probe, tcpOwner, type ProbeResult } from '../native/apply.js';
import { configContext } from '../policy/assemble.js';
import { resolveCommand } from '../policy/command.js';
import { linearise, loadConfig, resolveProfile } from '../policy/config.js';
import { YOUR_GRANTS } from '../policy/profiles.js';
import { absolute } from '../policy/paths.js';
import { afterRunHints } from '../hints.js';
import { ACCESSES, explain, type Access, type Query } from '../explain.js';
import type * as Egress from '../egress/session.js';
import { ownedBy } from '../egress/peer.js';
import type * as SshAgent from '../sshagent/session.js';
import type { JailPlan } from '../plan.js';
import { allOf, prepare, runPrepared, runPreparedAsync, type Prepared, type RunOptions, type Service } from '../run.js';
import { closest, printable, printableLines } from '../text.js';
import { doctor } from './doctor.js';
import { abiCap, namespacesEnv, restoreNodeOptions, storeOff, type StoredRun } from './fast.js';
import { bundleId, DIST, encodeRun, entryName, STORE_VERSION, storeDir, storeKey, writeEntry, type StoreKey } from '../planstore.js';
import { packCalls, storedCalls, tracing, type Trace } from '../trace.js';
import { learnMain, type LearnRunner } from './learn.js';
import { makeOutputDirs } from './outputdirs.js';
import { addOptions, parseOrStatus, typedOptions } from './options.js';
import { profilesText } from './profile.js';
import { binsOutside, dependencyRoot, profileForScript } from './script-shell.js';
import { formatError, formatPlan, layerLine, npmCacheLine, planToJson } from './report.js';

export function program(): Command {
  return addOptions(
    new Command('jail')
      .usage('[options] [--] <command> [args...]')
      .description('Run a command with only the files and network it was given (Landlock and seccomp).')
      .argument('[command...]', 'the command to run, with its arguments'),
  )
    .version(version(), '-V, --version')
    .passThroughOptions()
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Commands:
  jail doctor                                what this kernel lets the jail enforce
  jail explain [options] PATH [--access A]   whether these options let the command
                                             read, write, exec or create PATH, and why
  jail explain [options] --connect HOST:PORT ... or connect there (TCP)
  jail profiles [show NAME]                  list the profiles, or print one resolved
  jail learn [options] [--save NAME] -- CMD  run CMD under a broad policy ($HOME
                                             read-only without its credentials),
                                             and print (or save) a profile of what
                                             it touched; jail learn --help says more

Examples:
  jail --ro . --rw ./src -- npx tsc          read the project, write only ./src
  jail --ro . --allow-host api.github.com -- node x
                                             HTTPS to that host, through jail's
                                             egress proxy, and nothing else
  jail --ro . --print-policy -- ls           show every rule and where it came from
  jail -p npm-install -- npm ci --offline    npm's cache through a private layer
                                             (--npm-cache): only verified content
                                             is kept; read-only without namespaces

Exit status: 125 if the jail fails, 126 if the command cannot run, 127 if it
is not found, else the command's own. Environment: JAIL_LANDLOCK_ABI=N uses at
most Landlock ABI N (for testing older kernels); JAIL_PLAN_STORE=off neither
stores nor reuses the plans of earlier runs (written jail FLAGS -- COMMAND).`,
    );
}

function version(): string {
   
  return (require('../../package.json') as { version: string }).version;
}

/** What main() is told besides argv: jail-sh knows a dependency's project. */
export interface MainContext {
  projectRoot?: string;
}

/** A status, or with an egress proxy serving while the command runs, a
 *  promise of one (bin/ sets process.exitCode either way). */
export type Status = number | Promise<number>;

export function main(argv: string[], ctx: MainContext = {}): Status {
  restoreNodeOptions(process.env);
  quietOnClosedPipe();
  // Subcommands come first and alone; `jail -- doctor` runs a program.
  if (argv[0] === 'doctor') {
    try {
      if (argv.length > 1) throw new PolicyError(`jail doctor takes no arguments (${argv.slice(1).map((a) => printable(a)).join(' ')} given).`, 'write jail doctor alone; to check a run, use jail --print-policy … -- COMMAND.');
      process.stdout.write(doctor(abiCap(process.env.JAIL_LANDLOCK_ABI), namespacesEnv(process.env.JAIL_NAMESPACES)));
      return 0;
    } catch (e) {
      return fail(e);
    }
  }
  if (argv[0] === 'explain') {
    try {
      return explainMain(argv.slice(1), ctx);
    } catch (e) {
      return fail(e);
    }
  }
  if (argv[0] === 'learn') {
    try {
      const status = learnMain(argv.slice(1), learnRunner(ctx));
      return typeof status === 'number' ? status : status.catch(fail);
    } catch (e) {
      return fail(e);
    }
  }
  if (argv[0] === 'profiles') {
    try {
      if (argv[1] !== undefined && (argv[1] !== 'show' || argv.length !== 3)) {
        throw new PolicyError(`jail profiles ${argv.slice(1).join(' ')}: unknown use.`, 'write jail profiles, or jail profiles show NAME.');
      }
      process.stdout.write(printableLines(profilesText(realHost(), process.env, argv[2])));
      return 0;
    } catch (e) {
      return fail(e);
    }
  }
  scanEtcEarly(argv);
  const cmd = program();
  try {
    const status = parseOrStatus(cmd, argv);
    if (status !== null) return status;
  } catch (e) {
    return fail(e);
  }
  try {
    const status = run(typedOptions(cmd), cmd.args, ctx, argv);
    return typeof status === 'number' ? status : status.catch(fail);
  } catch (e) {
    return fail(e);
  }
}

/**
 * `jail --help | head -3`: once the reader has gone, a write fails with
 * EPIPE (node ignores SIGPIPE), which would end in a stack trace. jail
 * writes to stdout only what was asked for (help, the policy, doctor's
 * report): it ends as `yes | head` ends, quietly, with the status of a
 * death by SIGPIPE (141). On stderr, a run's messages are dropped and the
 * status stays the command's.
 *
 * Start-up: the handlers go on each stream when something first touches
 * it (jail itself, commander, the egress proxy's reports), not before:
 * making process.stdout and process.stderr loads Node's stream, net and
 * tty modules (about 2 ms), and a plain run writes nothing. Node defines
 * both as lazy getters on process; each is wrapped to watch the stream it
 * makes. (Not touching a pipe also leaves it blocking for the command:
 * libuv sets O_NONBLOCK on a pipe it opens for process.stdout.)
 */
let pipeWatched = false;
function quietOnClosedPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  watchOnFirstUse('stdout', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(128 + os.constants.signals.SIGPIPE);
  });
  watchOnFirstUse('stderr', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

function watchOnFirstUse(name: 'stdout' | 'stderr', onError: (e: NodeJS.ErrnoException) => void): void {
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (!d?.get || !d.configurable) {
    process[name].on('error', onError); // not Node's lazy getter: watch it now
    return;
  }
  const get = d.get;
  let watched = false;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      const stream = get.call(process) as NodeJS.WriteStream;
      if (!watched) {
        watched = true;
        stream.on('error', onError);
      }
      return stream;
    },
  });
}

/** The subcommands, for a did-you-mean when a mistyped one is not found. */
const SUBCOMMANDS = ['doctor', 'explain', 'learn', 'profiles'];

/** What --print-policy shows the policy for when no command is given: the
 *  command adds only its own executable to the policy. */
const PLACEHOLDER = 'true';

function run(o: ReturnType<typeof typedOptions>, given: string[], ctx: MainContext, argv: string[]): Status {
  const firstWord = argv[0];
  const { printPolicy, json, verbose, ...options } = o;
  if (json && !printPolicy) throw new PolicyError('--json changes only what --print-policy prints, and --print-policy was not given.', 'add --print-policy to print the policy as JSON, or drop --json.');
  if (given.length === 0 && !printPolicy) {
    process.stderr.write('jail: no command given.\n  hint: write the command after the options, e.g. jail --ro . -- ls\n');
    return 125;
  }
  const args = given.length ? given : [PLACEHOLDER];
  if (!given.length) process.stderr.write(`jail: no command given: the policy below is for a placeholder command, ${PLACEHOLDER}; a command adds its own executable and interpreters.\n`);
  let facts;
  try {
    // A run tries the namespace layer for real and falls back if refused;
    // --print-policy probes, so that it prints the layer that would run.
    const ns = namespacesEnv(process.env.JAIL_NAMESPACES);
    facts = probe(abiCap(process.env.JAIL_LANDLOCK_ABI), ns === 'off' ? 'off' : printPolicy ? 'auto' : 'assume');
  } catch (e) {
    if (e instanceof NativeLoadError && e.unsupportedPlatform && options.bestEffort && !printPolicy) {
      const command = resolveCommand(args[0]!, realHost());
      process.stderr.write(`jail: WARNING: ${e.message}\njail: WARNING: --best-effort: running ${args[0]} UNCONFINED: it can read, write and send anything you can.\n`);
      return runUnconfined(command.file, args);
    }
    throw e;
  }
  const { made, created } = printPolicy ? { made: [], created: [] } : makeOutputDirs(options.rw, process.cwd(), process.env.HOME || os.homedir(), realHost().self);
  const key = printPolicy || verbose || ctx.projectRoot !== undefined ? null : storable(argv, given);
  const traced = key ? tracing(realHost(process.env), stampDir) : null;
  let p;
  try {
    p = prepare({ options, argv: args, env: process.env, implicitProfile: 'default', projectRoot: ctx.projectRoot, ...(!printPolicy && { egressPort: pickPort, randomBytes }) }, facts, traced?.host);
    if (!printPolicy) checkKeptFds(p.policy.keepFds);
  } catch (e) {
    // Bad input runs nothing and leaves nothing: the directories made for
    // --rw go again (still empty: nothing ran), deepest first.
    for (const d of [...created].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty or gone: leave it
      }
    }
    // `jail doctr`: a mistyped subcommand is looked up as a command.
    const meant = e instanceof CommandError && e.exitCode === 127 && firstWord !== undefined && firstWord === args[0] ? closest(firstWord, SUBCOMMANDS) : undefined;
    if (meant !== undefined) throw new CommandError(`${e instanceof Error ? e.message : ''}\n  hint: did you mean jail ${meant}?`, 127);
    throw e;
  }

  if (verbose) for (const d of made) process.stderr.write(printableLines(`jail: made ${d} (--rw: it did not exist)\n`));
  if (printPolicy) {
    const { plan, policy, command } = p;
    const shown = { ...p, verbose, environment: { passed: Object.keys(p.env).sort(), leftOut: p.droppedEnv } };
    process.stdout.write(json ? JSON.stringify(planToJson(plan, policy, command.file, args, shown), null, 2) + '\n' : printableLines(formatPlan(plan, policy, command.file, args, shown)));
    return 0;
  }
  const said = p.plan.dropped.map((d) => `jail: warning: --best-effort: running without ${d}\n`).join('') + p.warnings.map((w) => printableLines(`jail: warning: ${w}\n`)).join('');
  if (said) process.stderr.write(said);
  if (verbose) {
    const ll = p.plan.landlock;
    process.stderr.write(
      printableLines(
        `jail: layer: ${layerLine(p.plan)}\n` +
        (npmCacheLine(p.plan, p.policy) ? `jail: ${npmCacheLine(p.plan, p.policy)}\n` : '') +
        `jail: ${ll ? ll.paths.length : 0} path rules, ${ll?.ports.length ?? 0} port rules, seccomp ${p.plan.seccomp ? 'on' : 'off'}` +
          `${p.tmpDir ? `, TMPDIR ${p.tmpDir}` : ''}; running ${p.command.file}\n` +
          `jail: environment: left out ${p.droppedEnv.length ? p.droppedEnv.join(' ') : 'nothing'}\n`,
      ),
    );
  }
  const say = (line: string) => process.stderr.write(printableLines(`jail: ${line}\n`));
  // Stored before the run, while what it looked at is as it was (and so
  // that a command that dies of a signal, which ends this process, is
  // stored too); dropped again if the run falls back to another layer.
  const stored = key && traced ? storePlan(key, facts, traced.trace, p, said) : null;
  let ran = p.plan;
  const onFallback = (plan: JailPlan) => {
    if (stored) fs.rmSync(stored, { force: true });
    ran = plan;
    if (!verbose) return;
    say(`layer: ${layerLine(plan)}`);
    const cache = npmCacheLine(plan, p.policy);
    if (cache) say(cache);
  };
  const done = (status: number): number => {
    for (const hint of afterRunHints(p, ran, status)) say(hint);
    return status;
  };
  if (needsServices(p)) {
    const again = () => prepare({ options, argv: args, env: process.env, implicitProfile: 'default', projectRoot: ctx.projectRoot, egressPort: pickPort, randomBytes }, facts);
    return runWithServices(p, again, onFallback, verbose ? say : undefined).then(done);
  }
  return done(runPrepared(p, onFallback, verbose ? say : undefined));
}

/**
 * The store's key for this run (src/planstore.ts), when it may be stored:
 * written `jail FLAGS -- COMMAND …`, with commander taking everything after
 * that first `--` as the command (so the words before it decide the run).
 */
function storable(argv: string[], given: string[]): StoreKey | null {
  if (storeOff(process.env)) return null;
  const n = argv.indexOf('--');
  if (n < 0 || given.length === 0 || argv.length - n - 1 !== given.length || given.some((g, i) => g !== argv[n + 1 + i])) return null;
  try {
    return storeKey(argv, process.env, bundleId(DIST), hostAnswers.digest);
  } catch {
    return null;
  }
}

/** The most a stored trace may hold (as the library's kept plans). */
const MAX_STORED_CALLS = 5000;
const MAX_STORED_SIZE = 4 << 20;

/**
 * A run's plan into the store for the next run with the same key
 * (src/cli/fast.ts); the entry's path, or null when it is not stored. Not: a run that serves the
 * command (the egress proxy, the SSH agent: their ports and keys are made
 * per run), one with --secret or --report-denials, or one whose npm cache
 * goes through a private layer (merged afterwards), or one that sets a
 * variable's value. Best effort.
 */
function storePlan(key: StoreKey, facts: ProbeResult, trace: Trace, p: Prepared, said: string): string | null {
  const not = (why: string): null => {
    if (process.env.JAIL_DEBUG_STORE === '1') process.stderr.write(`jail: plan store: not stored: ${why}\n`);
    return null;
  };
  if (needsServices(p) || p.policy.secrets?.length || p.plan.observer || p.policy.npmCache) return not('a run with services, secrets, an observer or npm\'s private layer');
  // A value set by --env NAME=VALUE or a profile (a token for this one
  // command) would be written down twice, in the key's flags and the
  // command's environment, where a later jail that may read jail's package
  // finds it.
  if (Object.keys(p.policy.env.set).length) return not('a run that sets a variable\'s value (--env NAME=VALUE, a profile\'s env)');
  if (trace.calls.length > MAX_STORED_CALLS || trace.size > MAX_STORED_SIZE) return not('too much was looked at');
  try {
    const calls = storedCalls(trace, hostAnswers);
    if (!calls) return not('an answer of the host was an exception');
    const dir = storeDir(DIST, true);
    if (!dir) return not(`no store of this user's in ${DIST}/plans`);
    const run: StoredRun = {
      native: jailedNative(p.plan, { ...p.target, argv: [] }),
      layer: p.plan.layer,
      fallback: p.plan.fallback,
      tmpDir: p.tmpDir,
      files: p.files,
      afterRun: p.plan.afterRun,
      said,
      hints: {
        target: { argv: [] },
        env: { HOME: p.env.HOME, npm_config_offline: p.env.npm_config_offline },
        options: { toolchains: p.options.toolchains },
        command: { file: p.command.file, chain: p.command.chain },
        policy: { npmCache: null },
      },
    };
    const text = encodeRun(run, process.env);
    // A plan that names this process's own /proc directory fits no other.
    if (new RegExp(`/proc/${process.pid}(?![0-9])`).test(text)) return not('the plan names this process\'s /proc');
    const file = entryName(dir, key, hostAnswers.digest, true);
    if (!file) return not(`no salt of this user's in ${dir}`);
    return writeEntry(dir, file, { v: STORE_VERSION, key: key.key, env: key.env, facts: JSON.stringify(facts), calls: packCalls(calls), names: trace.names, run: text });
  } catch (e) {
    return not(e instanceof Error ? e.message : String(e)); // the next run prepares afresh
  }
}

/** How jail learn prepares and runs: as a run does, with the observer's
 *  records handed to it. */
function learnRunner(ctx: MainContext): LearnRunner {
  let facts: ReturnType<typeof probe> | undefined;
  let root: string | undefined;
  const probed = () => (facts ??= probe(abiCap(process.env.JAIL_LANDLOCK_ABI), namespacesEnv(process.env.JAIL_NAMESPACES) === 'off' ? 'off' : 'assume'));
  return {
    prepare: (options, argv, projectRoot) =>
      prepare({ options, argv, env: process.env, implicitProfile: 'default', projectRoot: (root = ctx.projectRoot ?? projectRoot), egressPort: pickPort, randomBytes }, probed()),
    execute: (p, onObserved) => {
      for (const d of p.plan.dropped) process.stderr.write(`jail: warning: --best-effort: running without ${d}\n`);
      for (const w of p.warnings) process.stderr.write(printableLines(`jail: warning: ${w}\n`));
      if (needsServices(p)) {
        const again = () => prepare({ options: p.options, argv: p.target.argv, env: process.env, implicitProfile: 'default', projectRoot: ctx.projectRoot ?? root, egressPort: pickPort, randomBytes }, probed());
        return runWithServices(p, again, () => {}, undefined, { onObserved });
      }
      return runPrepared(p, undefined, undefined, { onObserved });
    },
  };
}

/**
 * The proxy's port on the host's 127.0.0.1 (and, in the namespace layer,
 * inside the command's network namespace): random below Linux's ephemeral
 * range, where outgoing connections take theirs; a taken one is tried
 * again (runWithEgress).
 */
function pickPort(avoid: number[]): number {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!avoid.includes(port)) return port;
  }
}

/** Whether something serves the command from outside while it runs (the
 *  egress proxy): then the supervisor waits without blocking. */
function needsServices(p: Prepared): boolean {
  return p.policy.egress !== null || p.policy.sshAgent?.mode === 'confirm';
}

/**
 * A run with services: each starts before the command (the egress proxy
 * listens first, on another port when this one is taken, which means
 * preparing again), serves while it runs, and stops once everything
 * jailed has ended.
 */
async function runWithServices(p: Prepared, again: () => Prepared, onFallback: (plan: JailPlan) => void, say: ((line: string) => void) | undefined, opts: RunOptions = {}): Promise<number> {
  const services: Service[] = [];
  try {
    if (p.policy.egress) {
      // A bundle of its own (tools/build.mjs): only this run pays for it.
      const { EgressSession } = require('../egress/session.js') as typeof Egress;
      const session = new EgressSession(p.policy.net.hosts, p.policy.net.connect, say && ((line) => say(line)));
      const caFiles = p.policy.secrets?.length ? await session.useSecrets(process.env.NODE_EXTRA_CA_CERTS) : [];
      for (let tries = 1; ; tries++) {
        try {
          if (caFiles.length) useSecretValues(session, p, caFiles);
          // Every local user can connect there: only the jailed command's
          // sockets (its user's, held by a process) are served.
          await session.listenHost(p.policy.egress!.port, ownedBy(process.geteuid!(), tcpOwner));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries === 5) throw e;
          p = again();
        }
      }
      services.push(session);
      say?.(`egress: proxy on 127.0.0.1:${p.policy.egress!.port} for ${p.policy.net.hosts.map((h) => h.given).join(', ')}`);
    }
    if (p.policy.sshAgent?.mode === 'confirm') services.push(sshAgentService(p, say));
  } catch (e) {
    await Promise.all(services.map((s) => s.stop()));
    throw e;
  }
  return runPreparedAsync(p, allOf(services), onFallback, say, opts);
}

/** n random bytes (--secret's placeholders). */
function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * --secret: the real values, from jail's own environment by name, go to
 * the proxy only; the CA's certificate files join the TMPDIR's (the
 * prepared run is plain data, written by materialize when it starts).
 * Again for each try of a port: preparing again makes new placeholders.
 */
function useSecretValues(session: Egress.EgressSession, p: Prepared, caFiles: Array<{ name: string; text: string }>): void {
  session.setSecrets((p.policy.secrets ?? []).map((s) => ({ name: s.name, placeholder: s.placeholder, value: process.env[s.name] ?? '', hosts: s.hosts })));
  const names = new Set(caFiles.map((f) => f.name));
  p.files = [...p.files.filter((f) => !names.has(f.name)), ...caFiles];
}

/**
 * --ssh-agent confirm: jail's agent (a bundle of its own, loaded only
 * here), listening once the private TMPDIR exists.
 */
function sshAgentService(p: Prepared, say: ((line: string) => void) | undefined): Service {
  const agent = p.policy.sshAgent!;
  const { SshAgentSession, timeoutFromEnv } = require('../sshagent/session.js') as typeof SshAgent;
  let timeoutMs: number;
  try {
    timeoutMs = timeoutFromEnv(process.env.JAIL_SSH_AGENT_TIMEOUT);
  } catch (e) {
    throw new PolicyError((e as Error).message + '.', 'set it to the seconds a prompt waits for your answer (60 by default), or unset it.');
  }
  if (p.plan.layer === 'landlock' && p.policy.net.unix) {
    process.stderr.write(printableLines(`jail: warning: --ssh-agent confirm with --allow-unix in this layer: every UNIX socket the file system reaches is open, the real agent's (${agent.upstream}) included; only programs that use SSH_AUTH_SOCK are asked about.\n`));
  }
  const session = new SshAgentSession(agent, { timeoutMs, env: process.env, ...(say && { log: say }) });
  return {
    beforeStart: async () => {
      await session.listen();
      say?.(`ssh agent: jail's agent on ${agent.socket}, forwarding to ${agent.upstream} what you confirm`);
    },
    attach: (plan, fds) => session.attach(plan, fds),
    stop: () => session.stop(),
  };
}

/**
 * `jail explain [flags] PATH --access A [-- command...]`, or `--connect
 * HOST:PORT`: the plan a run with these flags would apply, assembled and
 * compiled by the same code, asked whether it allows the access. Exit 0
 * when it does, 1 when it does not.
 */
function explainMain(argv: string[], ctx: MainContext): number {
  // What follows -- is the command, whose own executable joins the policy.
  const dd = argv.indexOf('--');
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const command = dd < 0 ? [] : argv.slice(dd + 1);
  const cmd = addOptions(
    new Command('jail explain')
      .usage('[options] PATH [--access read|write|exec|create] [-- command...]\n       jail explain [options] --connect HOST:PORT')
      .description('Say whether a jail with these options lets the command reach PATH (or a TCP port), and why: the rule and where it came from, or the flag that would allow it. Runs nothing. Exit 0 if allowed, 1 if not.')
      .argument('[path]', 'the path to ask about'),
  )
    .addOption(new Option('--access <access>', 'what to ask about (default read)').choices(ACCESSES))
    .option('--connect <host:port>', 'ask about a TCP connection instead of a path');
  const status = parseOrStatus(cmd, own);
  if (status !== null) return status;
  const { printPolicy, json, verbose: _verbose, ...options } = typedOptions(cmd);
  if (printPolicy || json) throw new PolicyError('jail explain prints no policy.', 'drop --print-policy and --json, or use jail --print-policy.');
  const o = cmd.opts<{ access?: Access; connect?: string }>();
  const path = cmd.args[0];
  if ((path === undefined) === (o.connect === undefined)) {
    throw new PolicyError('jail explain needs a PATH, or --connect HOST:PORT (not both).', 'e.g. jail explain --ro . ./src/index.ts --access write');
  }
  if (o.connect !== undefined && o.access !== undefined) throw new PolicyError('--access is for a PATH; --connect asks about TCP connect.', 'drop --access.');
  const host = realHost();
  let query: Query;
  if (o.connect !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(o.connect);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new PolicyError(`--connect ${o.connect}: not HOST:PORT.`, 'e.g. --connect registry.npmjs.org:443');
    query = { connect: { host: m[1]!, port } };
  } else {
    query = { path: absolute(path!, host), access: o.access ?? 'read' };
  }
  const ns = namespacesEnv(process.env.JAIL_NAMESPACES);
  const facts = probe(abiCap(process.env.JAIL_LANDLOCK_ABI), ns === 'off' ? 'off' : 'auto');
  const p = prepare({ options, argv: command.length ? command : [PLACEHOLDER], env: process.env, implicitProfile: 'default', projectRoot: ctx.projectRoot }, facts, host);
  const r = explain(p.plan, p.policy, host, query);
  const layer = p.plan.layer === 'namespaces' ? 'the namespace layer' : 'Landlock and seccomp only';
  process.stdout.write(printableLines(`${r.verdict}\n${r.why.map((l) => `  ${l}\n`).join('')}  (in ${layer}${command.length ? '' : `; for a placeholder command, ${PLACEHOLDER}`})\n`));
  return r.allowed ? 0 : 1;
}

/** Off Linux, with --best-effort: run the command as a child, pass its
 *  status on, and die of its signal if it died of one. */
function runUnconfined(file: string, argv: string[]): number {
  // Required here, not imported: see lazy-child-process.ts.
   
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(file, argv.slice(1), { stdio: 'inherit', argv0: argv[0] });
  if (r.error) throw new CommandError(`jail: ${argv[0]}: ${r.error.message}`, 126);
  if (r.signal) {
    process.kill(process.pid, r.signal);
    return 128 + (os.constants.signals[r.signal] ?? 0);
  }
  return r.status ?? 125;
}

/**
 * jail-sh, npm's script-shell: `jail-sh -c SCRIPT` in a package directory.
 * A dependency's project is its own package directory, from the path npm
 * runs its scripts in (node_modules/<name>), never searched for upwards: a
 * preinstall that renames its own package.json must not make the next
 * script's search land on your project. After each of its scripts, the
 * files it names as its bins must still lie inside it: npm links bins after
 * `preinstall`, outside the jail, and chmods (even rewrites) their targets,
 * so a bin made a symlink to ~/.ssh/id_rsa would turn the key 0755.
 */
export function scriptShell(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Status {
  restoreNodeOptions(env);
  if (argv[0] === '--help' || argv[0] === '-h') {
    // Passed on, sh would say "Illegal option --".
    process.stdout.write(
      'Usage: jail-sh -c SCRIPT [NAME [ARGS...]]\n\n' +
        "npm's script-shell: runs each script with /bin/sh -c inside a jail, install-time scripts of\n" +
        'dependencies with the npm-install profile, the project\'s scripts with the profile named like\n' +
        'the script, else default. Set it in .npmrc: script-shell=/absolute/path/to/jail-sh\n',
    );
    return 0;
  }
  let profile: string;
  const dependency = dependencyRoot(cwd);
  try {
    const host = realHost(env, cwd);
    const config = loadConfig(configContext(host, { env, nodeExecPath: process.execPath, ...(dependency && { projectRoot: dependency }) }));
    profile = profileForScript(env.npm_lifecycle_event, cwd, (name) => config.profiles.has(name));
    // A profile only the project declares may extend one of your user
    // profiles, or a built-in that grants what is yours (claude, codex:
    // profiles.ts YOUR_GRANTS), and the project picks which script runs
    // with it: jail-sh does not hand your own grants to a project's choice
    // this way.
    const decls = config.profiles.get(profile) ?? [];
    if (decls.length && decls.every((d) => d.layer === 'project')) {
      resolveProfile(config, profile); // the project rule, first
      const yours = linearise(config, profile).find((n) => (config.profiles.get(n) ?? []).some((d) => d.layer === 'user' || (d.layer === 'built-in' && YOUR_GRANTS.has(n))));
      if (yours !== undefined) {
        const what = (config.profiles.get(yours) ?? []).some((d) => d.layer === 'user') ? 'your user config' : `the built-in "${yours}" (your agent's files and API key)`;
        process.stderr.write(`jail-sh: profile "${profile}" comes from the project and extends ${what}; using "default" (run jail -p ${profile} yourself to use it).\n`);
        profile = 'default';
      }
    }
  } catch (e) {
    return fail(e);
  }
  const status = main(['-p', profile, '--', '/bin/sh', ...argv], dependency ? { projectRoot: dependency } : {});
  if (dependency === null) return status;
  return typeof status === 'number' ? escapedBins(dependency, status, env, cwd) : status.then((s) => escapedBins(dependency, s, env, cwd));
}

/** After a dependency's script: a bin of it that leads outside its
 *  package fails the script (npm would change that file outside the jail). */
function escapedBins(dependency: string, status: number, env: NodeJS.ProcessEnv, cwd: string): number {
  try {
    const escaped = binsOutside(dependency, realHost(env, cwd));
    if (escaped.length === 0) return status;
    process.stderr.write(
      printableLines(`jail-sh: ${dependency}: its bin ${escaped.map((e) => `${e.bin} leads to ${e.target}`).join(', ')}, outside the package; npm would change ${escaped.length > 1 ? 'those files' : 'that file'} outside the jail. The script fails.\n`),
    );
  } catch (e) {
    fail(e);
  }
  return 125;
}

function fail(e: unknown): number {
  if (e instanceof CommandError) {
    process.stderr.write(printableLines(e.message) + '\n');
    return e.exitCode;
  }
  process.stderr.write(printableLines(formatError(e)));
  return 125;
}
