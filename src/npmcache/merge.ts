/**
 * After a run: what the jail wrote to npm's cache (the overlay's upper
 * directory) is merged into the real cache only where it proves itself.
 *
 * npm's cache is cacache: `content-v2/<algo>/<hex>` holds blobs named by
 * their own digest, and `index-v5` maps keys (a packument's URL, a
 * tarball's) to a digest. A blob whose bytes hash to its name cannot lie:
 * npm asks for it by an integrity it already trusts (a lockfile's, a
 * packument's), and gets exactly those bytes. Everything else can: an
 * index entry can point a version at another tarball, a packument can name
 * another integrity, `_npx/<hash>/node_modules` is run by npx as it is,
 * `_logs` and the update notifier's files are read by npm. So only verified
 * blobs are kept, copied by jail as new files (a new inode the jailed
 * program never held), and never over a file that is already there.
 *
 * Runs after the whole jailed tree has ended, unconfined, on a directory
 * only jail and the ended program could write: no symlink is followed, at
 * any level below the upper directory.
 */
import * as fs from 'node:fs';

/** node:crypto costs about 4 ms to load, on every run that bundles this
 *  module: loaded when a merge has a blob to check. */
let loaded: typeof import('node:crypto') | undefined;
const crypto = (): typeof import('node:crypto') => (loaded ??= require('node:crypto') as typeof import('node:crypto'));

/** cacache's algorithms (ssri), by the length of their hex digest. */
const ALGOS: Readonly<Record<string, number>> = { sha512: 128, sha384: 96, sha256: 64, sha1: 40 };

/** Bigger blobs are not checked (npm's tarballs are far smaller); npm
 *  fetches them again. */
const MAX_BLOB = 1 << 30;

export interface MergeResult {
  /** Blobs copied into the real cache. */
  kept: number;
  /** Verified blobs the real cache had already. */
  present: number;
  /** Files under content-v2 that did not hash to their name, or were not
   *  regular files, and a _cacache or content-v2 that is not a directory:
   *  relative to the upper directory. */
  rejected: string[];
  /** Why a verified blob could not be copied (the real cache's directories
   *  are not plain directories, a write failed). */
  problems: string[];
}

/** Merge `upper`'s verified content into the cache at `cache`. */
export function mergeVerifiedContent(upper: string, cache: string): MergeResult {
  const out: MergeResult = { kept: 0, present: 0, rejected: [], problems: [] };
  // Each level by lstat, from the upper directory (jail's own) down: a
  // symlink the command left at _cacache or content-v2 would have the
  // merge copy another cache's blobs (one the command could not read)
  // into the user's, where its next run reads them.
  const base = `${upper}/_cacache/content-v2`;
  for (const rel of ['_cacache', '_cacache/content-v2']) {
    const st = lstat(`${upper}/${rel}`);
    if (!st?.isDirectory()) {
      if (st) out.rejected.push(rel);
      return out;
    }
  }
  for (const algo of list(base)) {
    const rel = `_cacache/content-v2/${algo}`;
    if (!(algo in ALGOS) || !isDir(`${base}/${algo}`)) {
      out.rejected.push(rel);
      continue;
    }
    for (const a of list(`${base}/${algo}`)) {
      for (const b of /^[0-9a-f]{2}$/.test(a) && isDir(`${base}/${algo}/${a}`) ? list(`${base}/${algo}/${a}`) : [null]) {
        if (b === null || !/^[0-9a-f]{2}$/.test(b) || !isDir(`${base}/${algo}/${a}/${b}`)) {
          out.rejected.push(`${rel}/${a}${b === null ? '' : `/${b}`}`);
          continue;
        }
        for (const rest of list(`${base}/${algo}/${a}/${b}`)) {
          const name = `${algo}/${a}/${b}/${rest}`;
          const bytes = verified(`${base}/${name}`, algo, a + b + rest);
          if (bytes === null) out.rejected.push(`_cacache/content-v2/${name}`);
          else copyIn(bytes, cache, name, out);
        }
      }
    }
  }
  return out;
}

/** The file's bytes when it is a regular file whose digest is `hex`. */
function verified(file: string, algo: string, hex: string): Buffer | null {
  if (hex.length !== ALGOS[algo] || !/^[0-9a-f]+$/.test(hex)) return null;
  const st = lstat(file);
  if (!st?.isFile() || st.size > MAX_BLOB) return null;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const bytes = fs.readFileSync(fd);
    return crypto().createHash(algo).update(bytes).digest('hex') === hex ? bytes : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Into the real cache as cacache itself writes: a file of our own in
 * `_cacache/tmp`, then link() to the content path, which fails rather than
 * replace what is there; every directory on the way a real directory.
 */
function copyIn(bytes: Buffer, cache: string, name: string, out: MergeResult): void {
  const parts = ['_cacache', 'content-v2', ...name.split('/').slice(0, -1)];
  let dir = cache;
  try {
    for (const part of parts) {
      dir = `${dir}/${part}`;
      if (!plainDir(dir)) {
        out.problems.push(`${dir} is not a directory`);
        return;
      }
    }
    const target = `${cache}/_cacache/content-v2/${name}`;
    if (fs.lstatSync(target, { throwIfNoEntry: false })) {
      out.present++;
      return;
    }
    const tmpDir = `${cache}/_cacache/tmp`;
    if (!plainDir(tmpDir)) {
      out.problems.push(`${tmpDir} is not a directory`);
      return;
    }
    const tmp = `${tmpDir}/jail-${process.pid}-${crypto().randomBytes(6).toString('hex')}`;
    fs.writeFileSync(tmp, bytes, { flag: 'wx', mode: 0o644 });
    try {
      fs.linkSync(tmp, target);
      out.kept++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      out.present++;
    } finally {
      fs.unlinkSync(tmp);
    }
  } catch (e) {
    out.problems.push(`${name}: ${(e as Error).message}`);
  }
}

/** A directory that is not a symlink, made (0755, as npm makes them) when missing. */
function plainDir(p: string): boolean {
  let st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) {
    try {
      fs.mkdirSync(p, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    st = fs.lstatSync(p, { throwIfNoEntry: false });
  }
  return st?.isDirectory() ?? false;
}

function isDir(p: string): boolean {
  return lstat(p)?.isDirectory() ?? false;
}

/** lstat in the layer, where the command may have left a directory it made
 *  unreadable (EACCES when jail does not run as root): such an entry is
 *  dropped like any other that does not prove itself, and the merge goes
 *  on (before, the error ended jail with 125 instead of the command's
 *  status). */
function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function list(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
}
