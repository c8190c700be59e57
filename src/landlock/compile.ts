import { PolicyError, UnsupportedKernelError } from '../errors.js';
import { printable } from '../text.js';
import type { Access, Policy, Source } from '../policy/model.js';
import { isWithin, someAbove } from '../policy/paths.js';
import { abiFor, abiRow, FILE_RIGHTS, FS, NET, RESTRICT, SCOPE, type AbiRow } from './abi.js';

export interface LandlockPathRule {
  path: string;
  access: bigint;
  isDir: boolean;
  sources: Source[];
  /** The identity the path had when checked (from the grant), if known. */
  dev?: bigint;
  ino?: bigint;
  /** An entry of a listing, given its rule only because a hidden path is
   *  beside or below it (splitForHidden), not a grant: gone by the time the
   *  rule is made (another run's TMPDIR in /tmp, say), it is left out.
   *  Nothing is there to grant, and what is made there later is not. */
  optional?: boolean;
}

export interface LandlockPortRule {
  port: number;
  access: bigint;
}

/** A Landlock ruleset as plain data: what the addon needs, and what
 *  --print-policy shows. */
export interface LandlockPlan {
  abi: number;
  /** Size of struct landlock_ruleset_attr this ABI accepts. */
  attrSize: 8 | 16 | 24;
  handledFs: bigint;
  handledNet: bigint;
  scoped: bigint;
  restrictFlags: number;
  paths: LandlockPathRule[];
  ports: LandlockPortRule[];
  /** Grants left out because a broader one covers them. */
  covered: number;
}

export interface CompileOptions {
  /** Run with what the kernel can enforce instead of refusing. */
  bestEffort?: boolean;
  /** The command has a network namespace of its own (loopback only):
   *  nothing outside is reachable, so Landlock governs no ports. */
  privateNet?: boolean;
  /** The namespace layer: only the view's paths exist, and the syscall
   *  filter allows UNIX sockets (what best effort says it does instead). */
  view?: boolean;
}

export interface LandlockResult {
  /** null when the kernel has no Landlock and best effort was asked for. */
  plan: LandlockPlan | null;
  /** What best effort left out, one line each, for stderr. */
  dropped: string[];
}

const RO = FS.EXECUTE | FS.READ_FILE | FS.READ_DIR;

/** The rights an access level means on this ABI, before file masking. */
export function rightsFor(access: Access, row: AbiRow): bigint {
  switch (access) {
    case 'ro':
      return RO & row.fs;
    case 'list':
      return FS.READ_DIR & row.fs;
    case 'dev':
      return (FS.READ_FILE | FS.WRITE_FILE | FS.TRUNCATE | FS.IOCTL_DEV | FS.READ_DIR) & row.fs;
    case 'rw':
      // Everything but creating device nodes.
      return row.fs & ~(FS.MAKE_CHAR | FS.MAKE_BLOCK);
  }
}

/** Landlock rejects directory-only rights on a file. */
export function maskForKind(rights: bigint, isDir: boolean): bigint {
  return isDir ? rights : rights & (FILE_RIGHTS | FS.RESOLVE_UNIX);
}

/**
 * Policy + the kernel's ABI → the ruleset. Pure. Refuses (throws
 * UnsupportedKernelError) when the kernel cannot enforce what the policy
 * asks for, unless best effort, which leaves it out and says so.
 */
