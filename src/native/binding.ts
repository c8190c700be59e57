/**
 * The typed boundary to the addon, and the only place that loads it.
 * Loading uses node-gyp-build (prebuilds/ first, then build/), with no
 * JavaScript fallback: a jail that cannot load its addon does not run.
 */
import fs = require('node:fs');
import path = require('node:path');
import util = require('node:util');
import { NativeLoadError } from '../errors.js';

export interface NativeProbe {
  machine?: string;
  release?: string;
  landlockAbi: number;
  landlockErrata: number;
  /** 'ENOSYS' (not built in), 'EOPNOTSUPP' (disabled at boot), or null. */
  landlockError: string | null;
  seccomp: boolean;
  noNewPrivs: boolean;
  /** Whether the namespace layer's namespaces can be made here: a real
   *  attempt (user, mount, PID and IPC namespaces, id maps, a fresh /proc).
   *  When not: errno (negative) and its name, code ('EPERM': a seccomp
   *  profile or AppArmor; 'ENOSPC': user.max_user_namespaces=0), and the
   *  step refused ('clone', 'uid_map', 'mount', 'fsmount', ...). */
  namespaces?: { ok: boolean; errno: number; code: string | null; step: string | null };
}

/** One entry of the namespace layer's view, applied in plan order. Paths
 *  are absolute; `path` is in the view, `source` (default: path) outside. */
export type NativeViewEntry =
  /** The object at source appears at path: opened with no symlink (and,
   *  with dev and ino, refused if it is another object), mounted from that
   *  descriptor (read-only: ro, nosuid, nodev; else nosuid, nodev; device:
   *  nosuid only), and given a Landlock rule with `access` unless 0. */
  | { kind: 'bind'; path: string; source?: string; dev?: bigint; ino?: bigint; readOnly: boolean; device?: boolean; access: bigint }
  /** A directory of the view's skeleton, made empty (with its parents) when
   *  missing; with `access`, a Landlock rule on it, which covers everything
   *  beneath it in the view, binds included. */
  | { kind: 'dir'; path: string; access?: bigint }
  /** A symlink, unless something already exists at path. */
  | { kind: 'symlink'; path: string; target: string }
  /** A fresh procfs of the jail's PID namespace, a new devpts instance
   *  (ptmxmode 0666, mode 0620), or an empty tmpfs; with its rule. */
  | { kind: 'proc' | 'devpts' | 'tmpfs'; path: string; access: bigint }
  /** Only a Landlock rule, on the object at source (opened as a bind's
   *  source is, identity checked), which an earlier bind already shows at
   *  path: finer rights inside a bind (/etc's files but not root's own) at
   *  a few µs each, where a bind costs about 45. */
  | { kind: 'rule'; path: string; source?: string; dev?: bigint; ino?: bigint; access: bigint }
  /** Rules for names in the directory at path, all on device dev, as one
   *  text: "ACCESS INODE NAME" per rule, in decimal, joined by NULs; the
   *  addon reads each as the rule at path/NAME (compactRules, apply.ts). */
  | { kind: 'rules'; path: string; dev: bigint; rules: string }
  /** An empty read-only directory (a tmpfs) or file over a hidden path.
   *  With dev and ino, what is at path in the view must be that object,
   *  and be there (else ESTALE); without, a path gone is skipped. */
  | { kind: 'empty'; path: string; isDir: boolean; dev?: bigint; ino?: bigint; access: bigint }
  /** An overlayfs at path (nosuid, nodev, userxattr): below, the directory
   *  at path outside, opened as a bind's source is (identity checked),
   *  read-only; above, `layer`/upper with `layer`/work, jail's own
   *  directory outside (no symlink in it). With its rule on the mount. */
  | { kind: 'overlay'; path: string; layer: string; dev?: bigint; ino?: bigint; access: bigint };

