/** The real machine behind the Host interface: node:fs and process. */
import fs = require('node:fs');
import path = require('node:path');
import { NativeLoadError, PolicyError } from './errors.js';
import { addonFiles, loadAddon, type ScanRaw } from './native/binding.js';
import type { DirEntry, Host, ScanEntry, Stat } from './policy/host.js';
import { SETTLED_NS, type Answers, type ScanCheck } from './trace.js';
import { MAX_SCAN_DEPTH, walkTree } from './policy/scan.js';
import { printable } from './text.js';

function toStat(s: fs.Stats): Stat {
  return { isDir: s.isDirectory(), isFile: s.isFile(), isSymlink: s.isSymbolicLink(), mode: s.mode, uid: s.uid };
}

const MAX_TEXT = 4 << 20;

const S_IFMT = 0o170000;
const { S_IFDIR, S_IFREG } = fs.constants;
const SCAN_INCOMPLETE = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The addon's scan (native/scan.c) as entries: the paths joined by NULs,
 *  and per entry (flags << 32 | mode), dev, ino; a directory's times where
 *  a stored plan may check it by them (settled, below). */
function scanEntries(root: string, raw: ScanRaw): ScanEntry[] {
  const { names, meta } = raw;
  const settled = settledDirs(root, raw);
  // The first word's halves as numbers, read as 32-bit words where the
  // byte order allows (little-endian: the low half first), which spares
  // BigInt arithmetic for each of the hundreds of entries.
  const words = LITTLE_ENDIAN ? new Uint32Array(meta.buffer, meta.byteOffset, meta.length * 2) : null;
  return names.split('\0').map((path, i) => {
    let mode: number;
    let flags: number;
    if (words) {
      mode = words[6 * i]!;
      flags = words[6 * i + 1]!;
    } else {
      const m = meta[3 * i]!;
      mode = Number(m & 0xffffffffn);
      flags = Number(m >> 32n);
    }
    const type = mode & S_IFMT;
    const e: ScanEntry = { path, mode, isDir: type === S_IFDIR, isFile: type === S_IFREG, isSymlink: false, dev: meta[3 * i + 1]!, ino: meta[3 * i + 2]!, incomplete: (flags & SCAN_INCOMPLETE) !== 0 };
    if (type === S_IFDIR && settled?.(i)) e.times = [raw.times[2 * i]!, raw.times[2 * i + 1]!];
    return e;
  });
}

/**
 * Which of a scan's directories (by index) were listed after their last
 * change, on the scanned root's own file system, one whose directory
 * times move with each name added, removed or renamed (STAMPED_FS): their
 * times, older than the scan's start by SETTLED_NS (the file system's
 * clock is coarse), would be moved by any later change. null when the
 * root's file system is not such a one.
 */
function settledDirs(root: string, raw: ScanRaw): ((i: number) => boolean) | null {
  const dev = raw.meta[1];
  try {
    if (dev === undefined || !stampedFs(dev, root)) return null;
  } catch {
    return null; // gone since
  }
  const before = raw.began - SETTLED_NS;
  return (i) => raw.meta[3 * i + 1] === dev && raw.times[2 * i]! < before && raw.times[2 * i + 1]! < before;
}

/** The entries of the kept scan (lasting hosts), converted once: the same
 *  frozen array while the addon says its scan still holds and is the one
 *  converted (the addon's is one per process; another worker thread's
 *  call may have replaced it). */
let keptEntries: { generation: number; entries: ScanEntry[] } | undefined;

/**
 * The real host. `lasting`: the caller runs jail again and again in this
 * process (the library), so a tree scan (root's /etc) is kept between
 * runs while nothing in it changes (the addon's scanTreeKept); the CLI,
 * which runs once, scans once.
 */
