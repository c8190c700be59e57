/**
 * Where what the command planted goes for review:
 * `<root>/<YYYYMMDD-HHMMSS>-<pid>/<the absolute path>`, made (0700) only
 * when the first thing arrives. A move is a rename; across file systems a
 * copy that follows no symlink, then the original is removed. Nothing that
 * lands here keeps an execute, setuid or setgid bit: a hook the user opens
 * to read is not one they run by accident.
 */
import fs = require('node:fs');
import os = require('node:os');
import { removeTree } from '../native/apply.js';
import { buf, dirname, join, lstat, readdir, readlink, readRegular, toBytes, toText, writeNew, type BPath } from './fsx.js';

/** `$XDG_STATE_HOME/jail/quarantine`, XDG's default `~/.local/state`. */
export function defaultQuarantineRoot(env: Record<string, string | undefined> = process.env): string {
  const state = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : `${env.HOME || os.homedir()}/.local/state`;
  return `${state.replace(/\/+$/, '')}/jail/quarantine`;
}

export function stampOf(now: Date, pid: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}-${pid}`;
}

export interface QuarantineLimits {
  /** Bytes copied in all (across file systems, and hard links, which are
   *  copied so as not to change their other names); beyond it a tree is
   *  set aside in its own directory instead, and a hard link's name is
   *  removed (a copy must not fill the disk). */
  copyBytes: number;
  /** Entries copied, or stripped of execute bits, per move. */
  entries: number;
}

const LIMITS: QuarantineLimits = { copyBytes: 256 << 20, entries: 20_000 };

export class Quarantine {
  /** The run's directory, once something went there (text). */
  dir: string | null = null;
  private bdir: BPath | null = null;
  private copied = 0;
  /** What could not be done as asked, for the report. */
  readonly notes: string[] = [];

  constructor(
    readonly root: string,
    readonly stamp: string,
    private readonly limits: QuarantineLimits = LIMITS,
  ) {}

  /**
   * Move whatever is at p (nothing is followed) out of the way; returns
   * where it is now, as text. When the quarantine cannot take it (the
   * command may have filled the disk or used up its inodes: ENOSPC on the
   * quarantine's mkdir), it is set aside beside p instead (a rename in its
   * own directory), and when even that fails, removed: what was planted
   * never stays at a name that runs. Throws when it could not be moved at
   * all: then it is still at p.
   */
  move(p: BPath): string {
    try {
      return this.moveIn(p);
    } catch (e) {
      if (!lstat(p)) throw e;
      return this.disarm(p, e);
    }
  }

  /** Off p, where the quarantine could not take it: renamed beside p
   *  (execute bits off where that is possible), else removed. */
  private disarm(p: BPath, why: unknown): string {
    const code = (why as NodeJS.ErrnoException).code ?? String((why as Error).message ?? why);
    const aside = this.aside(p);
    try {
      fs.renameSync(buf(p), buf(aside));
    } catch {
      const failed = lstat(p)?.isDirectory() ? (toBytes(toText(p)) === p ? removeTree(toText(p)) : rmJs(p)) : rmJs(p);
      if (failed) throw new Error(`could not move it to the quarantine (${code}), nor remove it: ${failed}`);
      this.notes.push(`${toText(p)} could not be moved to the quarantine (${code}), nor renamed; it was removed`);
      return '(removed)';
    }
    try {
      this.strip(aside);
    } catch {
      // what is left at the new name runs under no name anything reads
    }
    this.notes.push(`${toText(p)} could not be moved to the quarantine (${code}); it was set aside as ${toText(aside)}`);
    return toText(aside);
  }

  private moveIn(p: BPath): string {
    const st = lstat(p);
    if (!st) throw new Error('nothing to move');
    const dest = this.destFor(p);
    if (st.isFile() && st.nlink > 1n) {
      // A hardlink: the same file is also elsewhere (maybe outside what is
      // guarded), so it is copied and this one name removed; stripping the
      // execute bits of a shared inode would change the other name too.
      // Past the copy limit, the name alone goes: its content is still at
      // the other name, and the command chose its size (a sparse file
      // costs nothing there; its copy here would be real bytes).
      const copied = this.copyCounted(p, st, dest);
      fs.unlinkSync(buf(p));
      if (!copied) {
        this.notes.push(`${toText(p)} is a hard link too large to copy to the quarantine; that name was removed (its other names keep the content)`);
        return '(removed)';
      }
    } else {
      try {
        fs.renameSync(buf(p), buf(dest));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        return this.moveAcross(p, dest);
      }
    }
    this.strip(dest);
    return toText(dest);
  }

  /** Another file system: copy (if it fits) and remove; else set it aside
   *  under a name nothing reads, in its own directory. */
  private moveAcross(p: BPath, dest: BPath): string {
    const size = this.measure(p);
    if (size === null || this.copied + size > this.limits.copyBytes) {
      const aside = this.aside(p);
      fs.renameSync(buf(p), buf(aside));
      this.strip(aside);
      this.notes.push(`${toText(p)} is too large to copy to the quarantine; it was set aside as ${toText(aside)}`);
      return toText(aside);
    }
    this.copied += size;
    this.copyTree(p, dest);
    const st = lstat(p);
    if (st?.isDirectory()) {
      const text = toText(p);
      // The addon's removal follows no symlink; it takes UTF-8 paths.
      const why = toBytes(text) === p ? removeTree(text) : rmJs(p);
      if (why) throw new Error(`copied to the quarantine but could not remove it: ${why}`);
    } else if (st) {
      fs.unlinkSync(buf(p));
    }
    return toText(dest);
  }

  /** A free name beside p: `<name>.jail-quarantine-<stamp>[-n]`. */
  private aside(p: BPath): BPath {
    for (let n = 0; ; n++) {
      const q = `${p}.jail-quarantine-${this.stamp}${n ? `-${n}` : ''}`;
      if (!lstat(q)) return q;
    }
  }

  /** Total bytes of regular files under p, or null past the entry cap. */
  private measure(p: BPath): number | null {
    let total = 0;
    let entries = 0;
    const walk = (q: BPath): boolean => {
      const st = lstat(q);
      if (!st) return true;
      if (++entries > this.limits.entries) return false;
      if (st.isFile()) total += Number(st.size);
      if (st.isDirectory()) for (const n of readdir(q)) if (!walk(join(q, n))) return false;
      return true;
    };
    return walk(p) ? total : null;
  }

  private copyTree(src: BPath, dst: BPath): void {
    const st = lstat(src);
    if (!st) return;
    if (st.isDirectory()) {
      fs.mkdirSync(buf(dst), { mode: 0o700 });
      for (const n of readdir(src)) this.copyTree(join(src, n), join(dst, n));
    } else if (st.isFile()) {
      this.copyFile(src, st, dst);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(buf(readlink(src)), buf(dst));
    } else {
      this.notes.push(`${toText(src)}: a ${kindName(st)} cannot be copied; it was removed`);
    }
  }

  /** copyFile() within the limit on bytes copied (shared with copies
   *  across file systems); false, copying nothing, past it. */
  private copyCounted(src: BPath, st: fs.BigIntStats, dst: BPath): boolean {
    const size = Number(st.size);
    if (this.copied + size > this.limits.copyBytes) return false;
    this.copied += size;
    this.copyFile(src, st, dst);
    return true;
  }

  /** Content and mode (no execute, setuid or setgid bit) of a regular file. */
  private copyFile(src: BPath, st: fs.BigIntStats, dst: BPath): void {
    const content = readRegular(src, st, Number.MAX_SAFE_INTEGER) ?? Buffer.alloc(0);
    writeNew(dst, content, Number(st.mode) & 0o666);
  }

  /** Execute, setuid, setgid and sticky bits off everything in the tree at
   *  p (directories keep theirs, to be entered; only the owner's needed). */
  private strip(p: BPath): void {
    let left = this.limits.entries;
    const walk = (q: BPath): void => {
      if (left-- <= 0) return;
      const st = lstat(q);
      if (!st) return;
      const mode = Number(st.mode) & 0o7777;
      if (st.isFile() && (mode & 0o7111) !== 0) {
        if (st.nlink > 1n) {
          // Shared with a name elsewhere: replace our name by a copy, or
          // past the copy limit remove it (the other name keeps it).
          const tmp = `${q}.jail-copy`;
          if (this.copyCounted(q, st, tmp)) fs.renameSync(buf(tmp), buf(q));
          else {
            fs.unlinkSync(buf(q));
            this.notes.push(`${toText(q)} is a hard link too large to copy in the quarantine; that name was removed (its other names keep the content)`);
          }
        } else {
          fs.chmodSync(buf(q), mode & 0o666);
        }
      } else if (st.isDirectory()) {
        if ((mode & 0o7700) !== 0o700) fs.chmodSync(buf(q), (mode & 0o777) | 0o700);
        for (const n of readdir(q)) walk(join(q, n));
      }
    };
    walk(p);
  }

  /** The mirror of p under the run's directory, its parents made; a path
   *  already used, or one whose parent there is not a plain directory (a
   *  symlink moved in before), gets a fresh `~N` subtree instead. */
  private destFor(p: BPath): BPath {
    const dir = this.ensureDir();
    for (let n = 0; ; n++) {
      const base = n === 0 ? dir : join(dir, `~${n}`);
      const dest = base + p;
      if (lstat(dest) || !mkdirs(base, dirname(p))) continue;
      return dest;
    }
  }

  private ensureDir(): BPath {
    if (this.bdir !== null) return this.bdir;
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    // The run's own directory is new (mkdir fails on any existing name, a
    // symlink included), so whatever is below it is ours.
    for (let n = 0; ; n++) {
      const name = `${this.root}/${this.stamp}${n ? `.${n}` : ''}`;
      try {
        fs.mkdirSync(name, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      this.dir = name;
      this.bdir = toBytes(name);
      return this.bdir;
    }
  }
}

/** The directories of `rel` (absolute, '/'-led) under base, each one a
 *  plain directory; false when one is not. */
function mkdirs(base: BPath, rel: BPath): boolean {
  let at = base;
  for (const name of rel.split('/').filter(Boolean)) {
    at = join(at, name);
    const st = lstat(at);
    if (!st) fs.mkdirSync(buf(at), { mode: 0o700 });
    else if (!st.isDirectory()) return false;
  }
  return true;
}

/** Remove a tree whose name is not UTF-8 (the addon takes text): lstat
 *  each entry, follow nothing. */
function rmJs(p: BPath): string | null {
  try {
    const st = lstat(p);
    if (st?.isDirectory()) {
      for (const n of readdir(p)) rmJs(join(p, n));
      fs.rmdirSync(buf(p));
    } else if (st) {
      fs.unlinkSync(buf(p));
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function kindName(st: fs.BigIntStats): string {
  return st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'device' : st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'file';
}
