/**
 * Integration harness: runs the built CLI on the real kernel against a
 * temporary world (a fake HOME full of fake secrets, a project, an outside
 * directory) and lets tests judge from outside the jail.
 */
import { execFileSync, spawn, spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, inject, it, test } from 'vitest';
import { describeKernel, probeKernel, type KernelFacts } from '../kernel-facts.js';

export const REPO = path.resolve(__dirname, '..', '..');
export const JAIL = path.join(REPO, 'bin', 'jail.cjs');
export const NODE = process.execPath;
export const IS_ROOT = process.getuid?.() === 0;

/**
 * The kernel the jails run on, probed once per run (test/global-setup.ts).
 * `landlockAbi` is the ABI the jail uses: the kernel's, lowered by
 * JAIL_LANDLOCK_ABI, which every world's environment passes on to the CLI.
 */
export const kernel: KernelFacts = inject('kernel') ?? probeKernel(); // probed here only when run without vitest.config.mts
/** "Landlock ABI 3 (the kernel's 7, capped by JAIL_LANDLOCK_ABI=3)", for skip reasons. */
export const thisKernel = describeKernel(kernel);

/** `it`, `test` and `describe` that run, or skip saying why in the name. */
export interface Gated {
  it: typeof it;
  test: typeof test;
  describe: typeof describe;
}

/**
 * Run only when `ok`; otherwise skip, appending " [skipped: WHY]" to the
 * test's or suite's name (test/skip-reasons.ts counts them at the end).
 * When `ok`, these are vitest's own `it`, `test` and `describe`.
 *
 *   needs(IS_ROOT, 'runs as root').it('reads /etc/shadow only when granted', …)
 */
export function needs(ok: boolean, why: string): Gated {
  if (ok) return { it, test, describe };
  const suffix = ` [skipped: ${why}]`;
  // The skipping API, renaming what it registers; .each/.for/.only/… chain on.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const renaming = (f: any): any =>
    new Proxy(f, {
      apply: (target, self, [name, ...rest]: unknown[]) => Reflect.apply(target, self, [typeof name === 'string' ? name + suffix : name, ...rest]),
      get: (target, prop) => {
        if (prop === 'skipIf' || prop === 'runIf') return () => renaming(target);
        const v = Reflect.get(target, prop);
        if (prop === 'each' || prop === 'for') return (...table: unknown[]) => renaming(Reflect.apply(v, target, table));
        return typeof v === 'function' ? renaming(v) : v;
      },
    });
  return { it: renaming(it.skip), test: renaming(test.skip), describe: renaming(describe.skip) };
}

/** The layer this run's jails use: some denials differ in kind (ENOENT
 *  where a path is not in the view, ECONNREFUSED in a network of its own,
 *  where the fallback says EACCES or EPERM); what they deny does not. */
export const LAYER: 'namespaces' | 'landlock' = kernel.namespaces.ok ? 'namespaces' : 'landlock';
export const inFallback = LAYER === 'landlock';

/** Tests of the namespace layer: they skip where it is not in force. */
export const inNamespaces = (why: string): Gated => needs(kernel.namespaces.ok, `needs the namespace layer (${why}); here: ${kernel.namespaces.why}`);

/** Whether the jail's Landlock ABI (after JAIL_LANDLOCK_ABI) is below `n`. */
export const lacksAbi = (n: number): boolean => kernel.landlockAbi < n;

/**
 * Tests that need Landlock ABI `n` from the jail (after JAIL_LANDLOCK_ABI);
 * below it they skip with the reason in their name:
 *
 *   needsAbi(4, 'TCP port rules').it('--allow-connect lets one port through', …)
 *   needsAbi(7, 'audit log flags').describe('--log-denials', () => { … })
 */
export function needsAbi(n: number, why: string): Gated {
  return needs(!lacksAbi(n), `needs Landlock ABI ${n} (${why}); this kernel: ${thisKernel}`);
}

/**
 * For tests that set JAIL_LANDLOCK_ABI themselves to simulate ABI `n`: they
 * need a kernel that has it, whatever cap the run was given.
 */
export function needsKernelAbi(n: number, why: string): Gated {
  return needs(kernel.addonError === null && kernel.landlockAbiFound >= n, `needs a kernel with Landlock ABI ${n} (${why}); this kernel: ${kernel.addonError ?? `Landlock ABI ${kernel.landlockAbiFound}`}`);
}

/**
 * What a jail without --best-effort needs: the default policy scopes signals
 * and abstract UNIX sockets (ABI 6) and keeps read-only files from being
 * truncated (ABI 3); below 6 the CLI refuses with exit 125.
 *
 *   strictJail.describe('UDP', () => { … })
 */
export const strictJail: Gated = needsAbi(6, 'signal scoping; without --best-effort, jail refuses below 6');

export interface World {
  root: string;
  home: string;
  proj: string;
  outside: string;
  secrets: { ssh: string; aws: string; npmrc: string };
  env: NodeJS.ProcessEnv;
  trySyscall: string;
}

/** A fresh world, world-readable so that only the jail stands between an
 *  unprivileged user and the secrets. */