export function realHost(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), lasting = false): Host {
  let tmpdir: string | undefined;
  let self: string[] | undefined;
  let store: string | undefined;
  return {
    cwd,
    home: env.HOME || (require('node:os') as typeof import('node:os')).homedir(),
    uid: process.getuid?.() ?? -1,
    path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    realpath(p) {
      try {
        return fs.realpathSync.native(p);
      } catch {
        return null;
      }
    },
    stat(p, lstat = false) {
      const s = looked(p, () => (lstat ? fs.lstatSync : fs.statSync)(p, { throwIfNoEntry: false }));
      return s ? toStat(s) : null;
    },
    identify(p) {
      // bigint: an inode number may not fit in a double (overlayfs's xino).
      const s = looked(p, () => fs.lstatSync(p, { throwIfNoEntry: false, bigint: true }));
      return s ? { isDir: s.isDirectory(), isFile: s.isFile(), isSymlink: s.isSymbolicLink(), mode: Number(s.mode), uid: Number(s.uid), dev: s.dev, ino: s.ino } : null;
    },
    readdir(p): DirEntry[] {
      try {
        return fs.readdirSync(p, { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory(), isSymlink: d.isSymbolicLink() }));
      } catch {
        return [];
      }
    },
    scanTree(root, maxDepth) {
      let raw;
      try {
        const addon = loadAddon();
        if (lasting) {
          const k = addon.scanTreeKept(root, maxDepth);
          if (k.kept && keptEntries?.generation === k.generation) return keptEntries.entries;
          // Frozen: a policy that changed an entry would change every later run's.
          const entries = Object.freeze(scanEntries(root, k).map((e) => Object.freeze(e))) as ScanEntry[];
          keptEntries = { generation: k.generation, entries };
          return entries;
        }
        raw = addon.scanTreeTake(root, maxDepth) ?? addon.scanTree(root, maxDepth);
      } catch (e) {
        if (e instanceof NativeLoadError) return walkTree(this, root, maxDepth);
        return null; // root is gone, or no directory
      }
      return scanEntries(root, raw);
    },
    readlink(p) {
      try {
        return fs.readlinkSync(p);
      } catch {
        return null;
      }
    },
    readHead(p, n) {
      let fd = -1;
      try {
        fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        if (!fs.fstatSync(fd).isFile()) return null;
        const buf = Buffer.alloc(n);
        const len = fs.readSync(fd, buf, 0, n, 0);
        return buf.subarray(0, len).toString('latin1');
      } catch {
        return null;
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
    },
    executable(p) {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    readText(p, opts = {}) {
      const max = opts.max ?? MAX_TEXT;
      let fd = -1;
      try {
        // Most config files are missing: say so without an exception (costly).
        if (!looked(p, () => (opts.follow ? fs.statSync : fs.lstatSync)(p, { throwIfNoEntry: false }))) return null;
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (opts.follow ? 0 : fs.constants.O_NOFOLLOW);
        try {
          fd = fs.openSync(p, flags);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') return null;
          if (code === 'ELOOP') throw unreadable(p, 'is a symlink; jail reads a project\'s config only from a regular file in the project');
          if (code === 'EACCES') return null;
          throw e;
        }
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw unreadable(p, 'is not a regular file');
        if (st.size > max) throw unreadable(p, `is larger than ${max >> 20} MiB`, TOO_BIG);
        const buf = Buffer.alloc(Math.min(st.size, max) + 1);
        let len = 0;
        for (let n; len < buf.length && (n = fs.readSync(fd, buf, len, buf.length - len, null)) > 0; ) len += n;
        if (len > max) throw unreadable(p, `is larger than ${max >> 20} MiB`, TOO_BIG);
        return buf.subarray(0, len).toString('utf8');
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
    },
    ttys: terminals(),
    get self() {
      return (self ??= selfPaths());
    },
    get planStore() {
      return (store ??= planStorePath());
    },
    get tmpdir() {
      // (the realpath that throws says why there is none)
      if (tmpdir === undefined) {
        const dir = tmpdirOf(process.env);
        tmpdir = realpaths([dir])[0] ?? fs.realpathSync.native(dir);
      }
      return tmpdir;
    },
    tempName,
    unixSockets() {
      try {
        return fs.readFileSync('/proc/net/unix', 'utf8'); // size 0 in stat: read to the end
      } catch {
        return null;
      }
    },
  };
}

/** --keep-fd N passes on a descriptor this process has: one that is not
 *  open is a mistake (a redirection left out), not something to skip. */
export function checkKeptFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      fs.fstatSync(fd);
    } catch {
      throw new PolicyError(`--keep-fd ${fd}: file descriptor ${fd} is not open here, so there is nothing to pass on.`, `open it where jail is started (in a shell: ${fd}<FILE), or drop --keep-fd ${fd}.`);
    }
  }
}

