/**
 * --report-denials, after the run: the path calls the observer recorded
 * (seccomp/observe.ts, native/observe.c) judged against the plan that ran,
 * with judgeCall (explain.ts), and the refused ones summarised for stderr.
 * Pure: the calls come in as plain data, the host only resolves paths.
 *
 * What counts as a denial is what the plan refuses, not what failed: a
 * missing file is ENOENT, not the jail. Judged after the run, a name the
 * command made or removed may have changed since, so create and remove are
 * judged by the rights on the directory alone, and an O_CREAT open by
 * whether the file is there now (there: the open could write it).
 */
import { allowText, judgeCall, shellPath, tooBroad, type Allow, type ObservedAccess } from './explain.js';
import type { JailPlan } from './plan.js';
import type { Host } from './policy/host.js';
import type { Policy } from './policy/model.js';
import { normalize } from './policy/paths.js';
import { printable } from './text.js';

/** One call as the observer recorded it (NativeObserved). */
export interface ObservedRecord {
  nr: number;
  args: number[];
  path: string;
  base: string;
  path2: string;
  base2: string;
}

// Flag values shared by x86_64 and aarch64 (asm-generic).
const O_ACCMODE = 0o3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_PATH = 0o10000000;
const AT_EMPTY_PATH = 0x1000;

type Want = ObservedAccess | 'open-create';

/** What a call asks of each path it names, by syscall name; null: nothing
 *  Landlock checks (O_PATH, an fd given by AT_EMPTY_PATH). */
