/**
 * spawn() and run(): a jailed command as a child process, with
 * child_process.spawn's semantics (stdio pipe/inherit/ignore, exit and close
 * events, kill). The child is the `jail` command itself, which supervises
 * the jailed program, so a jail failure is exit status 125 as on the
 * command line.
 */
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path = require('node:path');
import { packageRoot } from './native/binding.js';
import type { JailOptions } from './policy/build.js';
import type { PathEntry } from './policy/paths.js';

export interface JailSpawnOptions extends JailOptions {
  /** Run with what the kernel can enforce (see --best-effort). */
  bestEffort?: boolean;
}

const pathOf = (e: PathEntry) => (typeof e === 'string' ? e : e.path);

/** The command-line flags that say the same as `opts`. */
export function toArgs(opts: JailSpawnOptions): string[] {
  const a: string[] = [];
  const many = (flag: string, xs: readonly (string | number)[] | undefined) => xs?.forEach((x) => a.push(flag, String(x)));
  const one = (flag: string, on: boolean | undefined) => on && a.push(flag);
  many('--ro', opts.ro?.map(pathOf));
  many('--rw', opts.rw?.map(pathOf));
  if (opts.system === false) a.push('--no-system');
  if (opts.net) a.push('--net', opts.net);
  many('--allow-connect', opts.allowConnect);
  many('--allow-bind', opts.allowBind);
  one('--allow-dns', opts.allowDns);
  for (const u of opts.allowUnix ?? []) a.push(...(u === true ? ['--allow-unix'] : ['--allow-unix', u]));
  one('--allow-raw-sockets', opts.allowRawSockets);
  one('--allow-sysv-ipc', opts.allowSysvIpc);
  many('--allow-syscall', opts.allowSyscall);
  one('--keep-caps', opts.keepCaps);
  many('--keep-fd', opts.keepFd);
  one('--log-denials', opts.logDenials);
  many('--env', opts.env);
  one('--env-all', opts.envAll);
  one('--clean-env', opts.cleanEnv);
  if (opts.privateTmp === false) a.push('--no-private-tmp');
  one('--toolchains', opts.toolchains);
  one('--best-effort', opts.bestEffort);
  return a;
}

/**
 * Like child_process.spawn(command, args, options), jailed by `policy`:
 *
 *   const child = spawn({ ro: ['.'] }, 'ls', ['-l'], { stdio: 'pipe' });
 *   child.stdout.pipe(process.stdout);
 *   child.on('exit', (code, signal) => …);
 */
export function spawn(policy: JailSpawnOptions, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  const jail = path.join(packageRoot(), 'bin', 'jail.js');
  return spawnChild(process.execPath, [jail, ...toArgs(policy), '--', command, ...args], options);
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
  const child = spawn(policy, command, args, { ...rest, stdio: ['pipe', 'pipe', 'pipe'] });
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
