/**
 * The policy: plain data saying what the jailed program may touch. Built
 * from flags (and later config files and profiles) by build.ts, compiled to
 * kernel rules by src/landlock and src/seccomp.
 */

/** ro: read and execute. rw: ro plus create, write, delete, rename, link.
 *  dev: read, write and ioctl on a device file (the system base's /dev).
 *  list: list a directory's entries, read nothing. */
export type Access = 'ro' | 'rw' | 'dev' | 'list';

export type Source =
  | { kind: 'flag'; flag: string; given: string }
  | { kind: 'config'; flag: string; given: string; where: string; /** Declared by the project's config: as written, and where. */ project?: { given: string; where: string } }
  | {
      kind: 'base';
      what: string;
      /** /etc's listing as root: how many entries only root may read were left out. */
      leftOut?: number;
      /** Those entries (the topmost of each left-out tree), which the
       *  namespace layer's view covers (src/namespace/view.ts). */
      covers?: Array<{ path: string; isDir: boolean }>;
    }
  | { kind: 'command'; what: string }
  | { kind: 'jail'; what: string };

export interface PathGrant {
  /** Absolute, symlinks resolved. */
  path: string;
  access: Access;
  isDir: boolean;
  source: Source;
  /** The identity seen when the path was checked; the addon refuses to
   *  grant the path if it opens another file. Absent for what jail makes
   *  itself (the private TMPDIR) and on fake hosts. */
  dev?: bigint;
  ino?: bigint;
}

import type { HostRule } from '../egress/rules.js';

export interface PortRange {
  from: number;
  to: number;
}

export interface NetPolicy {
  /** none: TCP only through Landlock rules; all: no network restriction. */
  mode: 'none' | 'all';
  connect: PortRange[];
  bind: PortRange[];
  /** UDP for name lookups (all UDP before Landlock ABI 10, port 53 after). */
  dns: boolean;
  /** socket(AF_UNIX) for any path. */
  unix: boolean;
  /** Pathname UNIX sockets granted through Landlock (ABI 9). */
  unixPaths: string[];
  /** SOCK_RAW and AF_PACKET. */
  rawSockets: boolean;
  /** --allow-host: reached through jail's egress proxy, nothing else. */
  hosts: HostRule[];
}

/**
 * The egress proxy the supervisor runs for --allow-host (src/egress). The
 * command's proxy variables name 127.0.0.1:port. In the fallback that is
 * the host's loopback, and a Landlock rule allows connecting to the port;
 * in the namespace layer the jail's init binds it (and the rest below)
 * inside the command's own network namespace and hands the sockets out.
 */
export interface Egress {
  /** The proxy's port; 0 where no run picks one (--print-policy). */
  port: number;
  /** Name lookups in the namespace layer: resolv.conf (its real path)
   *  shown as jail's copy, which names jail's DNS server on 127.0.0.1.
   *  null when it cannot be shown (no private TMPDIR, or a symlink that
   *  leads out of the view): then only the proxy variables lead out. */
  resolvConf: { path: string; source: string } | null;
  /** Ports on which the namespace layer takes connections to the local
   *  addresses its DNS gives allowed names (programs that ignore proxy
   *  variables): one per port the name rules name. */
  transparentPorts: number[];
}

/** What the jailed program's environment is made of. */
export interface EnvPolicy {
  /** filter: everything but secrets and injection hooks; all: everything;
   *  clean: only a minimal list. */
  mode: 'filter' | 'all' | 'clean';
  /** Names passed through whatever the mode. */
  pass: string[];
  /** Set to these values. */
  set: Record<string, string>;
}

/**
 * --ssh-agent: what the jailed program's SSH_AUTH_SOCK leads to.
 * - confirm: `socket`, in the private TMPDIR, where the supervisor speaks
 *   the agent protocol (src/sshagent), asks the user before each signature
 *   and forwards to `upstream`, the real agent, which stays out of reach;
 * - allow: `socket` is the real agent's, shown in the view (a grant).
 * Absent (or deny): no agent inside.
 */