export function compileLandlock(policy: Policy, abi: number, opts: CompileOptions = {}): LandlockResult {
  const dropped: string[] = [];
  // Is the feature there? If not: refuse, or (best effort) note and go on.
  const need = (ok: boolean, feature: string, field: 'fs' | 'net' | 'scoped' | null, bits: bigint, what: string, instead = '') => {
    if (ok) return true;
    const row = field ? abiFor(field, bits) : abiRow(7);
    const err = UnsupportedKernelError.landlock(feature, what, abi, row.abi, row.linux);
    if (!opts.bestEffort) throw err;
    dropped.push(`${feature} (needs Landlock ABI ${row.abi}, Linux ${row.linux}; this kernel has ${abi === 0 ? 'none' : abi})${instead}`);
    return false;
  };

  const row = abiRow(abi);
  if (!need(abi >= 1, 'Landlock', 'fs', FS.EXECUTE, 'any file system rule')) {
    return { plan: null, dropped: ['all file system and network confinement: this kernel has no Landlock'] };
  }
  // Without TRUNCATE, a read-only file (and /usr, for root) can be truncated.
  need((row.fs & FS.TRUNCATE) !== 0n, 'truncation control', 'fs', FS.TRUNCATE, 'read-only paths');

  const paths = mergeGrants(policy, row);
  if (policy.net.unixPaths.length) {
    // Without the rule: the fallback's filter refuses UNIX sockets; the
    // namespace layer's allows them, and the view decides which exist.
    const named = policy.net.unixPaths.join(', ');
    const instead = opts.view
      ? `; the view decides instead: UNIX sockets work under the granted paths, as without --allow-unix (under a read-only grant a socket of a process outside is covered, but not ${named}), and ${named} only where a grant shows it`
      : `; UNIX sockets are refused instead (socketpair still works), ${named} included`;
    if (need((row.fs & FS.RESOLVE_UNIX) !== 0n, 'UNIX socket path control', 'fs', FS.RESOLVE_UNIX, '--allow-unix PATH', instead)) {
      for (const p of policy.net.unixPaths) paths.rules.push({ path: p, access: FS.RESOLVE_UNIX, isDir: false, sources: [{ kind: 'flag', flag: '--allow-unix', given: p }] });
    }
  }

  let handledNet = 0n;
  const ports: LandlockPortRule[] = [];
  if (policy.net.mode === 'none' && !opts.privateNet) {
    const tcp = NET.BIND_TCP | NET.CONNECT_TCP;
    const wantsPorts = policy.net.connect.length + policy.net.bind.length > 0;
    // With no ports asked for, seccomp alone can refuse TCP sockets on an
    // older kernel; ports need Landlock.
    const asking = policy.egress && policy.net.connect.some((r) => r.from === policy.egress!.port) ? '--allow-host (a rule for the egress proxy\'s port)' : '--allow-connect/--allow-bind';
    if (!wantsPorts || need((row.net & tcp) === tcp, 'TCP port control', 'net', tcp, asking, '; TCP sockets are refused instead')) {
      handledNet |= row.net & tcp;
    }
    if (handledNet) {
      for (const r of policy.net.bind) for (let p = r.from; p <= r.to; p++) ports.push({ port: p, access: NET.BIND_TCP });
      for (const r of policy.net.connect) for (let p = r.from; p <= r.to; p++) ports.push({ port: p, access: NET.CONNECT_TCP });
    }
    // UDP: handled where the kernel can (ABI 10); DNS then gets port 53.
    const udp = NET.BIND_UDP | NET.CONNECT_SEND_UDP;
    if ((row.net & udp) === udp) {
      handledNet |= udp;
      if (policy.net.dns) ports.push({ port: 53, access: NET.CONNECT_SEND_UDP });
    }
  }

  let scoped = 0n;
  if (policy.scopeSignals && need((row.scoped & SCOPE.SIGNAL) !== 0n, 'signal scoping', 'scoped', SCOPE.SIGNAL, 'signal isolation')) {
    scoped |= SCOPE.SIGNAL;
  }
  if (policy.scopeAbstractUnix && need((row.scoped & SCOPE.ABSTRACT_UNIX_SOCKET) !== 0n, 'abstract UNIX socket scoping', 'scoped', SCOPE.ABSTRACT_UNIX_SOCKET, 'abstract UNIX socket isolation')) {
    scoped |= SCOPE.ABSTRACT_UNIX_SOCKET;
  }
  let restrictFlags = 0;
  if (policy.logDenials && need((row.restrictFlags & RESTRICT.LOG_NEW_EXEC_ON) !== 0, 'audit logging of denials', null, 0n, '--log-denials')) {
    restrictFlags |= RESTRICT.LOG_NEW_EXEC_ON;
  }

  const plan: LandlockPlan = {
    abi,
    attrSize: abi >= 6 ? 24 : abi >= 4 ? 16 : 8,
    handledFs: row.fs,
    handledNet,
    scoped,
    restrictFlags,
    paths: paths.rules,
    ports,
    covered: paths.covered,
  };
  return { plan, dropped };
}

/**
 * One rule per path, rights united, masked for files; a grant whose rights a
 * directory above it already gives is left out (it would change nothing).
 */
function mergeGrants(policy: Policy, row: AbiRow): { rules: LandlockPathRule[]; covered: number } {
  const byPath = new Map<string, LandlockPathRule>();
  // The rights of each access level, for a file and for a directory,
  // worked out once (root's /etc brings hundreds of grants).
  const rights = {} as Record<Access, [file: bigint, dir: bigint]>;
  for (const a of ['ro', 'list', 'dev', 'rw'] as const) rights[a] = [maskForKind(rightsFor(a, row), false), maskForKind(rightsFor(a, row), true)];
  for (const g of policy.grants) {
    const access = rights[g.access][g.isDir ? 1 : 0];
    const prev = byPath.get(g.path);
    if (prev) {
      prev.access |= access;
      prev.sources.push(g.source);
      // The first identity seen stands; the addon grants that object only.
      if (prev.dev === undefined && g.dev !== undefined && g.ino !== undefined) {
        prev.dev = g.dev;
        prev.ino = g.ino;
      }
    } else {
      const rule: LandlockPathRule = { path: g.path, access, isDir: g.isDir, sources: [g.source] };
      if (g.dev !== undefined && g.ino !== undefined) {
        rule.dev = g.dev;
        rule.ino = g.ino;
      }
      byPath.set(g.path, rule);
    }
  }
  const all = [...byPath.values()];
  // A read-only path inside a writable tree stays: Landlock cannot narrow
  // (its rule changes nothing here), but the namespace layer mounts it
  // read-only, and the fallback keeps it by restoring it (a guard).
  const narrower = (r: LandlockPathRule, d: LandlockPathRule) => (r.access & WRITE) === 0n && (d.access & WRITE) !== 0n && r.sources.some((s) => s.kind === 'flag' || s.kind === 'config');
  const coveredBy = (r: LandlockPathRule, d: LandlockPathRule | undefined) => d !== undefined && d.isDir && (r.access & ~d.access) === 0n && !narrower(r, d);
  const rules = all.filter((r) => !someAbove(r.path, (q) => coveredBy(r, byPath.get(q))));
  return { rules, covered: all.length - rules.length };
}

