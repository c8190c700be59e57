/**
 * The `jail` command: flags → policy → plan → exec. Exit status: 125 when
 * the jail itself fails, 126/127 when the command cannot be run or found,
 * otherwise the command's own (it replaces this process).
 */
import { Command, CommanderError, Option } from 'commander';
import os = require('node:os');
import { CommandError, NativeLoadError, PolicyError } from '../errors.js';
import { realHost } from '../host.js';
import { probe } from '../native/apply.js';
import { parseFd, type JailOptions } from '../policy/build.js';
import { resolveCommand } from '../policy/command.js';
import { prepare, runPrepared } from '../run.js';
import { doctor } from './doctor.js';
import { configContext, hasProfile, profilesText, withProfile } from './profile.js';
import { profileForScript } from './script-shell.js';
import { loadConfig, resolveProfile } from '../policy/config.js';
import { formatError, formatPlan, planToJson } from './report.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const collectFd = (v: string, prev: number[] = []) => [...prev, parseFd(v)];
// `--allow-unix` alone is true (commander's value for a bare optional);
// with a path it collects. Either way the result is a list.
const collectUnix = (v: string, prev: Array<string | true> | true | undefined) => [...unixList(prev), v];
const unixList = (v: Array<string | true> | true | undefined): Array<string | true> => (v === true ? [true] : (v ?? []));

