import { PolicyError } from '../errors.js';
import type { Host } from './host.js';
import type { Access, PathGrant, Source } from './model.js';

/** `~` and `~/x` expand to the home directory; other paths are taken
 *  relative to the working directory. */
export function absolute(given: string, host: Host): string {
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
  return outer === '/' || inner === outer || inner.startsWith(outer + '/');
}

/** A path as typed on the command line, or one from a profile with where
 *  it came from (already absolute). A trailing `?` marks it optional. */
export type PathEntry = string | { path: string; from: string };

/**
 * A path flag: `--ro PATH`. A trailing `?` makes the path optional: a missing
 * optional path is skipped; a missing required one is an error naming the
 * flag. Symlinks resolve, and the grant names the resolved target.
 */
export function grantFromFlag(flag: string, entry: PathEntry, access: Access, host: Host): PathGrant | null {
  const given = typeof entry === 'string' ? entry : entry.path;
  const optional = given.endsWith('?') && given.length > 1;
  const spec = optional ? given.slice(0, -1) : given;
  if (spec === '') throw new PolicyError(`${flag} needs a path.`, `write ${flag} PATH, e.g. ${flag} .`);
  const abs = absolute(spec, host);
  const real = host.realpath(abs);
  const st = real === null ? null : host.stat(real);
  if (real === null || st === null) {
    if (optional) return null;
    throw new PolicyError(
      `${flag} ${spec}: no such file or directory (${abs}).`,
      `check the path, or write ${flag} '${spec}?' to skip it when it does not exist.`,
    );
  }
  const source: Source =
    typeof entry === 'string' ? { kind: 'flag', flag, given: spec } : { kind: 'config', flag, given: spec, where: entry.from };
  return { path: real, access, isDir: st.isDir, source };
}
