/**
 * `jail explain`: whether a compiled plan lets the command read, write,
 * execute or create a path, or connect to a TCP port, and why. Pure: it
 * decides from the plan the run would apply (the Landlock rules, the
 * namespace layer's view) and the policy's protected and hidden paths,
 * reading the machine only through the Host to resolve the path.
 *
 * Landlock's rights on a path are the union of the rights of every rule on
 * the path or a directory above it; in the namespace layer a path under no
 * mount of the view does not exist at all, and one under a read-only mount
 * cannot be written whatever Landlock says.
 */
import { allowFlag, matchHost } from './egress/rules.js';
import { FS, NET, fsRightNames } from './landlock/abi.js';
import type { LandlockPathRule } from './landlock/compile.js';
import type { ViewEntry } from './namespace/view.js';
import type { JailPlan } from './plan.js';
import type { Host } from './policy/host.js';
import { describeSource, type Policy } from './policy/model.js';
import { nameMatcher } from './policy/names.js';
import { isWithin, normalize } from './policy/paths.js';
import { HOME_SECRETS } from './policy/toolchains.js';
import { shellWord } from './text.js';

export const ACCESSES = ['read', 'write', 'exec', 'create'] as const;
export type Access = (typeof ACCESSES)[number];

export type Query = { path: string; access: Access } | { connect: { host: string; port: number } };

export interface Explanation {
  allowed: boolean;
  /** The first line: what was asked, and the answer. */
  verdict: string;
  /** Why, and what would change it: indented lines. */
  why: string[];
  /** The grant that would allow a path access, when jail suggests one
   *  (its line in `why` starts "to allow it: "). */
  allow?: Allow;
}

/** A grant to suggest: `--rw PATH`, or `--rw PATH (or --rw ALT)`. */
export interface Allow {
  flag: '--ro' | '--rw';
  path: string;
  alt?: string;
}

/** A suggestion as the user would type it: each path one shell word, so
 *  that a name with spaces (`a --rw ~`) cannot read as more flags. */
export function allowText(a: Allow, show: (p: string) => string = (p) => p): string {
  return `${a.flag} ${shellPath(show(a.path))}${a.alt !== undefined ? ` (or ${a.flag} ${shellPath(show(a.alt))})` : ''}`;
}

/** A path as one shell word; `~/` left unquoted, so that it still expands. */
export function shellPath(p: string): string {
  return p === '~' ? p : p.startsWith('~/') ? `~/${shellWord(p.slice(2))}` : shellWord(p);
}

/**
 * A grant jail never suggests, whatever the command touched: `/`, $HOME
 * or a directory above it, or a directory that holds one of $HOME's
 * credentials (~/.config holds ~/.config/gh; ~/.ssh is one). A command
 * that creates ~/x, or reads three files in ~/.ssh, would otherwise be
 * told to get `--rw ~` or `--ro ~/.ssh`.
 */
export function tooBroad(p: string, home: string): boolean {
  const h = normalize(home);
  return p === '/' || isWithin(h, p) || HOME_SECRETS.some((s) => isWithin(`${h}/${s}`, p));
}

export function explain(plan: JailPlan, policy: Policy, host: Host, q: Query): Explanation {
  return 'connect' in q ? explainConnect(plan, policy, q.connect) : explainPath(plan, policy, host, q.path, q.access);
}

/** What --report-denials asks of a call the command made: also `remove`
 *  (a name unlinked or renamed away: the right to remove in its
 *  directory). */
export type ObservedAccess = Access | 'remove';

/**
 * A call the command made, judged after the run: as explain() does, but a
 * path missing on the host is not the jail's refusal (ENOENT) for read,
 * write and exec; and create or remove are judged by the rights alone,
 * since the call itself may have made or removed the name since.
 */
export function judgeCall(plan: JailPlan, policy: Policy, host: Host, path: string, access: ObservedAccess): Explanation {
  return explainPath(plan, policy, host, path, access, true);
}

/** The path as the kernel would reach it: symlinks resolved, and for a
 *  path that does not exist, its nearest existing directory's real path
 *  with the rest appended. */
function resolve(p: string, host: Host): { real: string; exists: boolean; isDir: boolean } {
  const real = host.realpath(p);
  if (real !== null) return { real, exists: true, isDir: host.stat(real)?.isDir ?? false };
  const parts = normalize(p).split('/').filter(Boolean);
  for (let i = parts.length - 1; i >= 0; i--) {
    const base = host.realpath('/' + parts.slice(0, i).join('/'));
    if (base !== null) return { real: normalize(`${base}/${parts.slice(i).join('/')}`), exists: false, isDir: false };
  }
  return { real: normalize(p), exists: false, isDir: false };
}

const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

/** The Landlock rights an access needs, on the path (or, to create or
 *  remove, on its directory). */
