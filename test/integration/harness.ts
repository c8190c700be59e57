/**
 * Integration harness: runs the built CLI on the real kernel against a
 * temporary world (a fake HOME full of fake secrets, a project, an outside
 * directory) and lets tests judge from outside the jail.
 */
import { execFileSync, spawn, spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const JAIL = path.join(REPO, 'bin', 'jail.js');
export const NODE = process.execPath;
export const IS_ROOT = process.getuid?.() === 0;

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

/** Run `jail ARGS` in the world's project directory. */
export function jail(w: World, args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  const [cmd, argv] = jailCommand(w, args, opts);
  return spawnSync(cmd, argv, { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000, ...opts }) as SpawnSyncReturns<string>;
}

/** The jail's runtime copied where nobody can read it: the repo itself may
 *  sit in a directory only root can enter. */
function nobodyJail(w: World): string {
  const dest = path.join(w.root, 'pkg');
  if (!fs.existsSync(dest)) {
    for (const p of ['bin', 'dist', 'package.json', 'node_modules/commander', 'node_modules/node-gyp-build']) {
      fs.cpSync(path.join(REPO, p), path.join(dest, p), { recursive: true });
    }
    // The addon the repository loads, whether built here or prebuilt.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(REPO);
    fs.cpSync(addon, path.join(dest, 'build', 'Release', 'jail.node'));
    execFileSync('chmod', ['-R', 'a+rX', dest]);
  }
  return path.join(dest, 'bin', 'jail.js');
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
export const printed = (r: SpawnSyncReturns<string>) => `${r.stdout ?? ''}${r.stderr ?? ''}`;

/** Start a process outside the jail; stopped by the returned function. */
export function outsideProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
  return { pid: child.pid!, child, alive: () => child.exitCode === null && child.signalCode === null, stop: () => child.kill('SIGKILL') };
}
