/**
 * What policy building needs to know about the machine, as an interface so
 * the builder stays pure and is tested with a fake file system.
 * The real one is src/host.ts.
 */
export interface Stat {
  isDir: boolean;
  isFile: boolean;
  isSymlink: boolean;
  mode: number;
  /** The file's identity, which the addon checks again when it opens the
   *  path: what was checked is what is granted. Absent on fake hosts. */
  dev?: bigint;
  ino?: bigint;
  /** Owner, for the stale TMPDIR sweep and /etc. */
  uid?: number;
}

/** One entry of a scanned tree (Host.scanTree): its lstat, with identity. */
export interface ScanEntry extends Stat {
  /** Relative to the scanned root, '/'-separated; '' for the root itself. */
  path: string;
  /** A directory whose entries below are not all listed (it could not be
   *  read, an entry in it could not be stat'd, or it lies deeper than the
   *  scan goes): never to be taken as a whole. */
  incomplete: boolean;
  /** A directory's modification and change times (ns), when it was
   *  listed after its last change, on a file system whose directory times
   *  move with every name added, removed or renamed: a stored plan checks
   *  the tree by them and its entries' modes (src/trace.ts). Absent on fake
   *  hosts. */
  times?: readonly [mtimeNs: bigint, ctimeNs: bigint];
}

export interface DirEntry {
  name: string;
  isDir: boolean;
  isSymlink: boolean;
}

export interface Host {
  cwd: string;
  home: string;
  uid: number;
  /** PATH of the invoking environment. */
  path: string;
  /** Resolves symlinks; null when the path does not exist. */
  realpath(p: string): string | null;
  /** Follows symlinks unless lstat. null when missing. Without identity. */
  stat(p: string, lstat?: boolean): Stat | null;
  /** lstat with the file's identity (dev, ino), for a grant. */
  identify(p: string): Stat | null;
  readdir(p: string): DirEntry[];
  /**
   * Every entry under the directory `root` (a realpath) but symlinks (the
   * policy judges one by where it points), lstat'd with its identity,
   * following no symlink below root: root first (path ''), then in
   * pre-order, each directory's entries sorted by name. Directories more
   * than maxDepth below root come without their entries (incomplete). null
   * when root is no directory or cannot be opened. One native call on the
   * real host (native/scan.c); a walk through readdir and identify on a
   * fake one (walkTree).
   */
  scanTree(root: string, maxDepth: number): ScanEntry[] | null;
  /** A symlink's target as written; null when p is no symlink. */
  readlink(p: string): string | null;
  /** First bytes of a file, null when unreadable. */
  readHead(p: string, n: number): string | null;
  /** access(p, X_OK) for the invoking user. */
  executable(p: string): boolean;
  /**
   * A small regular file's text, for config files: null when it does not
   * exist. Refuses (throws PolicyError) what is not a regular file (a FIFO
   * or /dev/zero would stall or flood jail), a file over `max` bytes
   * (default 4 MiB), and a symlink unless `follow`.
   */
  readText(p: string, opts?: { follow?: boolean; max?: number }): string | null;
  /** The terminals the command is given: those of fds 0-2 that are ttys,
   *  as paths (/dev/pts/3). */
  ttys: readonly string[];
  /** Where jail's own code runs from: its package directory, the node
   *  executable, the addon. The command must never be able to write them. */
  self: readonly string[];
  /** The jail command's stored plans (src/planstore.ts), when this jail keeps
   *  them: hidden from every jail that could read them. */
  planStore?: string;
  /** Where private TMPDIRs go (os.tmpdir(), symlinks resolved). */
  tmpdir: string;
  /** A fresh name for a private TMPDIR: `jail-<pid>-<random>`. */
  tempName(): string;
  /** /proc/net/unix (the UNIX sockets of this network namespace), null
   *  when unreadable; absent on fake hosts. */
  unixSockets?(): string | null;
}

/**
 * The host as one assemble() sees it: realpath, stat, identify and a config
 * file's text answered once per path (a run asks for /usr, /dev/null and the
 * rest several times over, and reads your git config for its copy and for
 * the hooks it names), so the plan is built from one consistent look. The addon checks
 * each grant's identity again when it opens it, so a change after the look
 * is caught there, never granted.
 */
export function lookOnce(host: Host): Host {
  return new LookOnce(host);
}

/** A class, not Object.create(host): a fresh prototype per run would cost
 *  V8 a new map each time, kept in old space. */
class LookOnce implements Host {
  private readonly real = new Map<string, string | null>();
  private readonly stats = new Map<string, Stat | null>();
  private readonly ids = new Map<string, Stat | null>();
  private readonly texts = new Map<string, string | null>();
  constructor(private readonly host: Host) {}
  get cwd() { return this.host.cwd; }
  get home() { return this.host.home; }
  get uid() { return this.host.uid; }
  get path() { return this.host.path; }
  get ttys() { return this.host.ttys; }
  get self() { return this.host.self; }
  get planStore() { return this.host.planStore; }
  get tmpdir() { return this.host.tmpdir; }
  realpath(p: string) { return once(this.real, p, () => this.host.realpath(p)); }
  stat(p: string, lstat = false) { return once(this.stats, `${lstat ? 'l' : 's'}${p}`, () => this.host.stat(p, lstat)); }
  identify(p: string) { return once(this.ids, p, () => this.host.identify(p)); }
  readdir(p: string) { return this.host.readdir(p); }
  scanTree(root: string, maxDepth: number) { return this.host.scanTree(root, maxDepth); }
  readlink(p: string) { return this.host.readlink(p); }
  readHead(p: string, n: number) { return this.host.readHead(p, n); }
  executable(p: string) { return this.host.executable(p); }
  readText(p: string, opts?: { follow?: boolean; max?: number }) {
    return once(this.texts, `${opts?.follow ? 'f' : 'l'}${opts?.max ?? ''}:${p}`, () => this.host.readText(p, opts));
  }
  tempName() { return this.host.tempName(); }
  unixSockets() { return this.host.unixSockets?.() ?? null; }
}

function once<T>(m: Map<string, T>, key: string, get: () => T): T {
  if (m.has(key)) return m.get(key)!;
  const v = get();
  m.set(key, v);
  return v;
}