/** Local file systems whose directories' times change with each name
 *  added, removed or renamed in them, seen at once by every process here
 *  (statfs f_type): ext4, xfs, btrfs, tmpfs, overlayfs, f2fs, zfs. Not a
 *  network or FUSE file system, whose attributes may be cached. */
const STAMPED_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0xf2f52010, 0x2fc12fc1]);
/** Per device: whether its file system is one of those. */
const stampedDev = new Map<bigint, boolean>();

/** trace.ts's Answers for the real host: the addon's batch (what
 *  askEarly began, when these are its questions), and the file systems
 *  above. */
export const hostAnswers: Answers = {
  ask(ops, paths, nums) {
    const addon = loadAddon();
    return addon.answersTake(ops, paths, nums) ?? addon.answers(ops, paths, nums);
  },
  digest: (text, latin1) => loadAddon().digest(text, latin1),
  maxText: MAX_TEXT,
  stamped: (fsType) => STAMPED_FS.has(fsType),
  scan(root, maxDepth) {
    try {
      const addon = loadAddon();
      return addon.scanTreeTake(root, maxDepth) ?? addon.scanTree(root, maxDepth);
    } catch {
      return null;
    }
  },
  verify(root, maxDepth, c) {
    try {
      const addon = loadAddon();
      return addon.scanTreeVerifyTake(root, maxDepth) ?? addon.scanTreeVerify(root, maxDepth, c.names, c.meta, c.times);
    } catch {
      return false;
    }
  },
};

/** Whether device `dev`, on which `p` is, has one of the file systems
 *  above (statfs, once per device). */
function stampedFs(dev: bigint, p: string): boolean {
  let ok = stampedDev.get(dev);
  if (ok === undefined) stampedDev.set(dev, (ok = STAMPED_FS.has(fs.statfsSync(p).type)));
  return ok;
}

/** trace.ts's StampDir for the real host: stat's identity and times, on
 *  the file systems above; null elsewhere (the directory is listed). */
export function stampDir(p: string): { stamp: string; changedNs: bigint } | null {
  try {
    const s = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
    if (!s?.isDirectory()) return null;
    if (!stampedFs(s.dev, p)) return null;
    return { stamp: `${s.dev}:${s.ino}:${s.mtimeNs}:${s.ctimeNs}`, changedNs: s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs };
  } catch {
    return null;
  }
}

/**
 * Start-up: root's /etc is granted entry by entry, from a scan of the tree
 * (policy/base.ts) that takes about 3 ms. For a run as root it starts as
 * the CLI's main() does, on the addon's thread, and runs while the options
 * are parsed and the policy built, which then take its result. (A stored
 * plan's run, cli/fast.ts, starts what its entry asks: the scan's check
 * by its directories' times, verifyEarly, or the scan.) Skipped where
 * the words show it is not needed (--ro / or /etc, --no-system) or nothing
 * runs (--help, --version); anything else that makes it moot (a profile's
 * grant of /) only wastes it. Nothing changes but when the scan is made.
 */
