import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import type { Host, Stat } from './host.js';
import type { Access, PathGrant, Source } from './model.js';

/** `~` and `~/x` expand to the home directory; other paths are taken
 *  relative to the working directory. */
export function absolute(given: string, host: Pick<Host, 'cwd' | 'home'>): string {
  let p = given;
  if (p === '~') p = host.home;
  else if (p.startsWith('~/')) p = host.home + p.slice(1);
  if (!p.startsWith('/')) p = host.cwd.replace(/\/$/, '') + '/' + p;
  return normalize(p);
}

/** Lexical normalisation: collapses `.`, `..` and repeated slashes. */
export function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** True when `inner` is `outer` or lies beneath it. */
export function isWithin(inner: string, outer: string): boolean {
  // startsWith(outer + '/') without making that string: called for every
  // grant in places (hundreds for root's /etc).
  return outer === '/' || inner === outer || (inner.length > outer.length && inner.charCodeAt(outer.length) === SLASH && inner.startsWith(outer));
}

const SLASH = 0x2f;

/** The directories a path is within (isWithin), itself left out: nearest
 *  first, '/' last; none for '/'. For lookups in a Map by path, where a
 *  search through every other path would be quadratic. */
export function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let q = p; q !== '/' && q !== ''; ) {
    q = q.slice(0, q.lastIndexOf('/')) || '/';
    out.push(q);
  }
  return out;
}

/** Whether test() holds for a directory above `p` (its ancestors, nearest
 *  first, '/' last): a walk up the path, without ancestors()'s array. */
export function someAbove(p: string, test: (dir: string) => boolean): boolean {
  for (let q = p; q !== '/' && q !== ''; ) {
    q = q.slice(0, q.lastIndexOf('/')) || '/';
    if (test(q)) return true;
  }
  return false;
}

/** The value at the nearest directory above `p` that `m` holds; undefined
 *  when none does. */
export function nearestAbove<T>(p: string, m: ReadonlyMap<string, T>): T | undefined {
  let found: T | undefined;
  someAbove(p, (q) => (found = m.get(q)) !== undefined);
  return found;
}

/** Whether `p` or a directory above it is in `paths`: isWithin(p, x) for
 *  some x, in as many lookups as p is deep. */
export function withinAny(p: string, paths: ReadonlySet<string>): boolean {
  return paths.has(p) || someAbove(p, (q) => paths.has(q));
}

/**
 * A path as typed (on the command line, in the API), or one from a profile:
 * absolute already, with where it came from and, for a project's paths,
 * the tree it must resolve inside. A trailing `?` marks it optional.
 */
/** A path as typed (a flag), or from a config: where it came from, the
 *  tree it must stay in, and, when a project's config declared it, what it
 *  wrote and where (`/p/jail.config.json: profile "x"`): its exact grants
 *  lift no protection and unhide nothing (protect.ts). */
export type PathEntry = string | { path: string; from: string; within?: string; project?: { given: string; where: string } };

/**
 * A path, resolved for a grant: its real path (no symlink left in it), and
 * its identity from lstat of that real path, which the addon checks again
 * when it opens it. null when it does not exist. A real path that lstat
 * finds to be a symlink changed in between: refused.
 */
export function resolveReal(p: string, host: Host): { real: string; st: Stat } | null {
  const real = host.realpath(p);
  const st = real === null ? null : host.identify(real);
  if (real === null || st === null) return null;
  if (st.isSymlink) {
    throw new PolicyError(`${printable(p)} changed while jail was checking it (it resolved to ${printable(real)}, which is now a symlink).`, 'run again; if it keeps happening, something is rewriting the path.');
  }
  return { real, st };
}

/** A grant of a resolved path, carrying its identity. */
export function grantOf(r: { real: string; st: Stat }, access: Access, source: Source): PathGrant {
  const { dev, ino } = r.st;
  // Whole in one literal (hundreds for root's /etc), the keys in one order.
  return dev !== undefined && ino !== undefined ? { path: r.real, access, isDir: r.st.isDir, source, dev, ino } : { path: r.real, access, isDir: r.st.isDir, source };
}