const WRITE = FS.WRITE_FILE | FS.MAKE_REG | FS.MAKE_DIR | FS.REMOVE_FILE | FS.REMOVE_DIR;

/**
 * Hidden paths with Landlock alone, which can only allow: each rule that
 * lets the command read a hidden path is split around it. The rule's own
 * directory and those on the way down keep only the right to list; every
 * other entry of each gets the rule's rights. Sound only for read-only
 * rules: a writable one would give its rights to what is created in those
 * directories later (unreadable then, which breaks tools), and a rename
 * could not be stopped either. So a writable rule over a hidden path is
 * refused, or left alone in best effort and said.
 */
export function splitForHidden(plan: LandlockPlan, policy: Pick<Policy, 'hidden' | 'listings'>, bestEffort: boolean): string[] {
  const dropped: string[] = [];
  const read = FS.READ_FILE | FS.EXECUTE;
  for (const h of policy.hidden) {
    const over = plan.paths.filter((r) => r.isDir && r.path !== h.path && isWithin(h.path, r.path) && (r.access & read) !== 0n);
    const writable = over.find((r) => (r.access & WRITE) !== 0n);
    if (writable) {
      const why = `${printable(h.path)} (${h.why}) cannot be hidden inside ${printable(writable.path)}, which is writable, without the namespace layer (${'Landlock can only allow'}).`;
      if (!bestEffort) {
        throw new UnsupportedKernelError(
          'hiding inside a writable tree',
          why,
          `let the command read it (--unhide ${printable(h.path)}), grant the tree read-only with narrower --rw inside it, allow unprivileged user namespaces, or pass --best-effort.`,
        );
      }
      dropped.push(`hiding ${printable(h.path)}: ${why}`);
      continue;
    }
    for (const r of over) split(plan, r, h.path, policy.listings);
  }
  // A split gives each entry beside the path it goes around a rule: not
  // to another hidden path beside it.
  const hidden = new Set(policy.hidden.map((h) => h.path));
  plan.paths = plan.paths.filter((r) => !hidden.has(r.path) || dropped.some((d) => d.startsWith(`hiding ${printable(r.path)}:`)));
  return dropped;
}

function split(plan: LandlockPlan, rule: LandlockPathRule, hidden: string, listings: Pick<Policy, 'listings'>['listings']): void {
  plan.paths = plan.paths.filter((r) => r !== rule);
  const list = FS.READ_DIR & rule.access;
  for (let dir = rule.path; ; ) {
    const listing = listings.find((l) => l.dir === dir);
    // A partial one (made for the namespace layer) would leave out what is
    // beside the way: refused rather than run with less than the grant.
    if (!listing || listing.partial) throw new PolicyError(`jail has no ${listing ? 'full ' : ''}listing of ${printable(dir)} to hide ${printable(hidden)}.`, 'run again; if it keeps happening, report it.');
    const next = hidden.slice(dir === '/' ? 1 : dir.length + 1).split('/')[0]!;
    const at = (n: string) => (dir === '/' ? `/${n}` : `${dir}/${n}`);
    // The rule's own path stays what it was (a grant, or an entry another
    // split added); those below it on the way are entries of listings.
    const own = dir === rule.path;
    plan.paths.push({ path: dir, access: list, isDir: true, sources: rule.sources, ...(own && rule.dev !== undefined && { dev: rule.dev, ino: rule.ino }), ...((!own || rule.optional) && { optional: true }) });
    for (const e of listing.entries) {
      if (e.name === next) continue;
      plan.paths.push({ path: at(e.name), access: maskForKind(rule.access, e.isDir), isDir: e.isDir, sources: rule.sources, optional: true, ...(e.dev !== undefined && { dev: e.dev, ino: e.ino }) });
    }
    if (at(next) === hidden) break;
    dir = at(next);
  }
}