export interface NativePlan {
  landlock?: {
    attrSize: number;
    handledFs: bigint;
    handledNet: bigint;
    scoped: bigint;
    restrictFlags: number;
    /** Realpaths. With dev and ino, the object opened must be that one. */
    /** optional: an entry beside a hidden path, left out when gone (ENOENT). */
    paths: Array<{ path: string; access: bigint; dev?: bigint; ino?: bigint; optional?: boolean }>;
    ports: Array<{ port: number; access: bigint }>;
  };
  /** struct sock_filter[], 8 bytes each. */
  seccomp?: Uint8Array;
  /** --report-denials (spawn() only): a second filter, installed before
   *  the main one with a listener that goes to the supervisor, and per
   *  syscall it notifies which arguments to read (native/observe.h). */
  observer?: { filter: Uint8Array; calls: Array<{ nr: number; paths: Array<[number, number]>; deref?: number }> };
  /**
   * The namespace layer (spawn() only): new user, mount, PID and IPC namespaces
   * (and network, with net: only lo, up), an init as PID 1, and a view that
   * holds exactly `view`. `landlock.paths` is then ignored: each view entry
   * brings its own rule, on the object it mounts.
   */
  namespaces?: {
    /** Outside ids, each mapped to itself. */
    uid: number;
    gid: number;
    net: boolean;
    /** chdir here in the view. */
    cwd: string;
    view: NativeViewEntry[];
    /** Sockets the init makes in the jail's network namespace (only with
     *  net; at most 16), for the supervisor: bound to addr:port, an IPv4 or
     *  IPv6 literal ('127.0.0.1', '0.0.0.0', '::1'; an IPv6 one takes IPv6
     *  only), with SO_REUSEADDR and listening for tcp. Only the jail can
     *  reach them; spawn() returns this process's copies. */
    sockets?: NativeSocket[];
  };
  dropCaps: boolean;
  keepFds: number[];
  file: string;
  argv: string[];
  envp: string[];
}

export interface NativeSocket {
  type: 'tcp' | 'udp';
  addr: string;
  port: number;
}

/** One observed call, as the supervisor's thread read it: args are the
 *  low 32 bits of each, signed (openat2's: how.flags in place of the
 *  pointer); base is the directory a relative path starts from, as /proc
 *  showed the caller's dirfd or cwd ('' for an absolute path). */
export interface NativeObserved {
  nr: number;
  pid: number;
  args: number[];
  path: string;
  base: string;
  path2: string;
  base2: string;
}

/** How a supervised child ended, as child_process says it (signal as a number). */
export interface NativeStatus {
  code: number | null;
  signal: number | null;
}

/** Thrown by the addon: shaped like Node's fs errors. The addon gives the
 *  errno; `code` is its name from Node's own table, added here. In the
 *  namespace layer, step 'namespaces' (making them, the id maps, the
 *  pivot) or 'view' (an entry, with its path, or the chdir to cwd). */
/** What watchChild returns, for refChild: a number naming the watch. */
export type WatchHandle = number & { readonly __watch: unique symbol };

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
  step: string;
  path?: string;
}

/** What the addon itself exports: errno numbers, no names. */
interface RawAddon extends Omit<Addon, 'probe'> {
  probe(tryNamespaces?: boolean): Omit<NativeProbe, 'landlockError' | 'namespaces'> & {
    landlockErrno: number;
    namespaces?: { ok: boolean; errno: number; step: string | null };
  };
}

export interface TcpOwner {
  uid: number;
  inode: number;
  state: number;
}