export function scanEtcEarly(argv: readonly string[]): void {
  if (process.getuid?.() !== 0) return;
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--help' || w === '-h' || w === '--version' || w === '-V' || w === '--no-system') return;
    const value = w === '--ro' || w === '--rw' ? words[i + 1] : /^--r[ow]=/.test(w) ? w.slice(5) : undefined;
    if (value === '/' || value === '/etc') return;
  }
  let etc;
  try {
    etc = realpaths(['/etc'])[0]; // the addon's: it scans next
  } catch {
    return;
  }
  if (etc) scanTreeEarly(etc, MAX_SCAN_DEPTH);
}

/**
 * Start-up: the real host's scanTree(root, maxDepth) begun now, on a
 * thread of the addon's, for a caller that knows it will ask for it (the
 * CLI, root's /etc: about 3 ms) and has JavaScript to run meanwhile. The
 * scan is the same; scanTree takes its result when it asks for that root
 * and depth, and waits for it then if need be. The addon waits for it too
 * before it clones, forks or execs. Best effort: false when not started.
 */
export function scanTreeEarly(root: string, maxDepth: number): boolean {
  try {
    return loadAddon().scanTreeStart(root, maxDepth);
  } catch {
    return false; // no addon: the run says so where it needs one
  }
}

/**
 * Start-up: hostAnswers.verify(root, maxDepth, check) begun now, on a
 * thread of the addon's, for a caller that will ask it (a stored plan's
 * check of root's /etc) and has JavaScript to run meanwhile. Best effort:
 * false when not started.
 */
export function verifyEarly(root: string, maxDepth: number, c: ScanCheck): boolean {
  try {
    return loadAddon().scanTreeVerifyStart(root, maxDepth, c.names, c.meta, c.times);
  } catch {
    return false;
  }
}

/**
 * Start-up: hostAnswers.ask(ops, paths, nums) begun now, on a thread of the
 * addon's, for a caller that will ask exactly these questions (the CLI: a
 * stored plan's, about 1 ms) and has JavaScript to run meanwhile. The
 * answers are the same: the host as it is when they are asked. Best
 * effort: false when not started.
 */
export function askEarly(ops: string, paths: string[], nums: number[]): boolean {
  try {
    return loadAddon().answersStart(ops, paths, nums);
  } catch {
    return false; // no addon: the run says so where it needs one
  }
}

/**
 * An lstat or stat: undefined when nothing is there (ENOENT, or ENOTDIR: a
 * file where a directory was expected), and a PolicyError naming the path
 * when it cannot be looked at (EACCES on a directory on the way, ELOOP, …):
 * jail decides nothing about a path it cannot see. (Run as a user who cannot
 * read the working directory, the search for jail's config meets it.)
 */
function looked<T>(p: string, look: () => T | undefined): T | undefined {
  try {
    return look();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    // With the errno's code, for callers that skip what they cannot see
    // (the PATH search, statOnPath).
    throw Object.assign(
      new PolicyError(
        `cannot look at ${printable(p)}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message} (${code}).`,
        'run jail as a user who can reach it (each directory on the way, the working directory included), or from another directory.',
        p,
      ),
      { code },
    );
  }
}

function unreadable(p: string, why: string, hint = 'make it a regular file, or remove it.'): PolicyError {
  return new PolicyError(`${printable(p)} ${why}.`, hint, p);
}

const TOO_BIG = 'a config holds a few profiles: a few KiB; remove what does not belong there, or the file.';

/** The terminals on fds 0-2, by name: what the command was given. */
function terminals(): string[] {
  const out = new Set<string>();
  for (const name of readlinks(['/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2'])) {
    // not a terminal, or /proc is missing: nothing granted
    if (name !== null && /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(name)) out.add(name);
  }
  return [...out];
}

/** readlink(2) of each path, null where it fails (no exception per fd
 *  that is not a link). */
const readlinks = (paths: string[]) => pathAnswers('k', paths, (p) => fs.readlinkSync(p));

/** A fresh name for a private TMPDIR (Host.tempName). */
export const tempName = (): string => `jail-${process.pid}-${randomHex(6)}`;