function wants(name: string, args: number[]): [Want | null, Want | null] {
  const open = (flags: number): Want | null => {
    if (flags & O_PATH) return null;
    if (flags & O_CREAT) return 'open-create';
    return (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0 ? 'write' : 'read';
  };
  switch (name) {
    case 'open':
      return [open(args[1]!), null];
    case 'openat':
    case 'openat2':
      return [open(args[2]!), null];
    case 'creat':
      return ['open-create', null];
    case 'truncate':
      return ['write', null];
    case 'mkdir':
    case 'mkdirat':
    case 'mknod':
    case 'mknodat':
    case 'symlink':
    case 'symlinkat':
      return ['create', null];
    case 'rmdir':
    case 'unlink':
    case 'unlinkat':
      return ['remove', null];
    case 'rename':
    case 'renameat':
    case 'renameat2':
      return ['remove', 'create'];
    case 'link':
    case 'linkat':
      return [null, 'create'];
    case 'execve':
      return ['exec', null];
    case 'execveat':
      return args[4]! & AT_EMPTY_PATH ? [null, null] : ['exec', null];
    default:
      return [null, null];
  }
}

/** The path as the program gave it, made absolute with the directory the
 *  observer read; null when that is unknown (an unreadable argument). */
function absolute(path: string, base: string): string | null {
  if (path === '') return null;
  if (path.startsWith('/')) return normalize(path);
  return base.startsWith('/') ? normalize(`${base}/${path}`) : null;
}

export interface Denial {
  access: ObservedAccess;
  path: string;
  /** Why, in explain's words, without its suggestion. */
  why: string;
  /** The grant that would allow it, when explain suggests one. */
  allow: Allow | null;
  calls: number;
}

export interface Judged {
  denials: Denial[];
  /** Calls let through unrecorded past the observer's bounds. */
  dropped: number;
  /** Distinct denials beyond the ones kept. */
  more: number;
  /** $HOME: no grant on it, above it or on a credential is suggested. */
  home: string;
}

/** Denials kept, and paths judged (at most one per recorded call, which
 *  the observer bounds at 100 000 anyway). */
const MAX_DENIALS = 10_000;
const MAX_JUDGED = 200_000;

/** Each recorded call's paths, with what it asks of each (an O_CREAT open
 *  of a file that is there now as the write or read its mode asks), in
 *  order, repeats included; calls of unknown syscalls left out. */
export function* observedPaths(host: Host, calls: readonly ObservedRecord[], nameOf: (nr: number) => string | undefined): Generator<{ access: ObservedAccess; path: string }> {
  for (const c of calls) {
    const name = nameOf(c.nr);
    if (name === undefined) continue;
    const [w1, w2] = wants(name, c.args);
    for (const [want, given, base] of [[w1, c.path, c.base], [w2, c.path2, c.base2]] as const) {
      const path = want && absolute(given, base);
      if (!want || path === null) continue;
      const access: ObservedAccess = want === 'open-create' ? (host.realpath(path) !== null ? writeOrRead(name, c.args) : 'create') : want;
      yield { access, path };
    }
  }
}

/** Each recorded call judged against the plan that ran; the refused ones,
 *  one per access and path. */
export function judgeObserved(plan: JailPlan, policy: Policy, host: Host, calls: readonly ObservedRecord[], dropped: number, nameOf: (nr: number) => string | undefined): Judged {
  const seen = new Map<string, Denial | null>();
  let more = 0;
  let denied = 0;
  for (const { access, path } of observedPaths(host, calls, nameOf)) {
    const key = `${access}\0${path}`;
    const known = seen.get(key);
    if (known !== undefined) {
      if (known) known.calls++;
      continue;
    }
    if (denied >= MAX_DENIALS || seen.size >= MAX_JUDGED) {
      more++;
      continue;
    }
    const e = judgeCall(plan, policy, host, path, access);
    if (e.allowed) {
      seen.set(key, null);
      continue;
    }
    denied++;
    // explain's last line says what would allow it, or that jail suggests nothing.
    const why = e.why.filter((l) => !l.startsWith('to allow it: ') && !l.startsWith('jail suggests no grant: '));
    seen.set(key, { access, path, why: shortWhy(why), allow: e.allow ?? null, calls: 1 });
  }
  const denials = [...seen.values()].filter((d): d is Denial => d !== null);
  return { denials, dropped, more, home: host.home };
}

/** explain's reasons in one clause: "the rules on it give read-file, not
 *  write-file:" and its rule lines become "only read-file there, by --ro .". */
export function shortWhy(why: string[]): string {
  const m = /^the rules on it give (.*), not (.*):$/.exec(why[0] ?? '');
  if (m) {
    const by = why.slice(1).map((l) => /\((.*)\)$/.exec(l.trim())?.[1] ?? l.trim());
    return `only ${m[1]} there, by ${[...new Set(by)].join(', ')}`;
  }
  return why.map((l) => l.trim().replace(/[.:]$/, '')).join('; ');
}

/** A path in a suggestion under the working directory as ./rel, as a
 *  user would type it there. */
function relative(p: string, cwd: string): string {
  return p === cwd ? '.' : p.startsWith(`${cwd}/`) ? `./${p.slice(cwd.length + 1)}` : p;
}

/** An O_CREAT open of a file that is there: what its access mode asks. */
function writeOrRead(name: string, args: number[]): ObservedAccess {
  const flags = name === 'creat' ? 1 : name === 'open' ? args[1]! : args[2]!;
  return (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0 ? 'write' : 'read';
}

const MAX_LINES = 15;

const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

/**
 * The summary for stderr, at most 15 lines: one per access, reason and
 * directory ("denied read of 3 paths under /root/.ssh (…)"), the flag
 * that would allow it, and what went unrecorded. Paths are escaped; no
 * file's content is ever read. Empty when nothing was refused or dropped.
 */
export function formatDenials(j: Judged, cwd: string): string[] {
  const groups = new Map<string, Denial[]>();
  for (const d of j.denials) {
    const key = `${d.access}\0${d.why}\0${dirOf(d.path)}`;
    const g = groups.get(key);
    if (g) g.push(d);
    else groups.set(key, [d]);
  }
  const lines: string[] = [];
  const all = [...groups.values()];
  const room = MAX_LINES - (j.dropped ? 1 : 0) - 1;
  for (const g of all.slice(0, all.length > room ? room - 1 : room)) {
    const d = g[0]!;
    const calls = g.reduce((n, x) => n + x.calls, 0);
    const times = calls > g.length ? `, ${calls} calls` : '';
    if (g.length === 1) {
      lines.push(`denied ${d.access} ${printable(d.path)} (${printable(d.why)}${times})${d.allow ? `; to allow it: ${printable(allowText(d.allow, (p) => relative(p, cwd)))}` : ''}`);
    } else {
      const dir = dirOf(d.path);
      // One grant for the group: the directory they share, unless that
      // is $HOME, above it, or holds a credential (three reads in ~/.ssh
      // are no reason for --ro ~/.ssh).
      const flag = d.access === 'read' || d.access === 'exec' ? '--ro' : '--rw';
      const allow = !d.allow ? '' : tooBroad(dir, j.home) ? `; jail suggests no grant on ${printable(dir)} (${dir === '/' || j.home === dir || j.home.startsWith(`${dir}/`) ? 'your home directory' : 'your credentials'})` : `; to allow them: ${printable(`${flag} ${shellPath(relative(dir, cwd))}`)}`;
      lines.push(`denied ${d.access} of ${g.length} paths under ${printable(dir)} (${printable(d.why)}${times})${allow}`);
    }
  }
  if (all.length > lines.length) lines.push(`… and ${all.length - lines.length} more group(s) of denials`);
  if (j.more) lines.push(`… and ${j.more} more path(s), not judged (past ${MAX_DENIALS} denials)`);
  if (j.dropped) lines.push(`${j.dropped} path call(s) went unrecorded (the observer keeps at most 100 000 per run); denials among them are not listed`);
  if (lines.length === 0) return [];
  const total = j.denials.length;
  return [total ? `--report-denials: the jail refused ${total} path(s):` : '--report-denials: nothing refused among the calls recorded:', ...lines.map((l) => `  ${l}`)];
}
