/**
 * The namespace layer's view: what exists for the jailed program. A fresh
 * tmpfs is the root; each granted path is bound into it at the same path
 * (read-only, or writable), the system base's symlinks are made again, /proc
 * is the new PID namespace's own, /dev holds a few device nodes and a new
 * devpts, /sys is there only when granted by name. Nothing else exists: chmod, utime, setxattr, inotify, stat and
 * chdir outside the grants meet ENOENT, and a read-only grant gives EROFS.
 *
 * Pure: the Landlock path rules (which the addon adds on the very objects it
 * mounts) and the policy in, the ordered entries out. Landlock and seccomp
 * stay on top as they are.
 */
import type { Guard, Policy } from '../policy/model.js';
import { isWithin, nearestAbove, someAbove, withinAny } from '../policy/paths.js';

/** One thing to make in the view, applied in order (parents first). */
export type ViewEntry =
  | {
      kind: 'bind';
      /** Where it appears inside (and, without source, where it is outside). */
      path: string;
      /** Outside, when not at `path`: a file jail made (the sanitised ~/.gitconfig). */
      source?: string;
      dev?: bigint;
      ino?: bigint;
      readOnly: boolean;
      /** Device nodes keep working (no nodev). */
      device?: boolean;
      /** The Landlock rights of the rule added on the same object; 0n for none. */
      access: bigint;
      /** A guard's mount of a path on itself, inside a bind of the same
       *  kind: a mount point cannot be renamed, removed or replaced. */
      pin?: boolean;
    }
  /** An empty read-only file or directory over a hidden path. With dev
   *  and ino (a hidden path's, as found), the addon covers that object
   *  only, and refuses (ESTALE) when it is not at the path any more. */
  | { kind: 'empty'; path: string; isDir: boolean; dev?: bigint; ino?: bigint; access: bigint }
  /** A path the view already shows, inside a bind of the same kind: only
   *  its Landlock rule, on the object opened the same checked way. */
  | { kind: 'rule'; path: string; dev?: bigint; ino?: bigint; access: bigint }
  | { kind: 'dir'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'proc' | 'devpts' | 'tmpfs'; path: string; access: bigint }
  /** An overlay at `path`: the real directory there (opened the checked
   *  way, as a bind's source) read-only below, and `layer`/upper (with
   *  `layer`/work) above, a directory jail made outside the view. Writes
   *  land in the upper; what of them may reach the real directory is decided
   *  after the run (npm's cache: src/npmcache/merge.ts). */
  | { kind: 'overlay'; path: string; layer: string; dev?: bigint; ino?: bigint; access: bigint };

export interface ViewPlan {
  /** A network namespace of its own too (loopback only): the policy needs no
   *  network, so UNIX sockets and listen() can be allowed safely. */
  net: boolean;
  /** Sockets the init binds inside that namespace and hands to the
   *  supervisor (--allow-host): the egress proxy on 127.0.0.1, jail's DNS
   *  on 127.0.0.1:53, a listener on each port allowed hosts are reached on
   *  (the addresses jail's DNS gives them are all on loopback). */
  sockets: ViewSocket[];
  cwd: string;
  entries: ViewEntry[];
}

export interface ViewSocket {
  type: 'tcp' | 'udp';
  addr: string;
  port: number;
  /** What the supervisor serves on it. */
  role: 'proxy' | 'dns' | 'transparent';
}

/** A path rule as the Landlock compiler made it. */
export interface ViewRule {
  path: string;
  /** The Landlock rights (0n without Landlock). */
  access: bigint;
  /** A writable bind; else read-only. */
  writable: boolean;
  isDir: boolean;
  dev?: bigint;
  ino?: bigint;
}

export interface ViewRights {
  /** Rights for the new devpts (what the base's /dev nodes get). */
  dev: bigint;
  /** Rights for a file shown read-only (an overlay). */
  readFile: bigint;
  /** Rights for a directory written through a private layer (npm's cache). */
  readWrite: bigint;
}

/** Whether the policy needs the host's network at all. */
export function needsNetwork(policy: Policy): boolean {
  const n = policy.net;
  return n.mode === 'all' || n.connect.length > 0 || n.bind.length > 0 || n.dns || n.unixPaths.length > 0;
}