function needed(access: ObservedAccess, isDir: boolean): bigint {
  switch (access) {
    case 'read':
      return isDir ? FS.READ_DIR : FS.READ_FILE;
    case 'write':
      return isDir ? FS.MAKE_REG : FS.WRITE_FILE;
    case 'exec':
      return FS.EXECUTE;
    case 'create':
      return FS.MAKE_REG;
    case 'remove':
      return FS.REMOVE_FILE;
  }
}

function explainPath(plan: JailPlan, policy: Policy, host: Host, given: string, access: ObservedAccess, observed = false): Explanation {
  const r = resolve(given, host);
  const path = r.real;
  const shown = given === path ? path : `${given} (${path})`;
  const verdict = (ok: boolean) => `${access} ${shown}: ${ok ? 'allowed' : 'denied'}`;
  const deny = (...why: string[]): Explanation => ({ allowed: false, verdict: verdict(false), why });
  const denyAnd = (s: { line: string; allow: Allow | null }, ...why: string[]): Explanation => ({ ...deny(...why, s.line), ...(s.allow && { allow: s.allow }) });
  const writes = access === 'write' || access === 'create' || access === 'remove';
  const names = access === 'create' || access === 'remove'; // a name in a directory
  if (observed && !r.exists && !names) return { allowed: true, verdict: `${access} ${shown}: not there (ENOENT), not the jail`, why: [] };
  if (!observed && !r.exists && access !== 'create') return deny(`it does not exist${writes ? '; to make it, ask about create' : ''}.`);
  if (!observed && r.exists && access === 'create') return deny('it exists already; to change it, ask about write.');

  const hidden = policy.hidden.find((h) => isWithin(path, h.path));
  if (hidden && !writes) {
    const how = plan.view ? 'the command sees it empty' : 'reading it gives EACCES';
    return deny(`hidden (${hidden.why}): ${how}; --unhide ${hidden.path} shows it.`);
  }
  if (writes) {
    const guard = guardOn(policy, path, access === 'remove' ? 'write' : access);
    if (guard) {
      const lifted = `--unprotect ${guard.path} lifts it`;
      return plan.view
        ? deny(`read-only: protected (${guard.why}); ${lifted}.`)
        : deny(`protected (${guard.why}): this layer lets the write happen and restores the path when the command ends; ${lifted}.`);
    }
  }

  // The object whose rules count: the path, or to create it, its directory.
  const target = names ? parentOf(path) : path;
  const targetIsDir = names ? true : r.isDir;
  const want = needed(access, targetIsDir);

  if (plan.view) {
    const v = viewAt(plan.view.entries, target);
    if (v === null) return denyAnd(suggest(access, path, targetIsDir, host.home), `not in the view: in the namespace layer it does not exist for the command.`);
    if (writes && v.readOnly) return denyAnd(suggest(access, path, targetIsDir, host.home), `read-only in the view (the mount of ${v.path} is read-only).`);
  }

  const ll = plan.landlock;
  if (ll === null) return { allowed: true, verdict: verdict(true), why: ['no Landlock in this plan (best effort): file access is not restricted by path.'] };
  if ((ll.handledFs & want) === 0n) {
    return { allowed: true, verdict: verdict(true), why: [`this kernel's Landlock (ABI ${ll.abi}) does not restrict ${fsRightNames(want).join(' ')}.`] };
  }
  const rules = ll.paths.filter((x) => isWithin(target, x.path) && (x.isDir || x.path === target));
  const rights = rules.reduce((acc, x) => acc | x.access, 0n);
  if ((rights & want) === want) {
    const by = rules.filter((x) => (x.access & want) !== 0n);
    return { allowed: true, verdict: verdict(true), why: by.map((x) => `by ${ruleLine(x)}`) };
  }
  const why = rules.length
    ? [`the rules on it give ${fsRightNames(rights).join(' ') || 'nothing'}, not ${fsRightNames(want).join(' ')}:`, ...rules.map((x) => `  ${ruleLine(x)}`)]
    : ['no rule grants it or a directory above it.'];
  return denyAnd(suggest(access, path, targetIsDir, host.home), ...why);
}

/**
 * The protection that keeps a write or a new name from happening, the
 * nearest one: a kept or pinned path and what is inside it; a scan's new
 * names (a new `.git` or hook setting, down to its depth); a new worktree.
 */
