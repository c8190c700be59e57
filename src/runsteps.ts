/**
 * The steps around a supervised run that need no compiler: what is made on
 * disk before the command starts (the private TMPDIR), what is put back
 * after it (the guarded set), the cleanup, and the status. run.ts's
 * SupervisedRun and the CLI's stored plans (src/cli/fast.ts) share them.
 */
import fs = require('node:fs');
import { dirLocked, makeLockedDir, removeTree, reraise, unlockDir, writeNewFile } from './native/apply.js';
import type * as Protect from './protect/index.js';
import { printable } from './text.js';

/** Detect and restore, loaded only by a run that has guards to check. */
let protect: typeof Protect | undefined;
export const loadProtect = (): typeof Protect => (protect ??= require('./protect/index.js') as typeof Protect);
/** The library imports it up front (in-process spawn(); one load per
 *  process), which also serves code run from src/ by a test runner. */
export function provideProtect(m: typeof Protect): void {
  protect ??= m;
}

/** The status to exit with; when the command died of a signal, this
 *  process dies of it too (its default action), else 128 + its number. */
export function statusOf(result: { code: number | null; signal: number | null }): number {
  if (result.signal !== null) {
    reraise(result.signal);
    return 128 + result.signal; // a signal whose default is to ignore
  }
  return result.code ?? 125;
}

/**
 * Put the guarded set back and say what was reverted. The supervisor
 * passed SIGINT, SIGTERM and SIGHUP on to the command while it ran, and
 * gave their dispositions back when it ended: a second Ctrl-C (or a
 * TERM from a process manager) now would kill this process halfway through
 * the restore, leaving what was planted in place. So they are caught (and
 * dropped) until it is done; the status is the command's, as always. Only
 * SIGKILL can stop it, as it stops the supervisor itself.
 */
export function restoreGuarded(snap: Protect.Snapshot, quarantineRoot: string | undefined, write: (text: string) => void): void {
  const hold = (): void => {};
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  for (const s of signals) process.on(s, hold);
  try {
    const m = loadProtect();
    const text = m.formatRestore(m.restore(snap, quarantineRoot === undefined ? {} : { quarantineRoot }));
    if (text) write(text);
  } finally {
    for (const s of signals) process.removeListener(s, hold);
  }
}

/** A report must not fail the run: the terminal may have gone (SIGHUP). */
export function writeStderr(text: string): void {
  try {
    fs.writeSync(2, text);
  } catch {
    // nowhere to say it
  }
}

/** What a run makes on disk before it starts: the private TMPDIR and its
 *  files, and in the namespace layer the npm cache's private layer. */
export interface ToMake {
  tmpDir: string | null;
  files: ReadonlyArray<{ name: string; text: string }>;
  layerDir?: string;
}

/** The private TMPDIR, made here and only here (mkdir fails if the name
 *  exists), with the sanitised config copies in it. Each directory made is
 *  locked at once (sweepStale); the locks' descriptors are returned. */
export function materialize(p: ToMake): number[] {
  const locks: number[] = [];
  try {
    const layer = p.layerDir;
    if (layer) {
      // The overlay's upper and work directories: only jail can reach them.
      locks.push(makeLockedDir(layer));
      fs.mkdirSync(`${layer}/upper`, { mode: 0o700 });
      fs.mkdirSync(`${layer}/work`, { mode: 0o700 });
    }
    if (!p.tmpDir) return locks;
    locks.push(makeLockedDir(p.tmpDir));
    for (const f of p.files) writeNewFile(`${p.tmpDir}/${f.name}`, f.text);
    return locks;
  } catch (e) {
    for (const fd of locks) unlockDir(fd);
    throw e;
  }
}

/** Remove the TMPDIR (or the npm cache's private layer) without following
 *  anything the program left in it, then any left behind by runs whose
 *  supervisor was killed. */
export function cleanup(dir: string, what: string, write: (text: string) => void): void {
  const why = removeTree(dir);
  if (why) write(`jail: warning: could not remove ${what} ${printable(dir)}: ${printable(why)}\n`);
  sweepBeside(dir);
}

/**
 * sweepStale() of the directory `dir` is in, unless this process did so
 * in the last minute: a library runs many, and a listing of the parent
 * after every run is wasted. The CLI calls it while its command runs (it
 * has nothing else to do then, and the listing is off the time the user
 * waits), so that cleanup(), after, finds it done.
 */
export function sweepBeside(dir: string): void {
  const parent = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const now = Date.now();
  if ((swept.get(parent) ?? -Infinity) > now - 60_000) return;
  swept.set(parent, now);
  try {
    sweepStale(parent);
  } catch {
    // what is left may go next time; never a reason to leave a command unsupervised
  }
}

/** When each parent was last swept, in this process. */
const swept = new Map<string, number>();

/**
 * TMPDIRs of earlier runs whose supervisor died without cleaning up (kill
 * -9, the OOM killer): `jail-<pid>-<hex>`, ours, <pid> is gone, and no
 * process holds its lock. A pid that lives again in another process only
 * leaves the directory for later. The lock is what tells a live run in
 * another PID namespace (a container sharing /tmp, whose pids look gone
 * here) from a dead one: its supervisor holds it from mkdir to removal, and
 * the kernel drops it when that process dies.
 */
export function sweepStale(parent: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = /^jail-(\d+)-[0-9a-f]{12}$/.exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const path = `${parent}/${name}`;
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isDirectory() || st.uid !== uid) continue;
    try {
      if (dirLocked(path)) continue; // a live run's
    } catch {
      continue;
    }
    removeTree(path); // what cannot go now may go next time
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