export function compileView(policy: Policy, rules: readonly ViewRule[], rights: ViewRights): ViewPlan {
  const entries: ViewEntry[] = [];
  let hasDev = false;
  const cache = policy.npmCache?.layerDir !== undefined ? policy.npmCache : null;
  for (const r of rules) {
    if (cache && r.path === cache.path) continue; // the overlay below, read-write
    if (r.path === '/proc') {
      entries.push({ kind: 'proc', path: r.path, access: r.access });
      continue;
    }
    if (r.path.startsWith('/dev/pts/')) continue; // the new devpts replaces the host's terminals by name; /dev/tty stays
    if (r.path.startsWith('/proc/')) continue; // the view's /proc is the jail's own (/etc/mtab's target is in it)
    const device = r.path.startsWith('/dev/') && !r.isDir;
    hasDev ||= device;
    const bind: Extract<ViewEntry, { kind: 'bind' }> = { kind: 'bind', path: r.path, readOnly: !r.writable, access: r.access };
    if (device) bind.device = true;
    if (r.dev !== undefined && r.ino !== undefined) {
      bind.dev = r.dev;
      bind.ino = r.ino;
    }
    entries.push(bind);
  }
  // A grant above /proc (`--ro /`) binds the host's /proc with it, every
  // process of the machine and its command line: the jail's own goes over
  // it, as it does for a grant of /proc, so that only the jail's processes
  // are there.
  if (!entries.some((e) => e.kind === 'proc')) {
    const above = rules.find((r) => isWithin('/proc', r.path));
    if (above) entries.push({ kind: 'proc', path: '/proc', access: above.access });
  }
  // Likewise the host's /sys: the machine's devices, its network
  // interfaces, its cgroup tree (other services' names and use). An empty
  // tmpfs goes over it, as the default view has no /sys at all (node, npm,
  // git and compilers do without it: what they read there, cpufreq and
  // cgroup limits, is optional). /sys granted by name stays the host's;
  // a path inside it granted by name is bound onto the tmpfs.
  // (By name: a grant, which a broader one may have merged away from the rules.)
  const sysCovered = !policy.grants.some((g) => g.path === '/sys') && !rules.some((r) => r.path === '/sys') && rules.some((r) => r.path !== '/sys' && isWithin('/sys', r.path));
  if (sysCovered) {
    entries.push({ kind: 'tmpfs', path: '/sys', access: 0n });
    // A grant inside it that the broader one merged away has no rule of
    // its own: bound all the same (the rule above it applies through it).
    for (const g of policy.grants) {
      if (g.path === '/sys' || !isWithin(g.path, '/sys') || g.access === 'list' || rules.some((r) => r.path === g.path)) continue;
      entries.push({ kind: 'bind', path: g.path, readOnly: g.access !== 'rw', access: 0n, ...(g.access === 'dev' && { device: true }), ...(g.dev !== undefined && g.ino !== undefined && { dev: g.dev, ino: g.ino }) });
    }
  }
  if (hasDev) {
    entries.push({ kind: 'devpts', path: '/dev/pts', access: rights.dev });
    entries.push({ kind: 'symlink', path: '/dev/ptmx', target: 'pts/ptmx' });
  }
  // Inside a bind of the same kind, a path is there already: only its rule
  // is added, without a mount of its own (root's /etc: one bind, a rule per
  // readable entry), which keeps the mounts few.
  const mounted = new Map<string, Extract<ViewEntry, { kind: 'bind' }>>();
  for (const e of entries) if (e.kind === 'bind' && !mounted.has(e.path)) mounted.set(e.path, e);
  // The binds that stay mounts, in order, and where they are: root's /etc
  // makes hundreds of entries, so the lookups below go by path (a walk up
  // the path), not through every bind.
  const binds: Array<Extract<ViewEntry, { kind: 'bind' }>> = [];
  const boundAt = new Set<string>();
  entries.forEach((e, i) => {
    if (e.kind !== 'bind') return;
    if (!e.device && !e.source && !e.pin && !(sysCovered && isWithin(e.path, '/sys'))) {
      // The nearest bind above it (the first at that path).
      const outer = nearestAbove(e.path, mounted);
      if (outer && outer.readOnly === e.readOnly && !outer.device) {
        const rule: Extract<ViewEntry, { kind: 'rule' }> = { kind: 'rule', path: e.path, access: e.access };
        if (e.dev !== undefined) {
          rule.dev = e.dev;
          rule.ino = e.ino;
        }
        entries[i] = rule;
        return;
      }
    }
    binds.push(e);
    boundAt.add(e.path);
  });
  entries.push(...coverEntries(policy, rules, mounted));
  for (const a of policy.aliases) {
    // Only where the view has no such path already (a symlink inside a bind is there).
    if (!withinAny(a.path, boundAt)) entries.push({ kind: 'symlink', path: a.path, target: a.target });
  }
  // The sanitised copies at the real paths, unless a grant shows the real
  // file (you granted ~/.npmrc yourself, or all of ~).
  for (const o of policy.overlays) {
    if (withinAny(o.path, boundAt)) continue;
    const b: Extract<ViewEntry, { kind: 'bind' }> = { kind: 'bind', path: o.path, source: o.source, readOnly: true, access: rights.readFile };
    entries.push(b);
    binds.push(b);
    boundAt.add(b.path);
  }
  if (cache) {
    entries.push({ kind: 'overlay', path: cache.path, layer: cache.layerDir!, access: rights.readWrite, ...(cache.dev !== undefined && { dev: cache.dev, ino: cache.ino }) });
  }
  if (!withinAny(policy.cwd, boundAt)) entries.push({ kind: 'dir', path: policy.cwd });
  entries.push(...guardEntries(policy, binds));
  const net = !needsNetwork(policy);
  const eg = net ? policy.egress : null;
  // jail's resolv.conf over the real one (which a bind may show already):
  // mounted after it, so on top.
  if (eg?.resolvConf) entries.push({ kind: 'bind', path: eg.resolvConf.path, source: eg.resolvConf.source, readOnly: true, access: rights.readFile });
  return { net, sockets: eg ? egressSockets(eg) : [], cwd: policy.cwd, entries: order(entries) };
}