/**
 * The tree a relative path typed by the user must stay in: the directory
 * its leading `..` components reach (the working directory when none). A
 * user who writes `--rw ./dist` means a path in their project; a committed
 * `dist -> /` must not turn that into `/`.
 */
function typedBase(spec: string, host: Host): string | undefined {
  if (spec.startsWith('/') || spec === '~' || spec.startsWith('~/')) return undefined; // written out: followed
  const cwd = normalize(host.cwd);
  const abs = absolute(spec, host);
  let base = cwd;
  while (!isWithin(abs, base)) base = base.slice(0, base.lastIndexOf('/')) || '/';
  return base;
}

/**
 * A path option: `--ro PATH`. A trailing `?` makes the path optional: a
 * missing optional path is skipped; a missing required one is an error
 * naming the flag. Symlinks resolve, and the grant names the resolved
 * target, except that a relative path typed by the user, and a project's
 * path, may not lead out of their tree through a symlink.
 */
export function grantFromFlag(flag: string, entry: PathEntry, access: Access, host: Host): PathGrant | null {
  const given = typeof entry === 'string' ? entry : entry.path;
  const optional = given.endsWith('?') && given.length > 1;
  const spec = optional ? given.slice(0, -1) : given;
  if (spec === '') throw new PolicyError(`${flag} needs a path.`, `write ${flag} PATH, e.g. ${flag} .`);
  const abs = absolute(spec, host);
  const within = typeof entry === 'string' ? typedBase(spec, host) : entry.within;
  const r = resolveReal(abs, host);
  if (r === null) {
    if (optional) return null;
    if (typeof entry !== 'string') {
      // A profile's path: the file to fix is the one that says it.
      throw new PolicyError(
        `${flag} ${printable(spec)} (${printable(entry.from)}): no such file or directory (${printable(abs)}).`,
        `check the path in that file, or end it with ? ("${printable(spec)}?") to skip it when it does not exist.`,
      );
    }
    // A run makes a missing --rw directory inside the working directory
    // (cli/outputdirs.ts) before it gets here; --print-policy makes nothing.
    const made = flag === '--rw' && isWithin(abs, normalize(host.cwd)) ? '; a run makes it (jail makes a missing --rw directory inside the working directory), --print-policy does not' : '';
    throw new PolicyError(
      `${flag} ${printable(spec)}: no such file or directory (${printable(abs)}).`,
      `check the path, or write ${flag} '${printable(spec)}?' to skip it when it does not exist${made}.`,
    );
  }
  if (within !== undefined) {
    const tree = host.realpath(within) ?? within;
    if (!isWithin(r.real, tree)) {
      const what = typeof entry === 'string' ? `${flag} ${printable(spec)}` : `${flag} ${printable(spec)} (${entry.from})`;
      throw new PolicyError(
        `${what} leads out of ${printable(tree)} through a symlink, to ${printable(r.real)}; jail does not follow a ${typeof entry === 'string' ? 'relative path' : "project's path"} out of its tree.`,
        typeof entry === 'string' ? `if you mean ${printable(r.real)}, write it out: ${flag} ${printable(r.real)}` : `remove the symlink, or grant the target yourself: ${flag} ${printable(r.real)}`,
      );
    }
  }
  const source: Source = typeof entry === 'string' ? { kind: 'flag', flag, given: spec } : { kind: 'config', flag, given: spec, where: entry.from, ...(entry.project && { project: entry.project }) };
  return grantOf(r, access, source);
}

/**
 * The symlink at `p` as an alias for a view (`{ path, target }`), when p
 * is one and its parent is a real directory (a symlink under a symlinked
 * directory, /bin/sh with /bin → usr/bin, comes with its parent's alias).
 */
export function aliasAt(p: string, host: Host): { path: string; target: string } | null {
  const parent = p.slice(0, p.lastIndexOf('/')) || '/';
  if (!host.stat(p, true)?.isSymlink || host.realpath(parent) !== parent) return null;
  const target = host.readlink(p);
  return target === null ? null : { path: p, target };
}
