/**
 * spawn() and run(): a jailed command as a child process, with
 * child_process.spawn's semantics (stdio pipe/inherit/ignore, exit and close
 * events, kill). The plan is compiled in this process and the addon starts
 * the jailed program directly (inproc.ts); runs that path cannot serve yet
 * (services beside the command, spawn options it lacks) start the `jail`
 * command instead, which supervises the program. Either way a jail failure
 * is exit status 125 as on the command line. `child.jailPath` says which
 * ran (JAIL_DEBUG_SPAWN=1 says it on stderr).
 *
 * The options are checked against the option registry here, in the
 * caller's process: an unknown key or a value of the wrong kind throws a
 * PolicyError at once, and every value goes on the command line in the
 * `--flag=VALUE` form, which cannot be read as another flag.
 */
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path = require('node:path');
import { PolicyError } from './errors.js';
import { envOf, spawnInProcess, type SpawnPath } from './inproc.js';
import { packageRoot } from './native/binding.js';
import { NO_PROFILE } from './policy/assemble.js';
import { checkApiOptions } from './policy/config.js';
import { longFlag, OPTIONS, type JailOptions, type OptionName } from './policy/options.js';

/** The policy: the flags' names in camelCase. Without `profile`, nothing
 *  is granted beyond the system base and the command. */
export type JailSpawnOptions = JailOptions;

/** The command-line flags that say the same as `opts` (checked first). */
export function toArgs(opts: JailSpawnOptions): string[] {
  checkApiOptions(opts as Record<string, unknown>);
  const a: string[] = [];
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const name = key as OptionName;
    const flag = longFlag(name);
    switch (OPTIONS[name].kind) {
      case 'switch':
        if (value === true) a.push(flag);
        break;
      case 'negated':
        if (value === false) a.push(flag);
        break;
      case 'unix':
        for (const u of value as Array<string | true>) a.push(u === true ? flag : `${flag}=${u}`);
        break;
      case 'choice':
      case 'name':
        a.push(`${flag}=${value as string}`);
        break;
      default:
        for (const v of value as Array<string | number | { path: string }>) a.push(`${flag}=${typeof v === 'object' ? v.path : v}`);
    }
  }
  // The API never falls back to the CLI's default profile: an empty
  // policy means nothing but the system base.
  if (opts.profile === undefined) a.push(`${longFlag('profile')}=${NO_PROFILE}`);
  return a;
}

/** Options of child_process.spawn that would run something outside the
 *  jail, or change what runs. */
const REFUSED: Array<keyof SpawnOptions> = ['shell', 'argv0'];

/**
 * Like child_process.spawn(command, args, options), jailed by `policy`:
 *
 *   const child = spawn({ ro: ['.'] }, 'ls', ['-l'], { stdio: 'pipe' });
 *   child.stdout.pipe(process.stdout);
 *   child.on('exit', (code, signal) => …);
 */
export function spawn(policy: JailSpawnOptions, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  for (const key of REFUSED) {
    if (options[key] !== undefined && options[key] !== false) {
      throw new PolicyError(
        `spawn option "${key}" is not supported: ${key === 'shell' ? 'the shell would run outside the jail, and the commands after && with it' : 'the jail runs the command by its own name'}.`,
        key === 'shell' ? "jail the shell itself: spawn(policy, '/bin/sh', ['-c', script])." : 'leave it out.',
      );
    }
  }
  const flags = toArgs(policy); // checks the options: a bad one throws here
  const inProcess = spawnInProcess(policy, command, args, options);
  if (process.env.JAIL_DEBUG_SPAWN === '1') process.stderr.write(`jail: spawn: ${inProcess.path.path}${inProcess.path.why ? ` (${inProcess.path.why})` : ''}\n`);
  if (inProcess.child) return inProcess.child;
  const jail = path.join(packageRoot(), 'bin', 'jail.cjs');
  const argv = [jail, ...flags, '--', command, ...args];
  // The supervisor runs outside the jail: NODE_OPTIONS (a --require) must
  // not load code into it. It reaches the command, filtered, as on the CLI.
  const env = envOf(options.env ?? process.env); // inherited variables too, as child_process reads them
  if (env.NODE_OPTIONS !== undefined) {
    env.JAIL_NODE_OPTIONS = env.NODE_OPTIONS;
    delete env.NODE_OPTIONS;
  }
  const child = spawnChild(process.execPath, argv, { ...options, env });
  (child as ChildProcess & { jailPath: SpawnPath }).jailPath = inProcess.path;
  return child;
}

export interface RunResult {
  /** The command's exit status, 125 for the jail's own failure, null when killed. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run to completion and collect the output:
 *
 *   const { status, stdout } = await run({ ro: ['.'] }, 'cat', ['package.json']);
 */
export function run(policy: JailSpawnOptions, command: string, args: readonly string[] = [], options: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  const { input, ...rest } = options;
  let child: ChildProcess;
  try {
    child = spawn(policy, command, args, { ...rest, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    return Promise.reject(e as Error);
  }
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