/**
 * A directory granted entry by entry (root's /etc: 'list') is bound whole
 * in one mount, which shows the entries left out too (shadow, gshadow,
 * ssl/private, ...). Each is covered with an empty read-only file or
 * directory, so that it is not readable in the view whatever Landlock can
 * do (Landlock keeps its rules per entry: a second wall). The left-out
 * names thus appear, empty. Not covered: what a grant reaches (the path
 * itself, a grant above it other than the listing, one inside it).
 */
function coverEntries(policy: Policy, rules: readonly ViewRule[], mounted: ReadonlyMap<string, Extract<ViewEntry, { kind: 'bind' }>>): ViewEntry[] {
  const out: ViewEntry[] = [];
  const hidden = new Set(policy.hidden.map((h) => h.path));
  let paths: { at: Set<string>; sorted: string[] } | null = null;
  for (const g of policy.grants) {
    if (g.access !== 'list' || g.source.kind !== 'base' || !g.source.covers) continue;
    const shown = mounted.get(g.path);
    if (!shown || !shown.readOnly) continue;
    // The rules' paths, for lookups (hundreds of rules for root's /etc):
    // those above a cover by a walk up its path, those inside it by a
    // binary search in the sorted list.
    paths ??= { at: new Set(rules.map((r) => r.path)), sorted: rules.map((r) => r.path).sort() };
    for (const c of g.source.covers) {
      if (!isWithin(c.path, g.path) || c.path === g.path || hidden.has(c.path)) continue;
      if (!reached(c.path, g.path, paths)) out.push({ kind: 'empty', path: c.path, isDir: c.isDir, access: 0n });
    }
  }
  return out;
}

/** Whether a rule other than the listing's own (at `listing`) reaches
 *  `cover`, which lies strictly inside it: a rule at cover or above it, or
 *  one inside it. */
function reached(cover: string, listing: string, paths: { at: ReadonlySet<string>; sorted: readonly string[] }): boolean {
  // At it or above (isWithin(cover, rule)), '/' included; not the listing.
  const ruled = (q: string) => q !== listing && paths.at.has(q);
  if (ruled(cover) || someAbove(cover, ruled)) return true;
  // Inside it (isWithin(rule, cover), the rule not cover itself): the
  // first path after `cover/` in sorted order starts with it if any does.
  const prefix = `${cover}/`;
  const s = paths.sorted;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  return lo < s.length && s[lo]!.startsWith(prefix);
}

function egressSockets(eg: NonNullable<Policy['egress']>): ViewSocket[] {
  return [
    { type: 'tcp', addr: '127.0.0.1', port: eg.port, role: 'proxy' },
    ...(eg.resolvConf ? [{ type: 'udp' as const, addr: '127.0.0.1', port: 53, role: 'dns' as const }] : []),
    ...eg.transparentPorts.filter((p) => p !== eg.port).map((port) => ({ type: 'tcp' as const, addr: '0.0.0.0', port, role: 'transparent' as const })),
  ];
}

/**
 * The guards the kernel can enforce, inside writable binds: what exists is
 * bound read-only on itself (`.git/hooks`, `.git/config`: writes meet EROFS,
 * a rename or removal EBUSY), `.git` is bound on itself writable (it cannot
 * be renamed, removed or replaced); hidden paths get an empty read-only
 * file or directory over them. Names that do not exist yet cannot be mount
 * points: src/protect checks them after the run.
 */