export interface SshAgent {
  mode: 'confirm' | 'allow';
  /** What SSH_AUTH_SOCK names inside. */
  socket: string;
  /** The real agent's socket (the invoking environment's SSH_AUTH_SOCK). */
  upstream: string;
  /** Its identity when the policy was made (confirm: the namespace layer
   *  covers that object wherever a grant shows it). */
  dev?: bigint;
  ino?: bigint;
}

export interface Policy {
  grants: PathGrant[];
  env: EnvPolicy;
  /** A fresh private directory, read-write, as TMPDIR (needs the supervisor
   *  to remove it afterwards). */
  privateTmp: boolean;
  net: NetPolicy;
  /** The egress proxy, when --allow-host names any host; else null. */
  egress: Egress | null;
  /** Landlock scopes: no signals to, no abstract sockets of, processes outside. */
  scopeSignals: boolean;
  scopeAbstractUnix: boolean;
  /** Empty every capability set before exec (root keeps none). */
  dropCaps: boolean;
  /** Inherited fds passed on to the program besides 0-2. */
  keepFds: number[];
  sysvIpc: boolean;
  /** Escape hatch: syscalls whose deny rule is removed. */
  allowSyscalls: string[];
  /** Ask the kernel to audit-log denials of the jailed program (ABI 7). */
  logDenials: boolean;
  /** --report-denials: observe the path syscalls (a seccomp user
   *  notification observer that lets each go on) and, after the run, say
   *  which of them the plan refused. */
  reportDenials: boolean;
  /** The second wall: auto (where the kernel allows), require (refuse
   *  otherwise), off (Landlock and seccomp only). */
  namespaces: 'auto' | 'require' | 'off';
  /** Symlinks outside that lead to granted paths (`/bin` → `usr/bin`):
   *  made again in a namespace's view, so paths come out as they are. */
  aliases: Array<{ path: string; target: string }>;
  /** Files jail makes shown at another path in a view: the sanitised
   *  ~/.gitconfig at ~/.gitconfig, for tools that clear GIT_CONFIG_GLOBAL. */
  overlays: Array<{ path: string; source: string }>;
  /** npm's cache through a private layer (--npm-cache); null when off, or
   *  when a --rw grant already covers the cache (the user's own choice). */
  npmCache: NpmCache | null;
  /** The working directory, which the view must hold. */
  cwd: string;
  /** --ssh-agent confirm or allow; absent: no agent inside. */
  sshAgent?: SshAgent;
  /** What runs later outside the jail, kept as it is inside writable trees
   *  (--protect and the defaults: git, hook managers, editor and agent
   *  configs). See src/policy/protect.ts. */
  guards: Guard[];
  /** Paths the command may not read inside readable trees (--hide, and
   *  `.env` files by default). */
  hidden: Hidden[];
  /** --secret: variables the command sees as placeholders; absent or
   *  empty without. */
  secrets?: Secret[];
  /** What the directories on the way to each hidden path hold, for a
   *  Landlock that can only allow: the fallback grants each other entry. */
  listings: Listing[];
  /** UNIX sockets of processes outside under read-only grants, which the
   *  namespace layer's view covers (src/policy/sockets.ts). */
  hostSockets?: string[];
}

/**
 * npm's cache, read as it is and written to a private layer: in the
 * namespace layer an overlay on the real cache whose upper directory is
 * `layerDir/upper`; in the fallback a read-only grant (Landlock cannot
 * redirect writes). Afterwards only content that hashes to its own name is
 * copied into the real cache (src/npmcache/merge.ts): index entries,
 * packuments, `_npx` and logs the jail wrote are dropped, so nothing the
 * jail wrote can change what a later unjailed npm or npx runs.
 */
export interface NpmCache {
  /** The real cache, symlinks resolved. */
  path: string;
  dev?: bigint;
  ino?: bigint;
  /** jail's private directory for the layer (`jail-<pid>-<hex>` beside the
   *  private TMPDIR, 0700, holding upper/ and work/); decided by assemble. */
  layerDir?: string;
}

