/**
 * `--rw ./dist` where dist/ does not exist yet (it is usually gitignored):
 * jail makes it before the run, as a build's output directory. Only for a
 * path typed on the command line, inside the working directory, and never
 * through a symlink: each missing component is made with mkdir, and each
 * existing one checked with lstat, so a link planted in the project cannot
 * turn `--rw ./out/x` into a directory made, and granted, somewhere else.
 * `--rw './dist?'` keeps its meaning: skipped when missing.
 */
import fs = require('node:fs');
import { PolicyError } from '../errors.js';
import { absolute, isWithin, normalize } from '../policy/paths.js';
import type { PathEntry } from '../policy/paths.js';
import { printable } from '../text.js';

/** Make the missing --rw directories; returns those made, as typed, and
 *  every directory created (for the caller to take away when the run is
 *  refused before anything ran). None
 *  inside jail's own code (`self`): that grant is refused later, and a
 *  refused run must leave nothing behind. */
export function makeOutputDirs(rw: readonly PathEntry[] | undefined, cwd: string, home: string, self: readonly string[] = []): { made: string[]; created: string[] } {
  const made: string[] = [];
  /** Every directory made, in order: what to take away again when the run
   *  is refused before anything ran. */
  const created: string[] = [];
  const root = normalize(cwd);
  for (const entry of rw ?? []) {
    if (typeof entry !== 'string' || entry.endsWith('?') || entry === '') continue;
    const abs = absolute(entry, { cwd, home });
    if (abs === root || !isWithin(abs, root) || fs.existsSync(abs) || self.some((x) => isWithin(abs, x))) continue;
    let cur = root;
    for (const part of abs.slice(root === '/' ? 1 : root.length + 1).split('/')) {
      cur = `${cur === '/' ? '' : cur}/${part}`;
      let st = fs.lstatSync(cur, { throwIfNoEntry: false });
      if (st === undefined) {
        fs.mkdirSync(cur, { mode: 0o755 });
        created.push(cur);
        st = fs.lstatSync(cur);
      }
      if (st.isSymbolicLink()) {
        throw new PolicyError(
          `--rw ${printable(entry)}: ${printable(cur)} is a symlink; jail makes a missing --rw directory only through real directories of the working directory.`,
          `make the directory yourself, or write out where the link leads: --rw ${printable(fs.readlinkSync(cur))}`,
        );
      }
      if (!st.isDirectory()) throw new PolicyError(`--rw ${printable(entry)}: ${printable(cur)} is not a directory.`, 'check the path.');
    }
    made.push(entry);
  }
  return { made, created };
}