function guardEntries(policy: Policy, binds: Array<Extract<ViewEntry, { kind: 'bind' }>>): ViewEntry[] {
  const out: ViewEntry[] = [];
  // The first bind at each path: the nearest above a path is the one
  // with the longest path among those it lies in, the first of them.
  const at = new Map<string, Extract<ViewEntry, { kind: 'bind' }>>();
  for (const b of binds) if (!at.has(b.path)) at.set(b.path, b);
  const inside = (p: string, writable: boolean) => {
    const b = nearestAbove(p, at);
    return b !== undefined && (!writable || !b.readOnly);
  };
  const bound = (p: string) => at.has(p);
  for (const g of policy.guards) {
    if (!mountedGuard(g) || !inside(g.path, true) || bound(g.path)) continue;
    const pin = g.mode === 'pin';
    const e: ViewEntry = { kind: 'bind', path: g.path, readOnly: !pin, access: 0n, ...(pin && { pin: true }) };
    if (g.dev !== undefined && g.ino !== undefined) Object.assign(e, { dev: g.dev, ino: g.ino });
    out.push(e);
  }
  // The directories between a writable bind and a hidden path in it, each
  // bound on itself (as .git is): a command could otherwise move the
  // hidden path's directory where the next run's search does not look
  // (into node_modules, deeper than it goes), its cover moving with it,
  // and the next run would show it. With the identities the listings saw.
  const listed = new Map<string, { dev?: bigint; ino?: bigint }>();
  for (const l of policy.listings) for (const e of l.entries) if (e.isDir) listed.set(l.dir === '/' ? `/${e.name}` : `${l.dir}/${e.name}`, e);
  const pinned = new Set<string>();
  for (const h of policy.hidden) {
    const b = nearestAbove(h.path, at);
    if (!b || b.readOnly) continue;
    for (let d = h.path.slice(0, h.path.lastIndexOf('/')); d !== b.path && isWithin(d, b.path); d = d.slice(0, d.lastIndexOf('/'))) {
      if (bound(d) || pinned.has(d)) continue;
      pinned.add(d);
      const id = listed.get(d);
      out.push({ kind: 'bind', path: d, readOnly: false, access: 0n, pin: true, ...(id?.dev !== undefined && id.ino !== undefined && { dev: id.dev, ino: id.ino }) });
    }
  }
  for (const h of policy.hidden) {
    // With its identity: a cover made over whatever has the name at the
    // view's making would leave the hidden object uncovered under another
    // name, where a concurrent rename (of its directory, say) put it.
    if (inside(h.path, false) && !bound(h.path)) out.push({ kind: 'empty', path: h.path, isDir: h.isDir, ...(h.dev !== undefined && h.ino !== undefined && { dev: h.dev, ino: h.ino }), access: 0n });
  }
  // --ssh-agent confirm: the real agent's socket under any grant, a
  // writable one too (a --rw over its directory showed it, and the command
  // signed unasked). With its identity, as a hidden path's cover.
  const agent = policy.sshAgent;
  const covered = policy.hidden.map((h) => h.path);
  if (agent?.mode === 'confirm' && inside(agent.upstream, false) && !bound(agent.upstream) && !covered.some((c) => isWithin(agent.upstream, c))) {
    out.push({ kind: 'empty', path: agent.upstream, isDir: false, ...(agent.dev !== undefined && agent.ino !== undefined && { dev: agent.dev, ino: agent.ino }), access: 0n });
  }
  // Sockets of processes outside, under a read-only bind: connecting is no
  // read (src/policy/sockets.ts). Not under a hidden path, covered already.
  for (const s of policy.hostSockets ?? []) {
    const b = nearestAbove(s, at);
    if (b?.readOnly && !bound(s) && !covered.some((c) => isWithin(s, c)) && !(agent?.mode === 'confirm' && s === agent.upstream)) out.push({ kind: 'empty', path: s, isDir: false, access: 0n });
  }
  return out;
}

/** The guards a mount in the view enforces: keep and pin of what exists
 *  (a symlink cannot be a mount point). */
export function mountedGuard(g: Guard): g is Extract<Guard, { mode: 'keep' | 'pin' }> {
  return (g.mode === 'keep' && (g.kind === 'file' || g.kind === 'dir')) || g.mode === 'pin';
}


/** Parents before what lies inside them (by depth), the given order kept
 *  otherwise: entries bucketed by depth, each path's depth counted once
 *  (a sort's comparator would count it at every comparison). */
function order(entries: ViewEntry[]): ViewEntry[] {
  const byDepth: ViewEntry[][] = [];
  for (const e of entries) {
    const p = e.path;
    let d = 0;
    if (p !== '/') for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) d++;
    (byDepth[d] ??= []).push(e);
  }
  const out: ViewEntry[] = [];
  for (const b of byDepth) if (b) for (const e of b) out.push(e);
  return out;
}