/**
 * A path inside a writable tree that must be the same after the run.
 * - keep: as it is now, content and all (a file, a directory, a symlink),
 *   or absent when it does not exist yet (a name git would read);
 * - pin: the entry itself stays (not renamed, removed or replaced by
 *   another), what is inside may change (`.git`);
 * - scan: no new entry named like one of `names` appears anywhere under
 *   `path`, down to `depth` levels (the path's own entries are level 1;
 *   node_modules skipped), besides
 *   those in `before`; new `.git` files may point only at `gitdirs` (each
 *   exactly; `DIR/*`: an entry of DIR, a linked worktree's);
 *   `record`: the search before the run stopped short (a big tree), so
 *   `before` may miss some: what is there when the command starts is
 *   recorded then, by the same walk as the check after it;
 * - worktrees: a repository's `worktrees` directory, where `git worktree
 *   add` makes new entries: a new one stays only when its `commondir` is
 *   git's own `../..` and it holds no config of its own.
 * The namespace layer mounts keep and pin guards of what exists (read-only,
 * or on itself), which the kernel then enforces; what is left is checked
 * and restored after the run (src/protect). The fallback does all of it
 * after the run.
 */
export type Guard =
  | { mode: 'keep'; path: string; kind: 'file' | 'dir' | 'symlink' | 'absent'; why: string; dev?: bigint; ino?: bigint }
  | { mode: 'pin'; path: string; kind: 'file' | 'dir'; why: string; dev?: bigint; ino?: bigint }
  | { mode: 'scan'; path: string; depth: number; names: string[]; before: string[]; gitdirs: string[]; why: string; reasons?: Record<string, string>; record?: boolean }
  | { mode: 'worktrees'; path: string; before: string[]; why: string };

/**
 * --secret NAME@HOST: the command's NAME is `placeholder`; the egress proxy
 * terminates TLS for `hosts` (with a CA made for the run) and puts the real
 * value, which only the supervisor holds (read by NAME from its own
 * environment), where the placeholder stands in a request's head.
 */
export interface Secret {
  name: string;
  placeholder: string;
  hosts: HostRule[];
  /** As written (the first time, when NAME is given more than once). */
  given: string;
}

/** A path the command may not read: in the namespace layer an empty
 *  read-only mount over it; in the fallback, the grants above it split
 *  around it (only possible where they are read-only). */
export interface Hidden {
  path: string;
  isDir: boolean;
  why: string;
  dev?: bigint;
  ino?: bigint;
}

/** A directory's entries, with identities, as seen when the policy was
 *  built (symlinks left out: a symlink grants nothing itself). */
export interface Listing {
  dir: string;
  /** Every entry but symlinks; with `partial`, only those on the way down
   *  to a hidden path (what the namespace layer needs: the directories it
   *  binds on themselves), which the Landlock layer cannot split a grant
   *  with (fullListings). */
  entries: Array<{ name: string; isDir: boolean; dev?: bigint; ino?: bigint }>;
  partial?: true;
}

/** What the kernel offers, from the addon's probe (or a test). */
export interface KernelFacts {
  /** 0 when Landlock is absent or disabled. */
  landlockAbi: number;
  seccomp: boolean;
  /** Node's name: 'x64', 'arm64', … */
  arch: string;
  /** Whether this process may make user, mount, PID and IPC namespaces with a
   *  fresh /proc (a real attempt, by the probe); why not, when not. */
  namespaces?: { ok: boolean; why?: string; assumed?: boolean };
}

export function describeSource(s: Source): string {
  switch (s.kind) {
    case 'flag':
      return `${s.flag} ${s.given}`;
    case 'config':
      return `${s.flag} ${s.given} (${s.where})`;
    case 'jail':
      return `jail (${s.what})`;
    case 'base':
      return `system base (${s.what})`;
    case 'command':
      return `command (${s.what})`;
  }
}