function guardOn(policy: Policy, path: string, access: Access): { path: string; why: string } | null {
  let best: { path: string; why: string } | null = null;
  for (const g of policy.guards) {
    if (!isWithin(path, g.path) || (best !== null && g.path.length <= best.path.length)) continue;
    if (g.mode === 'keep') best = g;
    else if (g.mode === 'pin') {
      // Pinned: it cannot be renamed, removed or replaced; what is inside stays writable.
      if (path === g.path) best = g;
    }
    else if (access === 'create' && path !== g.path) {
      if (g.mode === 'worktrees') best = g;
      else {
        // A watched name that is new (not there when the scan began).
        // (one level deeper inside a directory a qualified name looks in)
        const m = nameMatcher(g.names);
        const names = path.slice(g.path.length + 1).split('/').slice(0, g.depth + 1);
        let hit: string | undefined;
        for (let i = 0; i < names.length && hit === undefined; i++) {
          const parent = i === 0 ? g.path.slice(g.path.lastIndexOf('/') + 1) : names[i - 1]!;
          if (i === g.depth && !m.parents.has(parent)) break;
          const h = m.match(names[i]!, parent, i === g.depth);
          if (h !== undefined && !g.before.includes(`${g.path}/${names.slice(0, i + 1).join('/')}`)) hit = h;
        }
        if (hit !== undefined) best = { path: g.path, why: g.reasons?.[hit] ?? g.why };
      }
    }
  }
  return best;
}

function ruleLine(x: LandlockPathRule): string {
  return `${x.path} (${x.sources.map(describeSource).join('; ')})`;
}

/** The flag that would allow an access, unless it would be too broad. */
function suggest(access: ObservedAccess, path: string, isDir: boolean, home: string): { line: string; allow: Allow | null } {
  const parent = parentOf(path);
  const names = access === 'create' || access === 'remove';
  const on = names ? parent : path;
  if (tooBroad(on, home)) {
    const what = on === '/' || isWithin(normalize(home), on) ? 'all of your home directory' : 'your credentials there';
    return { line: `jail suggests no grant: one on ${on} would give the command ${what}${names ? '; grant a directory inside it, or make the file first and grant it' : '; grant what it needs inside'}.`, allow: null };
  }
  const allow: Allow = names ? { flag: '--rw', path: parent } : access === 'write' ? { flag: '--rw', path, ...(!isDir && !tooBroad(parent, home) && { alt: parent }) } : { flag: '--ro', path };
  return { line: `to allow it: ${allowText(allow)}`, allow };
}

/** The deepest view entry that shows the path, and whether writes to it
 *  meet a read-only mount; null when nothing in the view shows it. */
function viewAt(entries: readonly ViewEntry[], path: string): { path: string; readOnly: boolean } | null {
  let best: ViewEntry | null = null;
  for (const e of entries) {
    if (e.kind === 'rule' || e.kind === 'dir' || e.kind === 'symlink') continue; // no mount of their own
    if (!isWithin(path, e.path) || (best !== null && e.path.length <= best.path.length)) continue;
    best = e;
  }
  if (best === null) return null;
  const readOnly = best.kind === 'bind' ? best.readOnly : best.kind === 'empty' || best.kind === 'proc';
  return { path: best.path, readOnly };
}

function explainConnect(plan: JailPlan, policy: Policy, to: { host: string; port: number }): Explanation {
  const verdict = (ok: boolean) => `connect ${to.host}:${to.port} (TCP): ${ok ? 'allowed' : 'denied'}`;
  const n = policy.net;
  if (n.mode === 'all') return { allowed: true, verdict: verdict(true), why: ['--net all: the network is not restricted.'] };
  const range = n.connect.find((r) => r.from <= to.port && to.port <= r.to);
  const host = matchHost(n.hosts, to.host, to.port);
  if (host) {
    const how = plan.view?.net
      ? "the command's only way out is the proxy, inside its own network namespace: tools that use the proxy variables, and (through jail's DNS) those that connect directly, reach it."
      : 'tools that use the proxy variables (HTTPS_PROXY, npm, git) reach it; a direct connection does not.';
    return { allowed: true, verdict: verdict(true), why: [`by --allow-host ${host.given}, through jail's egress proxy: ${how}`] };
  }
  const hostFlag = allowFlag(to.host, to.port);
  if (plan.view?.net) {
    return { allowed: false, verdict: verdict(false), why: [`the command has a network namespace of its own, loopback only: nothing outside is reachable${n.hosts.length ? " but the hosts --allow-host names, through jail's proxy" : ''}.`, `to allow it: ${hostFlag}`] };
  }
  if (range) return { allowed: true, verdict: verdict(true), why: [`by --allow-connect ${range.from === range.to ? range.from : `${range.from}-${range.to}`}.`] };
  const ll = plan.landlock;
  if (ll === null || (ll.handledNet & NET.CONNECT_TCP) === 0n) {
    return { allowed: true, verdict: verdict(true), why: [`this kernel's Landlock cannot restrict TCP connect (ABI ${ll?.abi ?? 0}; TCP rules need 4), and best effort ran without it.`] };
  }
  return { allowed: false, verdict: verdict(false), why: ['--net none: TCP connect only to the hosts --allow-host and the ports --allow-connect name, and none names it.', `to allow it: ${hostFlag} (only that host, through jail's proxy), or --allow-connect ${to.port} (any host on that port)`] };
}