export function program(): Command {
  return new Command('jail')
    .usage('[options] [--] <command> [args...]')
    .description('Run a command with only the files and network it was given (Landlock and seccomp).')
    .argument('[command...]', 'the command to run, with its arguments')
    .option('-p, --profile <name>', 'start from a named profile (jail profiles lists them); flags add to it')
    .option('--ro <path>', 'read and execute PATH (repeatable); a trailing ? skips a missing path', collect)
    .option('--rw <path>', 'read, write, create and delete under PATH (repeatable)', collect)
    .option('--no-system', 'leave out the system base (/usr, /etc, /proc, /dev/null, …)')
    .addOption(new Option('--net <mode>', 'network: none (TCP only to allowed ports) or all').choices(['none', 'all']).default('none'))
    .option('--allow-connect <port>', 'allow TCP connect to PORT or a range like 8000-8100 (repeatable)', collect)
    .option('--allow-bind <port>', 'allow TCP bind to PORT or a range (repeatable)', collect)
    .option('--allow-dns', 'allow UDP for name lookups (all UDP before Landlock ABI 10)')
    .option('--allow-unix [path]', 'allow UNIX sockets: all of them, or one socket PATH (Landlock ABI 9)', collectUnix)
    .option('--allow-raw-sockets', 'allow raw and packet sockets')
    .option('--allow-sysv-ipc', 'allow System V shared memory, semaphores and message queues')
    .option('--allow-syscall <name>', 'remove the deny rule for one syscall (repeatable)', collect)
    .option('--env <name[=value]>', 'pass variable NAME through, or set NAME=VALUE (repeatable)', collect)
    .option('--env-all', 'pass the whole environment, secrets included')
    .option('--clean-env', 'pass only PATH, HOME, TERM, LANG, LC_*, USER, SHELL, TZ (and --env)')
    .option('--no-private-tmp', 'no private TMPDIR: run without a supervisor, the command replacing jail')
    .option('--toolchains', 'read and execute the toolchains under $HOME that PATH names (pyenv, nvm, ~/.cargo/bin, ~/bin)')
    .option('--keep-caps', 'keep capabilities (by default the command runs with none)')
    .option('--keep-fd <n>', 'pass inherited file descriptor N on to the command (repeatable)', collectFd)
    .option('--log-denials', 'ask the kernel to audit-log what the jail denies (Landlock ABI 7)')
    .option('--best-effort', 'run with what the kernel can enforce, and say on stderr what was left out')
    .option('--print-policy', 'print the compiled policy and run nothing')
    .option('--json', 'with --print-policy: print JSON')
    .option('-v, --verbose', 'say what the jail does on stderr')
    .version(version(), '-V, --version')
    .passThroughOptions()
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Commands:
  jail doctor                                what this kernel lets the jail enforce
  jail profiles [show NAME]                  list the profiles, or print one resolved

Examples:
  jail --ro . --rw ./src -- npx tsc          read the project, write only ./src
  jail --ro . --allow-connect 443 -- node x  add outgoing TCP to port 443
  jail --ro . --print-policy -- ls           show every rule and where it came from

Exit status: 125 if the jail fails, 126 if the command cannot run, 127 if it
is not found, else the command's own. Environment: JAIL_LANDLOCK_ABI=N uses at
most Landlock ABI N (for testing older kernels).`,
    );
}

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

interface CliOptions {
  profile?: string;
  ro?: string[];
  rw?: string[];
  system: boolean;
  net: 'none' | 'all';
  allowConnect?: string[];
  allowBind?: string[];
  allowDns?: boolean;
  allowUnix?: Array<string | true> | true;
  allowRawSockets?: boolean;
  allowSysvIpc?: boolean;
  allowSyscall?: string[];
  keepCaps?: boolean;
  keepFd?: number[];
  logDenials?: boolean;
  env?: string[];
  envAll?: boolean;
  cleanEnv?: boolean;
  privateTmp: boolean;
  toolchains?: boolean;
  bestEffort?: boolean;
  printPolicy?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function main(argv: string[]): number {
  // Subcommands come first and alone; `jail -- doctor` runs a program.
  if (argv[0] === 'doctor') {
    try {
      process.stdout.write(doctor(abiCap(process.env.JAIL_LANDLOCK_ABI)));
      return 0;
    } catch (e) {
      return fail(e);
    }
  }
  if (argv[0] === 'profiles') {
    try {
      if (argv[1] !== undefined && (argv[1] !== 'show' || argv.length !== 3)) {
        throw new PolicyError(`jail profiles ${argv.slice(1).join(' ')}: unknown use.`, 'write jail profiles, or jail profiles show NAME.');
      }
      process.stdout.write(profilesText(realHost(), process.env, argv[2]));
      return 0;
    } catch (e) {
      return fail(e);
    }
  }
  const cmd = program();
  cmd.exitOverride().configureOutput({
    outputError: (str, write) => write(`jail: ${str.replace(/^error: /, '')}`),
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 125;
    return fail(e);
  }
  const o = cmd.opts<CliOptions>();
  const args = cmd.args;
  // Only what was typed goes on top of a profile, not commander's defaults.
  const given = new Set(Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
  try {
    return run(o, args, given);
  } catch (e) {
    return fail(e);
  }
}

function run(o: CliOptions, args: string[], given: Set<string>): number {
  if (args.length === 0) {
    process.stderr.write('jail: no command given.\n  hint: write the command after the options, e.g. jail --ro . -- ls\n');
    return 125;
  }
  const flags: JailOptions = {
    ro: o.ro,
    rw: o.rw,
    system: o.system,
    net: o.net,
    allowConnect: o.allowConnect,
    allowBind: o.allowBind,
    allowDns: o.allowDns,
    allowUnix: unixList(o.allowUnix),
    allowRawSockets: o.allowRawSockets,
    allowSysvIpc: o.allowSysvIpc,
    allowSyscall: o.allowSyscall,
    keepCaps: o.keepCaps,
    keepFd: o.keepFd,
    logDenials: o.logDenials,
    env: o.env,
    envAll: o.envAll,
    cleanEnv: o.cleanEnv,
    privateTmp: o.privateTmp,
    toolchains: o.toolchains,
  };
  // A profile: the one named, or `default` when no path was given at all.
  const profile = o.profile ?? (o.ro || o.rw ? undefined : 'default');
  let options = flags;
  if (profile) {
    const typed = Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && given.has(k))) as JailOptions;
    options = withProfile(profile, typed, realHost(), process.env).options;
  }
  let facts;
  try {
    facts = probe(abiCap(process.env.JAIL_LANDLOCK_ABI));
  } catch (e) {
    if (e instanceof NativeLoadError && e.unsupportedPlatform && o.bestEffort && !o.printPolicy) {
      const command = resolveCommand(args[0]!, realHost());
      process.stderr.write(`jail: WARNING: ${e.message}\njail: WARNING: --best-effort: running ${args[0]} UNCONFINED: it can read, write and send anything you can.\n`);
      return runUnconfined(command.file, args);
    }
    throw e;
  }
  const p = prepare({ options, argv: args, bestEffort: o.bestEffort, dryRun: o.printPolicy }, facts);

  if (o.printPolicy) {
    const { plan, policy, command } = p;
    process.stdout.write(o.json ? JSON.stringify(planToJson(plan, policy, command.file, args), null, 2) + '\n' : formatPlan(plan, policy, command.file, args));
    return 0;
  }
  for (const d of p.plan.dropped) process.stderr.write(`jail: warning: --best-effort: running without ${d}\n`);
  if (o.verbose) {
    const ll = p.plan.landlock;
    process.stderr.write(
      `jail: ${ll ? ll.paths.length : 0} path rules, ${ll?.ports.length ?? 0} port rules, seccomp ${p.plan.seccomp ? 'on' : 'off'}` +
        `${p.tmpDir ? `, TMPDIR ${p.tmpDir}` : ''}; running ${p.command.file}\n` +
        `jail: environment: left out ${p.droppedEnv.length ? p.droppedEnv.join(' ') : 'nothing'}\n`,
    );
  }
  return runPrepared(p);
}

/** Off Linux, with --best-effort: run the command as a child, pass its
 *  status on, and die of its signal if it died of one. */
function runUnconfined(file: string, argv: string[]): number {
  // Required here, not imported: see lazy-child-process.ts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(file, argv.slice(1), { stdio: 'inherit', argv0: argv[0] });
  if (r.error) throw new CommandError(`jail: ${argv[0]}: ${r.error.message}`, 126);
  if (r.signal) {
    process.kill(process.pid, r.signal);
    return 128 + (os.constants.signals[r.signal] ?? 0);
  }
  return r.status ?? 125;
}

/** jail-sh, npm's script-shell: `jail-sh -c SCRIPT` in a package directory. */
export function scriptShell(argv: string[], env: NodeJS.ProcessEnv, cwd: string): number {
  let profile = 'default';
  try {
    const host = realHost(env, cwd);
    const config = loadConfig(configContext(host, env));
    profile = profileForScript(env.npm_lifecycle_event, cwd, (name) => hasProfile(config, name));
    // A profile only the project declares may extend one of your user
    // profiles, and the project picks which script runs with it: jail-sh
    // does not hand your own grants to a project's choice this way.
    const decls = config.profiles.get(profile) ?? [];
    if (decls.length && decls.every((d) => d.layer === 'project') && resolveProfile(config, profile).chain.some((c) => /\buser \//.test(c))) {
      process.stderr.write(`jail-sh: profile "${profile}" comes from the project and extends your user config; using "default" (run jail -p ${profile} yourself to use it).\n`);
      profile = 'default';
    }
  } catch (e) {
    return fail(e);
  }
  return main(['-p', profile, '--', '/bin/sh', ...argv]);
}

function abiCap(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new PolicyError(`JAIL_LANDLOCK_ABI=${v}: not an ABI number.`, 'set it to a whole number such as 3, or unset it.');
  }
  return n;
}

function fail(e: unknown): number {
  if (e instanceof CommandError) {
    process.stderr.write(e.message + '\n');
    return e.exitCode;
  }
  process.stderr.write(formatError(e));
  return 125;
}