export interface Addon {
  /** Kernel facts; with false, the namespace layer is not tried (namespaces absent). */
  probe(tryNamespaces?: boolean): NativeProbe;
  /** Never returns: execs, or throws a NativeError. */
  exec(plan: NativePlan): never;
  /** Forks a child that confines itself, dies with this process and execs;
   *  its pid, or a NativeError. This process must have no other child (nor
   *  one still supervised: EBUSY). With plan.namespaces the child is the
   *  jail's init (PID 1 inside), and the pid is the init's; it returns once
   *  the command has exec'd. fds: this process's copies of
   *  plan.namespaces.sockets, in their order (O_CLOEXEC; for
   *  net.Server#listen({ fd }) or dgram's bind({ fd })), ours to close; a
   *  socket that cannot be made fails with step 'network' and its
   *  'tcp 0.0.0.0:443' as path, before anything ran. */
  spawn(plan: NativePlan): { pid: number; fds: number[] };
  /**
   * spawn() in two halves: spawnStart makes the command ready on a thread
   * of its own (its process, confined, waits before its exec) while JavaScript
   * goes on; spawnFinish(true) lets it run and returns or throws what
   * spawn() does; spawnFinish(false) ends it having run nothing and
   * returns the signals that came meanwhile (bit n: signal n). `gated`:
   * nothing of the file system is looked at (the view built, or a rule's
   * path opened) until spawnView(); without it, spawnFinish ends the
   * command having run nothing. Gated in the namespace layer, a view's
   * rule entries (root's /etc, entry by entry) are the caller's to add,
   * spawnRules(), while the init builds the rest of the view: false when
   * there are none; without it, spawnFinish ends the command having run
   * nothing; what fails is thrown (then spawnFinish(false) ends it).
   */
  spawnStart(plan: NativePlan, gated: boolean): void;
  spawnView(): void;
  spawnRules(): boolean;
  spawnFinish(go: boolean): { pid: number; fds: number[] } | number;
  /** A per-child spawn for the library (native/supervisor.h,
   *  jail_spawn_child): many at once, nothing process-wide (no subreaper,
   *  no signal forwarding). stdio: three fds of this process that become
   *  the child's 0, 1 and 2; cwd: where it starts outside the namespace
   *  layer. Returns once the command has execed; pidfd and report (the
   *  init's report socket, -1 outside the namespace layer) are for
   *  watchChild, which closes them. Throws as spawn() does. */
  spawnChild(plan: NativePlan, stdio: [number, number, number], cwd: string | undefined): { pid: number; pidfd: number; report: number; fds: number[] };
  /** spawnChild in two halves, on the main thread, when the warm init of
   *  the namespace layer can take it: spawnChildStart makes the command
   *  ready, waiting before it confines itself, having run nothing, while
   *  JavaScript checks what it must; spawnChildFinish() lets it go on and
   *  returns or throws as spawnChild does; spawnChildCancel() ends it.
   *  false when nothing was started (then spawnChild does it all); what
   *  fails is thrown (nothing ran). One at a time. */
  spawnChildStart(plan: NativePlan, stdio: [number, number, number], cwd: string | undefined): boolean;
  spawnChildFinish(): { pid: number; pidfd: number; report: number; fds: number[] };
  spawnChildCancel(): void;
  /** Polls the pidfd on this thread's event loop (no thread waits); once
   *  the child has ended, reaps it, closes pidfd and report, and calls
   *  back once with its status (the command's in the namespace layer). */
  watchChild(pid: number, pidfd: number, report: number, callback: (err: NativeError | null, status: NativeStatus | null) => void): WatchHandle;
  /** Whether the poll of watchChild's handle keeps the event loop alive
   *  (it does until told otherwise; nothing once the child is reaped). */
  refChild(handle: WatchHandle, on: boolean): void;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** close(2) of a descriptor the addon made (not fs.closeSync: a worker
   *  thread warns about one fs did not open). */
  close(fd: number): void;
  /** The owner of the TCP socket with these ends (its own address and
   *  port, then its peer's) in this process's network namespace, by
   *  sock_diag's exact lookup (native/peer.c): uid, socket inode (0: no
   *  descriptor holds it) and TCP state; null when there is no such socket.
   *  Throws a NativeError (step 'peer') when the lookup fails. */
  tcpOwner(local: string, localPort: number, remote: string, remotePort: number): TcpOwner | null;
  /** What the host answers now about each path (binding.cc's Answer:
   *  ops[i] is the question about paths[i], with nums[i] where it takes a
   *  number), for src/trace.ts. */
  answers(ops: string, paths: string[], nums: number[]): string[];
  /** answers()'s questions asked on a thread of the addon's while this
   *  one goes on; false when some are already being asked (or no thread
   *  could be had). A clone or exec of the addon's waits for them and
   *  drops what they found. */
  answersStart(ops: string, paths: string[], nums: number[]): boolean;
  /** What answersStart found, once it is done, for exactly these
   *  questions; null for any other questions, or none started. */
  answersTake(ops: string, paths: string[], nums: number[]): string[] | null;
  /** 128 bits of the text's UTF-8 (or latin1) bytes, in hex; not a
   *  cryptographic hash (binding.cc's Digest). */
  digest(text: string, latin1?: boolean): string;
  /** `bytes` random bytes (getrandom(2)) as hex digits; at most 256. */
  random(bytes: number): string;
  /** Waits for the child, passing on signals sent to this process; then
   *  kills and reaps everything the child left running. The child's status;
   *  in the namespace layer the command's, which the init reports. */
  supervise(pid: number): NativeStatus;
  /** supervise() on a thread of libuv's pool, which it holds while the
   *  command runs; the callback comes on this thread. */
  superviseAsync(pid: number, callback: (err: Error | null, status: NativeStatus) => void): void;
  /** Dies of `signal` (default disposition), dumping no core; returns if it
   *  is ignored by default. */
  reraise(signal: number): void;
  /** What the observer recorded since the last take (after supervise
   *  returns, all of it); dropped: calls let through unrecorded past the
   *  bounds (100 000 calls, 32 MiB). */
  takeObserved(): { calls: NativeObserved[]; dropped: number };
  /** Removes a directory tree following no symlink in it, however deep;
   *  throws a NativeError (step 'rmtree'). */
  rmtree(path: string): void;
  /** The descriptor of directory `path` (a symlink at its name is not
   *  followed), holding a shared lock on it until it is closed; dirLocked:
   *  whether any process holds one. Throw a NativeError (step 'lock'). */
  lockDir(path: string): number;
  dirLocked(path: string): boolean;
  /** A new directory (mkdir 0700; EEXIST when the name is taken), locked
   *  as lockDir locks: the lock's descriptor. Throws a NativeError (step
   *  'tmpdir', or 'lock'). */
  makeDir(path: string): number;
  /** A new file (never one that is there, nor through a link), 0600,
   *  holding text. Throws a NativeError (step 'tmpdir'). */
  writeNew(path: string, text: string): void;
  /** Every entry under the directory root but symlinks, lstat'd, following
   *  no symlink below it (native/scan.c): the paths relative to root joined
   *  by NULs (the root's own is ''), and per entry (flags << 32 | mode),
   *  dev, ino;
   *  flag 1: a directory not listed whole; per entry its mtime and ctime
   *  (ns; a directory's read before it was listed); and the clock (ns,
   *  CLOCK_REALTIME) just before the scan began. Throws a NativeError
   *  (step 'scan') when root cannot be opened. */
  scanTree(root: string, maxDepth: number): ScanRaw;
  /** The same scan on a thread of the addon's, to be taken later by
   *  scanTreeTake; false when one is pending already (or no thread). */
  scanTreeStart(root: string, maxDepth: number): boolean;
  /** Waits for the scan scanTreeStart started with these arguments and
   *  returns (or throws) what scanTree would have; null when none was. */
  scanTreeTake(root: string, maxDepth: number): ScanRaw | null;
  /** Whether the tree at root holds what an earlier scanTree of it gave
   *  (its names; its meta, and its directories' two times each, in order,
   *  as the bytes of the 64-bit words), checked without listing it:
   *  every entry's mode and identity, every directory's times
   *  (native/scan.c, jail_scan_verify). */
  scanTreeVerify(root: string, maxDepth: number, names: string, meta: Uint8Array, times: Uint8Array): boolean;
  /** The same check on a thread of the addon's (one scan or check at a
   *  time; false when one is pending), and its verdict, waited for; null
   *  when no check of that root and depth was started. */
  scanTreeVerifyStart(root: string, maxDepth: number, names: string, meta: Uint8Array, times: Uint8Array): boolean;
  scanTreeVerifyTake(root: string, maxDepth: number): boolean | null;
  /** What scanTree returns, kept between calls for a process that asks
   *  again and again: given again while inotify shows no change in the
   *  tree and the mount table has not changed (binding.cc). kept: this
   *  answer is the kept one (false: scanned now); generation: which scan
   *  it is, a new number for each made in this process (by any thread). */
  scanTreeKept(root: string, maxDepth: number): ScanRaw & { kept: boolean; generation: number };
}