/**
 * os.tmpdir() as Node gives it on Linux: TMPDIR, TMP, TEMP, else /tmp, a
 * trailing slash dropped. Here because node:os costs 0.25 ms to load, and
 * a run from a stored plan needs nothing else of it.
 */
export function tmpdirOf(env: NodeJS.ProcessEnv): string {
  const p = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** n random bytes in hex: the addon's getrandom(2), or /dev/urandom where
 *  it cannot load (node:crypto costs 3 ms to load). */
export function randomHex(n: number): string {
  try {
    return loadAddon().random(n);
  } catch (e) {
    if (!(e instanceof NativeLoadError)) throw e;
  }
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    const b = Buffer.alloc(n);
    fs.readSync(fd, b, 0, n, null);
    return b.toString('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** The plan store's directory (dist/plans), its real path; '' when there
 *  is none. Made now when jail's package is this user's (0700), so that it
 *  exists, and is hidden, in every jail from the first (a jail that ran
 *  before it was made would see the plans stored meanwhile; the policy
 *  hides it: src/policy/protect.ts). */
function planStorePath(): string {
  const dir = path.join(__dirname, 'plans');
  const there = realpaths([dir])[0];
  if (there) return there; // asked first: an exception for the usual EEXIST costs more
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch {
    // made meanwhile, or not ours to make
  }
  return realpaths([dir])[0] ?? '';
}

/**
 * realpath(3) of each path, null where it fails: in one call to the addon
 * when it is there (each from JavaScript costs tens of microseconds in a
 * cold process, and the run from a stored plan asks for a dozen), else as
 * fs.realpathSync.native, which is the same realpath(3).
 */
const realpaths = (paths: string[]) => pathAnswers('r', paths, (p) => fs.realpathSync.native(p));

/** The addon's batch answer `op` ('r' realpath(3), 'k' readlink(2)) about
 *  each path, null where it fails; node:fs's `slow` where the addon does
 *  not load. */
function pathAnswers(op: 'r' | 'k', paths: string[], slow: (p: string) => string): Array<string | null> {
  try {
    return loadAddon().answers(op.repeat(paths.length), paths, paths.map(() => 0)).map((a) => (a.startsWith('=') ? a.slice(1) : null));
  } catch (e) {
    if (!(e instanceof NativeLoadError)) throw e;
  }
  return paths.map((p) => {
    try {
      return slow(p);
    } catch {
      return null;
    }
  });
}

/** jail's package directory (bin/, dist/, build/ or prebuilds/), the node
 *  running it, and the addon with node-gyp-build when that loaded it (it
 *  may be installed beside jail rather than in it). bin/ and dist/ are
 *  named too, so that a grant of either (not only of the package) is
 *  refused, and so are the loader and the code cache it trusts (dist/load.cjs,
 *  dist/cli.js.cache, fast.js.cache), the caches even when they are not
 *  there yet, and the plan store (dist/plans, src/planstore.ts): a command
 *  that could write one could have its bytecode run by the next jail. */
function selfPaths(): string[] {
  const pkg = path.join(__dirname, '..');
  const named = [pkg, __dirname, process.execPath, ...addonFiles(), path.join(pkg, 'bin'), path.join(__dirname, 'load.cjs')];
  const real = realpaths(named);
  const out = real.filter((p): p is string => p !== null); // one gone: nothing to protect
  const [realPkg, dist] = real;
  // Where the loader looks for the addon first (build/Release) or next
  // (prebuilds/), even when not there: a command that could make one
  // would have its code loaded by the next jail.
  if (realPkg) for (const d of ['build', 'prebuilds']) if (!out.includes(path.join(realPkg, d))) out.push(path.join(realPkg, d));
  if (dist) out.push(path.join(dist, 'cli.js.cache'), path.join(dist, 'fast.js.cache'), path.join(dist, 'plans'));
  return out;
}