export function makeWorld(tag: string): World {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `jail-it-${tag}-`));
  fs.chmodSync(root, 0o755);
  const home = path.join(root, 'home');
  const proj = path.join(root, 'proj');
  const outside = path.join(root, 'outside');
  const rnd = () => Math.random().toString(36).slice(2, 10);
  const secrets = { ssh: `SSH-SECRET-${rnd()}`, aws: `AWS-SECRET-${rnd()}`, npmrc: `NPM-TOKEN-${rnd()}` };
  const write = (p: string, s: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    fs.writeFileSync(p, s, { mode });
    fs.chmodSync(p, mode);
  };
  write(path.join(home, '.ssh', 'id_ed25519'), secrets.ssh + '\n');
  write(path.join(home, '.aws', 'credentials'), `[default]\naws_secret_access_key = ${secrets.aws}\n`);
  write(path.join(home, '.npmrc'), `//registry.npmjs.org/:_authToken=${secrets.npmrc}\n`);
  write(path.join(proj, 'README.md'), 'project readme\n');
  write(path.join(proj, 'src', 'index.js'), 'console.log(1)\n');
  write(path.join(outside, 'keep.txt'), 'outside original\n');
  for (const d of [home, proj, outside, path.join(home, '.ssh'), path.join(home, '.aws'), path.join(proj, 'src')]) fs.chmodSync(d, 0o777);
  const trySyscall = path.join(root, 'try-syscall');
  execFileSync('cc', ['-O1', '-o', trySyscall, path.join(__dirname, 'fixtures', 'try-syscall.c')]);
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    // The run's simulated kernel reaches every jail started with this env.
    ...(kernel.abiCap !== null ? { JAIL_LANDLOCK_ABI: String(kernel.abiCap) } : {}),
    ...(process.env.JAIL_NAMESPACES ? { JAIL_NAMESPACES: process.env.JAIL_NAMESPACES } : {}),
  };
  return { root, home, proj, outside, secrets, env, trySyscall };
}

export function removeWorld(w: World): void {
  fs.rmSync(w.root, { recursive: true, force: true });
}

export interface RunOptions extends SpawnSyncOptions {
  /** Run as nobody (uid/gid 65534) through setpriv. */
  asNobody?: boolean;
}

/** The command line that runs `jail ARGS`, as root or (asNobody) as nobody. */
export function jailCommand(w: World, args: string[], opts: { asNobody?: boolean } = {}): [string, string[]] {
  return opts.asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, nobodyJail(w), ...args]]
    : [NODE, [JAIL, ...args]];
}

/** The CLI's refusal for want of a kernel feature (UnsupportedKernelError). */
const KERNEL_REFUSAL = /^jail: cannot enforce .*: this kernel has .*$/m;

/** Throws when a run the test did not pin to an ABI was refused for want of a kernel feature. */
function refusalCheck(r: { status: number | null; stderr: string }, opts: { env?: unknown }): void {
  const refusal = opts.env === undefined && r.status === 125 ? KERNEL_REFUSAL.exec(r.stderr) : null;
  if (refusal) {
    throw new Error(
      `the jail refused to run on this kernel (${thisKernel}), so this test checked nothing:\n  ${refusal[0]}\n` +
        `Mark the test with the ABI it needs (harness.ts: strictJail, needsAbi(n, why)), or add --best-effort if that is what it tests.`,
    );
  }
}

/**
 * Run `jail ARGS` in the world's project directory.
 *
 * With the world's own environment (no `env` option), a refusal for want of
 * a kernel feature throws: a test that expected a denial would otherwise pass
 * because nothing ran. Mark such a test with needsAbi() / strictJail; a test
 * that means to meet the refusal sets JAIL_LANDLOCK_ABI in `env` itself.
 */
export function jail(w: World, args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  const [cmd, argv] = jailCommand(w, args, opts);
  const r = spawnSync(cmd, argv, { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000, ...opts }) as SpawnSyncReturns<string>;
  refusalCheck({ status: r.status, stderr: r.stderr ?? '' }, opts);
  return r;
}

export interface AsyncRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `jail ARGS` without blocking this process, so listeners in it can answer. */
export function jailAsync(w: World, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<AsyncRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [JAIL, ...args], { cwd: w.proj, env: opts.env ?? w.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const r = { status, signal, stdout, stderr };
      try {
        refusalCheck(r, opts);
        resolve(r);
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/** The jail's runtime copied where nobody can read it: the repo itself may
 *  sit in a directory only root can enter. */
export function nobodyJail(w: World): string {
  const dest = path.join(w.root, 'pkg');
  if (!fs.existsSync(dest)) {
    for (const p of ['bin', 'dist', 'package.json', 'node_modules/commander', 'node_modules/node-gyp-build']) {
      fs.cpSync(path.join(REPO, p), path.join(dest, p), { recursive: true });
    }
    // The addon the repository loads, whether built here or prebuilt.
     
    const addon = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(REPO);
    fs.cpSync(addon, path.join(dest, 'build', 'Release', 'jail.node'));
    execFileSync('chmod', ['-R', 'a+rX', dest]);
  }
  return path.join(dest, 'bin', 'jail.cjs');
}

/** Live processes with `marker` among their arguments (zombies have none),
 *  optionally only those whose program (argv[0]) is `program`. */
export function processesWith(marker: string, program?: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (argv.includes(marker) && (program === undefined || path.basename(argv[0]!) === program)) pids.push(Number(e));
  }
  return pids;
}

/** Wait until `ok()` holds, or `ms` have passed; returns whether it held. */
export async function until(ok: () => boolean, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
}

/** Everything a run printed, to search for secrets. */
export const printed = (r: { stdout?: string | null; stderr?: string | null }) => `${r.stdout ?? ''}${r.stderr ?? ''}`;

/** Start a process outside the jail; stopped by the returned function. */
export function outsideProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
  return { pid: child.pid!, child, alive: () => child.exitCode === null && child.signalCode === null, stop: () => child.kill('SIGKILL') };
}