/** A scan as the addon gives it (scanTree). */
export interface ScanRaw {
  names: string;
  meta: BigUint64Array;
  times: BigUint64Array;
  began: bigint;
}

let addon: Addon | undefined;
/** The files the addon was loaded from (the .node, and node-gyp-build when
 *  it found it): jail's own code, which no grant may let the command write. */
const loadedFrom: string[] = [];

export function addonFiles(): readonly string[] {
  return loadedFrom;
}

/** errno (negative) → 'EACCES', as Node names its own errors; libuv's table
 *  lacks a few (ESTALE), which the platform's errno.h names (os.constants). */
function errnoName(errno: number): string {
  const name = util.getSystemErrorName(errno);
  if (!name.startsWith('Unknown')) return name;
  // node:os only here (rare): a start-up that loads it pays 0.25 ms.
  const table = (require('node:os') as typeof import('node:os')).constants.errno;
  return Object.entries(table).find(([, n]) => n === -errno)?.[0] ?? name;
}

/** The addon with its errors (and probe's landlockErrno) named. */
function named(raw: RawAddon): Addon {
  const coded =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        const n = e as NativeError;
        if (typeof n.errno === 'number' && typeof n.step === 'string') n.code = errnoName(n.errno);
        throw e;
      }
    };
  return {
    probe(tryNamespaces = true) {
      const { landlockErrno, namespaces: ns, ...p } = raw.probe(tryNamespaces);
      return {
        ...p,
        landlockError: landlockErrno ? errnoName(landlockErrno) : null,
        ...(ns && { namespaces: { ...ns, code: ns.errno ? errnoName(ns.errno) : null } }),
      };
    },
    exec: coded(raw.exec),
    spawn: coded(raw.spawn),
    spawnStart: coded(raw.spawnStart),
    spawnView: coded(raw.spawnView),
    spawnRules: coded(raw.spawnRules),
    spawnFinish: coded(raw.spawnFinish),
    spawnChild: coded(raw.spawnChild),
    spawnChildStart: coded(raw.spawnChildStart),
    spawnChildFinish: coded(raw.spawnChildFinish),
    spawnChildCancel: raw.spawnChildCancel,
    watchChild: coded(raw.watchChild),
    refChild: coded(raw.refChild),
    pipe: coded(raw.pipe),
    close: coded(raw.close),
    tcpOwner: coded(raw.tcpOwner),
    answers: coded(raw.answers),
    answersStart: coded(raw.answersStart),
    answersTake: coded(raw.answersTake),
    digest: coded(raw.digest),
    random: coded(raw.random),
    supervise: coded(raw.supervise),
    superviseAsync: coded(raw.superviseAsync),
    reraise: coded(raw.reraise),
    takeObserved: coded(raw.takeObserved),
    rmtree: coded(raw.rmtree),
    lockDir: coded(raw.lockDir),
    dirLocked: coded(raw.dirLocked),
    makeDir: coded(raw.makeDir),
    writeNew: coded(raw.writeNew),
    scanTree: coded(raw.scanTree),
    scanTreeStart: coded(raw.scanTreeStart),
    scanTreeTake: coded(raw.scanTreeTake),
    scanTreeVerify: coded(raw.scanTreeVerify),
    scanTreeVerifyStart: coded(raw.scanTreeVerifyStart),
    scanTreeVerifyTake: coded(raw.scanTreeVerifyTake),
    scanTreeKept: coded(raw.scanTreeKept),
  };
}

