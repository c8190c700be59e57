import type { Host, ScanEntry } from './host.js';

/** How deep below /etc the scan goes; a directory deeper still is never
 *  granted whole (none is deeper than 6 on common systems). */
export const MAX_SCAN_DEPTH = 32;

/**
 * Host.scanTree through the Host's readdir and identify: for a host without
 * the addon (a fake one in tests), and the reference the native scan is
 * tested against. A listing that fails reads as empty, as readdir has it.
 */
export function walkTree(host: Pick<Host, 'readdir' | 'identify'>, root: string, maxDepth: number): ScanEntry[] | null {
  const top = host.identify(root);
  if (!top?.isDir) return null;
  const out: ScanEntry[] = [{ ...top, path: '', incomplete: false }];
  const walk = (rel: string, depth: number) => {
    const names = host.readdir(rel ? `${root}/${rel}` : root).map((e) => e.name);
    for (const name of names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = host.identify(`${root}/${path}`);
      if (!st || st.isSymlink) continue; // gone since it was listed; a symlink
      const entry: ScanEntry = { ...st, path, incomplete: false };
      out.push(entry);
      if (st.isDir) {
        if (depth < maxDepth) walk(path, depth + 1);
        else entry.incomplete = true;
      }
    }
  };
  walk('', 0);
  return out;
}
