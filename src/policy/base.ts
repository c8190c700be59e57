import type { Host, ScanEntry } from './host.js';
import { MAX_SCAN_DEPTH } from './scan.js';
import type { Access, PathGrant } from './model.js';
import { aliasAt, grantOf, resolveReal } from './paths.js';

/** What running a program needs at all: read and execute. */
const SYSTEM_RO = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/proc'];
/** Device files every program may read and write. /dev/tty is the
 *  caller's controlling terminal. Not /dev/pts: other terminals there are
 *  the user's other shells (read keystrokes, write into them); the
 *  command's own terminals are granted by name (host.ttys). */
const SYSTEM_DEV = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];

const WORLD_READABLE = 0o004;
const WORLD_SEARCHABLE = 0o001;

/**
 * The system base: /usr and friends, /etc, /proc read-only, a few devices.
 * Missing entries are skipped; symlinks (/bin → usr/bin) resolve.
 *
 * /etc is granted whole for a normal user, whom file modes already keep
 * from root-only files. Root owns those files, so for root every entry of
 * /etc that is not world-readable (shadow, gshadow, sudoers, ssh host keys,
 * ssl/private, …) is left out: /etc is granted entry by entry, recursing
 * only into directories that hold such a file.
 */
export function systemBase(host: Host, covered: (path: string, access: Access) => boolean = () => false): PathGrant[] {
  const grants: PathGrant[] = [];
  const add = (given: string, access: Access, what: string) => {
    const r = resolveReal(given, host);
    if (r) grants.push(grantOf(r, access, { kind: 'base', what }));
  };
  for (const p of SYSTEM_RO) add(p, 'ro', p);
  for (const p of SYSTEM_DEV) add(p, 'dev', p);
  for (const t of host.ttys) if (t.startsWith('/dev/')) add(t, 'dev', `your terminal ${t}`);
  // Walking /etc costs milliseconds; a grant above it makes it moot.
  if (!covered('/etc', 'ro')) grants.push(...etcGrants(host));
  return grants;
}

/** The system base's own symlinks (`/bin` → `usr/bin`, `/lib64` →
 *  `usr/lib64`), for a view that must show paths as they are. */
export function systemAliases(host: Host): Array<{ path: string; target: string }> {
  const out: Array<{ path: string; target: string }> = [];
  for (const p of [...SYSTEM_RO, ...SYSTEM_DEV]) {
    const alias = host.realpath(p) !== null ? aliasAt(p, host) : null;
    if (alias) out.push(alias);
  }
  return out;
}

function etcGrants(host: Host): PathGrant[] {
  const etc = host.realpath('/etc');
  if (!etc) return [];
  const grants: PathGrant[] = [];
  const tree = host.uid === 0 ? readableTree(etc, host) : { all: true, grants: [], leftOut: 0, covers: [] };
  const r = resolveReal(etc, host);
  if (!r) return [];
  if (tree.all) {
    grants.push(grantOf(r, 'ro', { kind: 'base', what: '/etc' }));
  } else {
    // Listing is harmless; reading is granted per readable entry.
    grants.push(grantOf(r, 'list', { kind: 'base', what: '/etc (listing)', leftOut: tree.leftOut, covers: tree.covers }));
    grants.push(...tree.grants);
  }
  // /etc entries that link elsewhere (resolv.conf → /run/…): grant the
  // target file when it is world-readable, so programs can read it.
  for (const e of host.readdir(etc)) {
    if (!e.isSymlink) continue;
    const t = resolveReal(`${etc}/${e.name}`, host);
    if (t && t.st.isFile && t.st.mode & WORLD_READABLE && !t.real.startsWith(etc + '/')) {
      grants.push(grantOf(t, 'ro', { kind: 'base', what: `/etc/${e.name}` }));
    }
  }
  return grants;
}


export { MAX_SCAN_DEPTH };

type ReadableTree = { all: boolean; grants: PathGrant[]; leftOut: number; covers: Array<{ path: string; isDir: boolean }> };

/** The judgement of a kept scan (a library that runs again and again gets
 *  the same frozen entries while nothing in the tree changed, see
 *  realHost): made once per scan, frozen, as the scan is. */
const judged = new WeakMap<readonly ScanEntry[], { dir: string; tree: ReadableTree }>();

/**
 * Grants for the world-readable part of a tree: one grant for the whole tree
 * when all of it is readable by others, else one per readable entry. The
 * tree is listed in one scan (Host.scanTree), judged here.
 */
export function readableTree(dir: string, host: Host): ReadableTree {
  const entries = host.scanTree(dir, MAX_SCAN_DEPTH);
  if (!entries) return { all: false, grants: [], leftOut: 0, covers: [] };
  if (!Object.isFrozen(entries)) return judgeTree(dir, entries);
  const kept = judged.get(entries);
  if (kept?.dir === dir) return kept.tree;
  const tree = judgeTree(dir, entries);
  for (const g of tree.grants) Object.freeze(Object.freeze(g).source);
  for (const c of tree.covers) Object.freeze(c);
  Object.freeze(tree.grants);
  Object.freeze(tree.covers);
  judged.set(entries, { dir, tree: Object.freeze(tree) });
  return tree;
}

function judgeTree(dir: string, entries: readonly ScanEntry[]): ReadableTree {
  const covers: Array<{ path: string; isDir: boolean }> = [];
  // Pre-order: a directory's entries follow it, up to the next entry not
  // under it.
  let i = 1;
  const source = { kind: 'base', what: '/etc' } as const;
  // One list for the whole tree, of the entries granted (their indices): a
  // directory's are added as they are judged, and taken back (truncated)
  // when the directory is granted whole or left out, as its covers are.
  // The grants are made at the end, for what is left (most entries lie in
  // a directory granted whole).
  const picked: number[] = [];
  // leftOut: entries only root may read, for --print-policy's summary.
  const judge = (prefix: string): { all: boolean; leftOut: number } => {
    let all = true;
    let leftOut = 0;
    while (i < entries.length && entries[i]!.path.startsWith(prefix)) {
      const at = i++;
      const e = entries[at]!;
      if (e.isSymlink) continue; // judged by where it points
      if (e.isDir) {
        const below = covers.length;
        const granted = picked.length;
        const sub = judge(`${e.path}/`);
        if ((e.mode & (WORLD_READABLE | WORLD_SEARCHABLE)) !== (WORLD_READABLE | WORLD_SEARCHABLE)) {
          all = false;
          leftOut++;
          picked.length = granted; // nothing in it
          covers.length = below; // covered whole
          covers.push({ path: `${dir}/${e.path}`, isDir: true });
        } else if (sub.all && !e.incomplete) {
          picked.length = granted;
          picked.push(at);
        } else {
          all = false;
          leftOut += sub.leftOut;
        }
      } else if (e.mode & WORLD_READABLE) {
        picked.push(at);
      } else {
        all = false;
        leftOut++;
        covers.push({ path: `${dir}/${e.path}`, isDir: false });
      }
    }
    return { all, leftOut };
  };
  const tree = judge('');
  const grants = picked.map((k) => grantOf({ real: `${dir}/${entries[k]!.path}`, st: entries[k]! }, 'ro', source));
  return { all: tree.all && !entries[0]!.incomplete, grants, leftOut: tree.leftOut, covers };
}