export function loadAddon(): Addon {
  if (addon) return addon;
  if (process.platform !== 'linux') {
    throw new NativeLoadError(
      `cannot confine anything on ${process.platform}: jail needs Linux with Landlock and seccomp.`,
      'run it on Linux 5.13 or later, or pass --best-effort to run the command unconfined.',
      true,
    );
  }
  const root = packageRoot();
  try {
    // Start-up: a local build is where node-gyp-build would look first;
    // loading it directly skips its search (about 1 ms).
    // process.dlopen as require() does it, without the module lookup
    // around it (0.4 ms in a cold process).
    const local = path.join(root, 'build', 'Release', 'jail.node');
    const m = { exports: {} };
    process.dlopen(m, local);
    addon = named(m.exports as RawAddon);
    loadedFrom.push(local);
    return addon;
  } catch {
    // no local build: prebuilds/, through node-gyp-build
  }
  try {
    const load = require('node-gyp-build') as ((dir: string) => unknown) & { resolve(dir: string): string };
    addon = named(load(root) as RawAddon);
    loadedFrom.push(load.resolve(root), path.dirname(require.resolve('node-gyp-build')));
    return addon;
  } catch (e) {
    throw new NativeLoadError(
      `cannot load jail's native addon for linux-${process.arch}-${libc()} (Node ${process.versions.node}, N-API ${process.versions.napi}): ${(e as Error).message.split('\n')[0]}`,
      `build it from source with \`npm rebuild jail\` (needs python3, make and a C/C++ compiler).`,
    );
  }
}

/** The package's root (where build/ and prebuilds/ live): this module runs
 *  from dist/native/ (tsc) or from the bundled dist/cli.js. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** glibc or musl, for the message of a failed load (off the hot path). */
function libc(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}
