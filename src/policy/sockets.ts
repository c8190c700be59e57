/**
 * UNIX sockets of processes outside that a read-only grant shows: under
 * `--ro /`, `--ro /tmp` or `--ro ~`, the user's ssh-agent, the D-Bus
 * session bus (systemd runs what it is asked to, outside any jail),
 * docker.sock, X11. connect() to a pathname socket reads nothing, and
 * Landlock before ABI 9 does not govern it; the namespace layer allows UNIX
 * sockets, since only the view's paths exist there, so the view covers each
 * socket found here with an empty read-only file (src/namespace/view.ts).
 * Found in /proc/net/unix (the sockets of jail's network namespace) when
 * the policy is built: one bound later is not covered. Pure, given a host.
 */
import type { Host } from './host.js';
import type { Policy } from './model.js';
import { isWithin } from './paths.js';

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;

/** "Num: RefCount Protocol Flags Type St Inode Path": the path, when the
 *  socket has one (abstract names start with @). */
const LINE = /^[0-9a-fA-F]+: \S+ \S+ \S+ \S+ \S+ +\d+ (\/.*)$/;

export function hostSockets(policy: Policy, host: Host): string[] {
  // --allow-unix: every socket, acknowledged.
  if (policy.net.unix) return [];
  const ro = policy.grants.filter((g) => g.access === 'ro');
  if (ro.length === 0) return [];
  const text = host.unixSockets?.() ?? null;
  if (!text) return [];
  const out: string[] = [];
  for (const path of socketPaths(text)) {
    // Where it is now (a name with a newline in it cannot pass for
    // another: what is covered must be a socket, found through realpath).
    const real = host.realpath(path);
    if (real === null || real === '/' || !ro.some((g) => isWithin(real, g.path))) continue;
    // Granted itself (--ssh-agent allow grants the real agent's socket),
    // or named by --allow-unix PATH: the user allowed that one.
    if (policy.grants.some((g) => g.path === real) || policy.net.unixPaths.includes(real)) continue;
    const st = host.stat(real, true);
    if (!st || (st.mode & S_IFMT) !== S_IFSOCK || out.includes(real)) continue;
    out.push(real);
  }
  return out;
}

/** The socket paths in /proc/net/unix's text, each once, sorted: what the
 *  policy depends on (the table's order and its other columns change with
 *  every connection made on the machine). */
export function socketPaths(text: string): string[] {
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m) seen.add(m[1]!);
  }
  return [...seen].sort();
}
