import { PolicyError } from '../../src/errors.js';
import type { Host, Stat } from '../../src/policy/host.js';
import { normalize } from '../../src/policy/paths.js';
import { walkTree } from '../../src/policy/scan.js';

/** A fake file system: path → file content (string), a directory ({}),
 *  or a symlink ({ link: target }). Modes default to 0755/0644. */
export type Node = string | { dir: true; mode?: number } | { link: string } | { file: string; mode?: number; x?: boolean };

/** An executable, as a tree entry. */
export const EXE: Node = { file: '\x7fELF', x: true };

/** The smallest machine a run needs: the command, node, and a project at
 *  /work/proj. Spread first into a test's own tree. */
export const SMALL_MACHINE: Readonly<Record<string, Node>> = {
  '/usr/bin/true': EXE,
  '/usr/bin/node': EXE,
  '/work/proj/package.json': '{}',
  '/work/proj/src/a.js': 'x',
};

export function fakeHost(tree: Record<string, Node>, over: Partial<Host> = {}): Host {
  const nodes = new Map<string, Node>();
  for (const [p, n] of Object.entries(tree)) {
    nodes.set(p, n);
    // parents exist
    let d = p;
    while ((d = d.slice(0, d.lastIndexOf('/')) || '/') !== '/' && !nodes.has(d)) nodes.set(d, { dir: true });
  }
  nodes.set('/', { dir: true });

  const resolve = (p: string, depth = 0): string | null => {
    if (depth > 20) return null;
    const parts = normalize(p).split('/').filter(Boolean);
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const next = cur + '/' + parts[i];
      const n = nodes.get(next);
      if (n === undefined) return null;
      if (typeof n === 'object' && 'link' in n) {
        const target = n.link.startsWith('/') ? n.link : (cur || '/') + '/' + n.link;
        const r = resolve(target + '/' + parts.slice(i + 1).join('/'), depth + 1);
        return r;
      }
      cur = next;
    }
    return cur || '/';
  };
  const statOf = (p: string, n: Node): Stat => {
    if (typeof n === 'string') return { isDir: false, isFile: true, isSymlink: false, mode: 0o100644 };
    if ('dir' in n) return { isDir: true, isFile: false, isSymlink: false, mode: 0o40000 | (n.mode ?? 0o755) };
    if ('link' in n) return { isDir: false, isFile: false, isSymlink: true, mode: 0o120777 };
    return { isDir: false, isFile: true, isSymlink: false, mode: 0o100000 | (n.mode ?? (n.x ? 0o755 : 0o644)) };
  };
  const content = (n: Node | undefined) => (typeof n === 'string' ? n : n && 'file' in n ? n.file : null);

  const host: Host = {
    cwd: '/work/proj',
    home: '/home/u',
    uid: 1000,
    path: '/usr/bin:/bin',
    realpath: (p) => resolve(p),
    stat(p, lstat = false) {
      const real = lstat ? normalize(p) : resolve(p);
      const n = real === null ? undefined : nodes.get(real);
      return n === undefined || real === null ? null : statOf(real, n);
    },
    readdir(p) {
      const real = resolve(p);
      if (!real) return [];
      const prefix = real === '/' ? '/' : real + '/';
      return [...nodes.keys()]
        .filter((k) => k.startsWith(prefix) && k !== real && !k.slice(prefix.length).includes('/'))
        .map((k) => {
          const n = nodes.get(k)!;
          return { name: k.slice(prefix.length), isDir: typeof n === 'object' && 'dir' in n, isSymlink: typeof n === 'object' && 'link' in n };
        });
    },
    readHead(p, n) {
      const real = resolve(p);
      const c = real ? content(nodes.get(real)) : null;
      return c === null ? null : c.slice(0, n);
    },
    executable(p) {
      const real = resolve(p);
      const n = real ? nodes.get(real) : undefined;
      return n !== undefined && typeof n === 'object' && (('x' in n && !!n.x) || 'dir' in n);
    },
    readlink(p) {
      const n = nodes.get(normalize(p));
      return n !== undefined && typeof n === 'object' && 'link' in n ? n.link : null;
    },
    identify(p) {
      return this.stat(p, true);
    },
    readText(p, opts = {}) {
      const own = nodes.get(normalize(p));
      if (own !== undefined && typeof own === 'object' && 'link' in own && !opts.follow) throw new PolicyError(`${p} is a symlink.`);
      const real = resolve(p);
      const n = real ? nodes.get(real) : undefined;
      if (n === undefined) return null;
      const c = content(n);
      if (c === null) throw new PolicyError(`${p} is not a regular file.`);
      return c;
    },
    ttys: [],
    self: ['/opt/jail', '/usr/bin/node'],
    tmpdir: '/tmp',
    tempName: () => 'jail-1-000000000000',
    scanTree: (root, maxDepth) => walkTree(host, root, maxDepth),
    ...over,
  };
  return host;
}
