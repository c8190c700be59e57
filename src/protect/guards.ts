/**
 * Detect and restore: record the guarded set before the run, and after the
 * whole jailed process tree has ended, put every change back, moving what
 * the command left into the quarantine. Used where the kernel cannot keep a
 * path as it is (the fallback layer; in both layers, names that do not
 * exist yet). See Guard in src/policy/model.ts for what each kind means.
 *
 * The command controlled the tree until it ended: any component of a
 * guarded path may now be a symlink, a FIFO, a hardlink, a huge file. So
 * every path is lstat'ed from the top down, each ancestor must be a real
 * directory (one that is not is a replacement to undo), only regular files
 * are opened, and nothing is written but at a guarded path or in the
 * quarantine.
 */
import fs = require('node:fs');
import type { Guard } from '../policy/model.js';
import { nameMatcher } from '../policy/names.js';
import { ancestors, basename, buf, dirname, join, kindOf, lstat, readdir, readdirTyped, readlink, readRegular, toBytes, toText, writeNew, type BPath, type Kind } from './fsx.js';
import type { Quarantine } from './quarantine.js';

export interface Budget {
  /** File content kept in all, in bytes. */
  bytes: number;
  /** Entries whose content is kept, in all. */
  entries: number;
}

export const DEFAULT_BUDGET: Budget = { bytes: 64 << 20, entries: 20_000 };
/** Directories a scan lists at most. */
export const SCAN_DIRS = 20_000;
/** A `.git` file is a line or two. */
const GITFILE_MAX = 4096;

interface Meta {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: bigint;
  size: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One entry as it was. A file's content is absent past the budget. */
export type Node =
  | (Meta & { type: 'file'; content?: Buffer })
  | (Meta & { type: 'dir'; children?: Map<BPath, Node> })
  | (Meta & { type: 'symlink'; target: BPath })
  | (Meta & { type: 'other' });

interface Item {
  guard: Guard;
  path: BPath;
  /** keep: the tree as it was, null when absent; pin, worktrees: the entry
   *  alone (no children), null when absent. */
  node: Node | null;
  /** scan with record: the names it matched right before the run. */
  seen?: Set<BPath>;
}

export interface Snapshot {
  /** When it was taken (ns since the epoch): a ctime older than this by
   *  more than the file system's tick is trusted to mean "unchanged". */
  takenNs: bigint;
  items: Item[];
  /** The identity, and mode, of every directory above a guarded path. */
  ancestors: Map<BPath, { dev: bigint; ino: bigint; mode: number }>;
  notes: string[];
}

export interface Change {
  /** What the command did: made a new entry, changed one, removed one,
   *  replaced one with another object (a symlink, a file, a directory). */
  what: 'created' | 'changed' | 'removed' | 'replaced';
  /** Absolute, as text (not yet escaped for the terminal). */
  path: string;
  /** The guard's why: "git hooks". */
  why: string;
  /** removed: what was made is gone (into the quarantine); restored: the
   *  original is back; reverted: the original, renamed away, is back under
   *  its name; could-not-restore: see note. */
  action: 'reverted' | 'removed' | 'restored' | 'could-not-restore';
  /** Where what the command left went, when it went somewhere. */
  kept?: string;
  note?: string;
}

export interface RestoreResult {
  changes: Change[];
  /** The run's quarantine directory, when anything went there. */
  quarantine: string | null;
  /** Limits hit and other things to know (a scan cut short). */
  notes: string[];
}

const depthOf = (p: string) => p.split('/').length;

const metaOf = (st: fs.BigIntStats): Meta => ({
  dev: st.dev,
  ino: st.ino,
  mode: Number(st.mode) & 0o7777,
  nlink: st.nlink,
  size: st.size,
  atimeNs: st.atimeNs,
  mtimeNs: st.mtimeNs,
  ctimeNs: st.ctimeNs,
});

/**
 * Record the guarded set, right before the command starts. Keep guards keep
 * content (files, symlink targets, whole trees) within `budget`; past it,
 * stat data only. Throws only on an unexpected I/O error.
 */
export function snapshotGuards(guards: readonly Guard[], budget: Budget = DEFAULT_BUDGET): Snapshot {
  const snap: Snapshot = { takenNs: BigInt(Date.now()) * 1_000_000n, items: [], ancestors: new Map(), notes: [] };
  const left = { ...budget };
  // Pins first (a `.git` renamed away comes back before anything looks
  // inside or beside it), then keeps, then the scans for new names;
  // shallower first within each: a pin on `.git` before keeps inside it.
  const rank = (g: Guard) => (g.mode === 'pin' ? 0 : g.mode === 'keep' ? 1 : 2);
  const sorted = guards.map((g, i) => ({ g, i, path: toBytes(g.path) })).sort((a, b) => rank(a.g) - rank(b.g) || depthOf(a.path) - depthOf(b.path) || a.i - b.i);
  for (const { g, path } of sorted) {
    let realAncestors = true;
    for (const a of ancestors(path)) {
      if (snap.ancestors.has(a)) continue;
      const st = lstat(a);
      if (!st) break; // below a name that does not exist yet
      if (!st.isDirectory()) {
        realAncestors = false;
        break;
      }
      snap.ancestors.set(a, { dev: st.dev, ino: st.ino, mode: Number(st.mode) & 0o7777 });
    }
    if (!realAncestors) {
      // Guard paths are real paths; something moved since the policy was
      // built. Checking it would mean following a symlink: leave it out.
      snap.notes.push(`${toText(path)} is not checked: a directory above it is no longer a directory`);
      continue;
    }
    const deep = g.mode === 'keep';
    const item: Item = { guard: g, path, node: g.mode === 'scan' ? null : record(path, deep, left) };
    if (g.mode === 'scan' && g.record) {
      const seen = new Set<BPath>();
      const full = walkScan(path, g, (p) => {
        seen.add(p);
        return true;
      });
      if (!full) snap.notes.push(`the record of ${toText(path)} (${g.why}) before the run stopped after ${SCAN_DIRS} directories`);
      item.seen = seen;
    }
    snap.items.push(item);
  }
  return snap;
}

function record(p: BPath, deep: boolean, left: Budget): Node | null {
  const st = lstat(p);
  if (!st) return null;
  const m = metaOf(st);
  const kind = kindOf(st);
  if (!deep) return kind === 'symlink' ? { ...m, type: kind, target: readlink(p) } : { ...m, type: kind };
  switch (kind) {
    case 'file': {
      let content: Buffer | undefined;
      if (left.entries > 0 && st.size <= BigInt(left.bytes)) {
        content = readRegular(p, st, left.bytes) ?? undefined;
        if (content) {
          left.entries--;
          left.bytes -= content.length;
        }
      }
      return { ...m, type: 'file', content };
    }
    case 'dir': {
      const children = new Map<BPath, Node>();
      for (const n of readdir(p)) {
        const c = record(join(p, n), true, left);
        if (c) children.set(n, c);
      }
      return { ...m, type: 'dir', children };
    }
    case 'symlink':
      return { ...m, type: 'symlink', target: readlink(p) };
    default:
      return { ...m, type: 'other' };
  }
}

/**
 * After the run, once nothing jailed runs: make every guarded path as it
 * was. Never throws: what cannot be done is a change with action
 * could-not-restore, or a note.
 */
export function restoreGuards(snap: Snapshot, q: Quarantine): RestoreResult {
  const r = new Restorer(snap, q);
  for (const item of snap.items) {
    try {
      r.item(item);
    } catch (e) {
      r.change({ what: 'changed', path: toText(item.path), why: item.guard.why, action: 'could-not-restore', note: errText(e) });
    }
  }
  return { changes: r.changes, quarantine: q.dir, notes: [...snap.notes, ...r.notes, ...q.notes] };
}

const errText = (e: unknown) => ((e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).syscall ?? 'error'}: ${(e as NodeJS.ErrnoException).code}` : String((e as Error).message ?? e));

class Restorer {
  readonly changes: Change[] = [];
  readonly notes: string[] = [];
  /** Ancestors checked (or made right) in this pass. */
  private readonly ok = new Set<BPath>();
  /** Paths whose original is gone: what is below them is not reported again. */
  private readonly gone = new Set<BPath>();

  constructor(
    private readonly snap: Snapshot,
    private readonly q: Quarantine,
  ) {}

  change(c: Change): void {
    this.changes.push(c);
  }

  item(it: Item): void {
    const g = it.guard;
    // Content to put back needs its directories; a name that must stay
    // absent, or a scan, is fine without them.
    const needs = (g.mode === 'keep' && it.node !== null) || (g.mode === 'pin' && it.node !== null);
    const missing = this.ancestorsOf(it.path, g.why, needs);
    if (missing !== null) {
      if (needs && !this.gone.has(missing)) {
        this.change({ what: 'removed', path: toText(it.path), why: g.why, action: 'could-not-restore', note: `${toText(missing)} was removed` });
      }
      return;
    }
    switch (g.mode) {
      case 'keep':
        this.reconcile(it.path, it.node, g.why);
        return;
      case 'pin':
        if (it.node) this.recover(it.path, it.node, g.why);
        return;
      case 'scan':
        this.scan(it.path, g, it.seen);
        return;
      case 'worktrees':
        this.worktrees(it.path, it.node, g);
        return;
    }
  }

  /**
   * Every directory above p must be a real directory, the one it was: one
   * replaced by a symlink or a file goes to the quarantine and, when it was
   * renamed away in its own directory, comes back. Returns the first one
   * missing afterwards, or null. `needed`: report a missing one that was
   * there before (content is to go below it); else a missing one is fine.
   */
  private ancestorsOf(p: BPath, why: string, needed: boolean): BPath | null {
    for (const a of ancestors(p)) {
      if (this.ok.has(a)) continue;
      if (this.gone.has(a)) return a; // said once already
      const st = lstat(a);
      const was = this.snap.ancestors.get(a);
      if (st?.isDirectory()) {
        // Its mode back first (the fallback cannot refuse a chmod): a
        // directory made unreadable would hide what was planted below.
        const mode = Number(st.mode) & 0o7777;
        if (was && st.dev === was.dev && st.ino === was.ino && mode !== was.mode) {
          fs.chmodSync(buf(a), was.mode);
          this.change({ what: 'changed', path: toText(a), why, action: 'restored', note: `mode ${mode.toString(8)} → ${was.mode.toString(8)}` });
        }
        this.ok.add(a);
        continue;
      }
      if (!st && !needed) return a; // nothing there: nothing planted below
      if (!was) {
        // It did not exist before; whatever is there now is new.
        if (st && this.aside(a, why, 'created')) return a;
        if (st) throw new Error(`could not move ${toText(a)} aside`);
        return a;
      }
      if (!this.recover(a, { ...was, type: 'dir' }, why, needed)) return a;
      this.ok.add(a);
    }
    return null;
  }

  /**
   * The entry at p must be the object `was` (same dev and ino): otherwise
   * quarantine what is there, and look in the same directory for the
   * original under another name (a rename) and rename it back. True when
   * the original is at p afterwards.
   */
  private recover(p: BPath, was: { dev: bigint; ino: bigint; type: Kind }, why: string, report = true): boolean {
    const st = lstat(p);
    if (st && st.dev === was.dev && st.ino === was.ino && kindOf(st) === was.type) return true;
    let kept: string | undefined;
    if (st) {
      kept = this.q.move(p);
    }
    const parent = dirname(p);
    for (const n of lstat(parent)?.isDirectory() ? readdir(parent) : []) {
      const other = join(parent, n);
      const o = lstat(other);
      if (o && o.dev === was.dev && o.ino === was.ino && kindOf(o) === was.type) {
        fs.renameSync(buf(other), buf(p));
        this.change({ what: st ? 'replaced' : 'removed', path: toText(p), why, action: 'reverted', kept, note: `the original was renamed to ${toText(n)}; renamed back` });
        return true;
      }
    }
    this.gone.add(p);
    if (st || report) this.change({ what: st ? 'replaced' : 'removed', path: toText(p), why, action: 'could-not-restore', kept, note: 'the original was removed' });
    return false;
  }

  /** Move p to the quarantine and report it; false (reported) when it
   *  could not be moved. */
  private aside(p: BPath, why: string, what: Change['what']): boolean {
    try {
      const kept = this.q.move(p);
      this.change({ what, path: toText(p), why, action: 'removed', kept });
      return true;
    } catch (e) {
      this.change({ what, path: toText(p), why, action: 'could-not-restore', note: `could not move it to the quarantine: ${errText(e)}` });
      return false;
    }
  }

  /** Make p as `want` was (null: absent), reporting each difference. */
  private reconcile(p: BPath, want: Node | null, why: string): void {
    const st = lstat(p);
    if (want === null) {
      if (st) this.aside(p, why, 'created');
      return;
    }
    if (!st) {
      this.rebuild(p, want, why, 'removed', undefined);
      return;
    }
    const same = kindOf(st) === want.type && (want.type !== 'dir' || (st.dev === want.dev && st.ino === want.ino));
    if (!same) {
      this.replace(p, want, why, 'replaced');
      return;
    }
    switch (want.type) {
      case 'file':
        if (!this.sameFile(p, st, want)) this.replace(p, want, why, 'changed');
        return;
      case 'symlink':
        if (readlink(p) !== want.target) this.replace(p, want, why, 'changed');
        return;
      case 'other':
        if (st.dev !== want.dev || st.ino !== want.ino) this.replace(p, want, why, 'replaced');
        return;
      case 'dir': {
        const mode = Number(st.mode) & 0o7777;
        // Work inside with the owner's rights; the original mode at the end.
        if ((mode | 0o700) !== mode) fs.chmodSync(buf(p), mode | 0o700);
        const now = new Set(readdir(p));
        const kids = want.children ?? new Map<BPath, Node>();
        for (const n of now) this.reconcile(join(p, n), kids.get(n) ?? null, why);
        for (const [n, c] of kids) if (!now.has(n)) this.reconcile(join(p, n), c, why);
        if (mode !== want.mode) {
          fs.chmodSync(buf(p), want.mode);
          this.change({ what: 'changed', path: toText(p), why, action: 'restored', note: `mode ${mode.toString(8)} → ${want.mode.toString(8)}` });
        } else if ((mode | 0o700) !== mode) {
          fs.chmodSync(buf(p), want.mode);
        }
        return;
      }
    }
  }

  /** What is at p goes to the quarantine; the original is made again. */
  private replace(p: BPath, want: Node, why: string, what: Change['what']): void {
    let kept: string;
    try {
      kept = this.q.move(p);
    } catch (e) {
      this.change({ what, path: toText(p), why, action: 'could-not-restore', note: `could not move it to the quarantine: ${errText(e)}` });
      return;
    }
    this.rebuild(p, want, why, what, kept);
  }

  private rebuild(p: BPath, want: Node, why: string, what: Change['what'], kept: string | undefined): void {
    const lost: Lost[] = [];
    try {
      make(p, want, lost);
    } catch (e) {
      lost.push({ path: p, why: errText(e) });
    }
    const note = lost.length === 0 ? undefined : lost.length === 1 && lost[0]!.path === p ? lost[0]!.why : `not restored: ${lost.map((l) => `${toText(l.path)} (${l.why})`).join(', ')}`;
    this.change({ what, path: toText(p), why, action: lost.length ? 'could-not-restore' : 'restored', kept, ...(note && { note }) });
  }

  /** Whether the regular file at p is still the one `want` recorded: same
   *  mode, same content, and no new name for it (a hardlink made during
   *  the run lets a later writer elsewhere change it). Another inode with
   *  the same content and mode and no other name (an editor's or git's
   *  write-and-rename) is the same file for what runs later. */
  private sameFile(p: BPath, st: fs.BigIntStats, want: Meta & { content?: Buffer }): boolean {
    const sameInode = st.dev === want.dev && st.ino === want.ino;
    if ((Number(st.mode) & 0o7777) !== want.mode || st.size !== want.size) return false;
    if (st.nlink > (sameInode ? want.nlink : 1n)) return false;
    const statSame = sameInode && st.mtimeNs === want.mtimeNs && st.ctimeNs === want.ctimeNs;
    // A ctime can only be set to "now" by the kernel: unchanged and older
    // than the snapshot by more than a tick means the file was not written.
    if (statSame && want.ctimeNs + 1_000_000_000n < this.snap.takenNs) return true;
    if (!want.content) return statSame;
    const now = readRegular(p, st, want.content.length);
    return now !== null && now.equals(want.content);
  }

  /**
   * scan: no new entry named like one of `names` under the path, down to
   * `depth` levels (the path's own entries are level 1), node_modules
   * skipped, no `.git` directory entered, nothing followed; besides those
   * in `before`, and those the snapshot saw (`seen`, a record guard's).
   */
  private scan(root: BPath, g: Extract<Guard, { mode: 'scan' }>, seen?: Set<BPath>): void {
    if (!lstat(root)?.isDirectory()) return;
    const before = new Set(g.before.map((b) => toBytes(b.startsWith('/') ? b : `${g.path}/${b}`)));
    const gitdirs = g.gitdirs.map(toBytes);
    const full = walkScan(root, g, (p, n, pattern) => {
      if (before.has(p) || seen?.has(p) || (n === '.git' && this.gitFileInside(p, gitdirs)) || (toText(n) === 'HEAD' && !bareRepo(dirname(p)))) return true;
      this.aside(p, g.reasons?.[pattern] ?? g.why, 'created');
      return false;
    });
    if (!full) this.notes.push(`the check of ${toText(root)} (${g.why}) stopped after ${SCAN_DIRS} directories; deeper ones were not checked`);
  }

  /** A `.git` regular file whose `gitdir: X` (relative to its directory,
   *  taken lexically) is one of gitdirs (`DIR/*`: an entry of DIR): a
   *  linked worktree's, a submodule's. Not a directory below one, where
   *  a gitdir of the command's own may have been made (inside a new
   *  worktree's entry, deep under a submodule's). */
  private gitFileInside(p: BPath, gitdirs: BPath[]): boolean {
    const st = lstat(p);
    if (!st?.isFile()) return false;
    const text = readRegular(p, st, GITFILE_MAX);
    const m = text && /^gitdir: (.*?)\r?\n?$/.exec(text.toString('latin1').split('\n')[0]!);
    if (!m?.[1]) return false;
    const target = normalize(m[1].startsWith('/') ? m[1] : `${dirname(p)}/${m[1]}`);
    return gitdirs.some((d) => (d.endsWith('/*') ? dirname(target) === d.slice(0, -2) : target === d));
  }

  /**
   * worktrees: a new entry stays only as `git worktree add` makes it: a
   * directory whose `commondir` is a regular file holding `../..` and which
   * has no config, config.worktree or hooks of its own.
   */
  private worktrees(p: BPath, was: Node | null, g: Extract<Guard, { mode: 'worktrees' }>): void {
    let st = lstat(p);
    if (st && !st.isDirectory()) {
      if (was) this.recover(p, was, g.why);
      else this.aside(p, g.why, 'created');
      st = lstat(p);
    }
    if (!st?.isDirectory()) return;
    const before = new Set(g.before.map((b) => toBytes(b.includes('/') ? basenameOf(b) : b)));
    for (const n of readdir(p)) {
      if (before.has(n)) continue;
      const w = join(p, n);
      if (!this.plainWorktree(w)) this.aside(w, g.why, 'created');
    }
  }

  private plainWorktree(w: BPath): boolean {
    if (!lstat(w)?.isDirectory()) return false;
    if (['config', 'config.worktree', 'hooks'].some((n) => lstat(join(w, n)))) return false;
    const c = join(w, 'commondir');
    const st = lstat(c);
    const text = st?.isFile() ? readRegular(c, st, GITFILE_MAX) : null;
    return text !== null && text.toString('latin1').trim() === '../..';
  }
}

const basenameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * A scan guard's walk, breadth first: `found(path, name)` for each entry
 * named like one of the guard's names, which returns whether the walk may
 * go on into it (false: it was set aside). False when it stopped at
 * SCAN_DIRS directories. The same walk records before the run and checks
 * after it, so both see the same entries.
 */
function walkScan(root: BPath, g: Extract<Guard, { mode: 'scan' }>, found: (p: BPath, name: BPath, pattern: string) => boolean): boolean {
  const names = nameMatcher(g.names);
  // `inside`: a directory one level below the depth that qualified names
  // look in (`.config` for `.config/mise.toml`), for those alone; as the
  // search before the run (src/policy/protect.ts).
  const queue: Array<{ dir: BPath; level: number; inside: boolean }> = [{ dir: root, level: 1, inside: false }];
  let listed = 0;
  while (queue.length) {
    const { dir, level, inside } = queue.shift()!;
    if (++listed > SCAN_DIRS) return false;
    let entries: Array<{ name: BPath; dir: boolean }>;
    try {
      entries = readdirTyped(dir);
    } catch {
      continue; // unreadable: git cannot read it either
    }
    const parent = basename(dir);
    for (const { name: n, dir: isDir } of entries) {
      const p = join(dir, n);
      const hit = names.match(n, parent, inside);
      if (hit !== undefined && !found(p, n, hit)) continue;
      if (!isDir || inside || n === 'node_modules' || n === '.git') continue;
      if (level < g.depth) queue.push({ dir: p, level: level + 1, inside: false });
      else if (names.parents.has(n)) queue.push({ dir: p, level: level + 1, inside: true });
    }
  }
  return true;
}

/** Make `node` at p (nothing there), content and mode as recorded. What
 *  could not be made (content past the budget, a FIFO or socket) is pushed
 *  on `lost`. */
interface Lost {
  path: BPath;
  why: string;
}

function make(p: BPath, node: Node, lost: Lost[]): void {
  switch (node.type) {
    case 'file':
      if (!node.content) {
        lost.push({ path: p, why: 'too large to keep' });
        return;
      }
      writeNew(p, node.content, node.mode, node);
      return;
    case 'symlink':
      fs.symlinkSync(buf(node.target), buf(p));
      return;
    case 'dir':
      fs.mkdirSync(buf(p), { mode: 0o700 });
      for (const [n, c] of node.children ?? []) make(join(p, n), c, lost);
      fs.chmodSync(buf(p), node.mode);
      return;
    case 'other':
      lost.push({ path: p, why: 'a FIFO, socket or device cannot be made again' });
      return;
  }
}


/** `.` and `..` taken lexically, as git does for a gitdir line. */
function normalize(p: BPath): BPath {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return `/${out.join('/')}`;
}

/** What git may take for a bare repository: HEAD beside objects and refs
 *  (git tests them with access(), which follows a symlink: any kind of
 *  entry counts here), or beside a commondir (which names where they are). */
function bareRepo(dir: BPath): boolean {
  const has = (n: string) => lstat(join(dir, toBytes(n))) !== undefined;
  return has('commondir') || (has('objects') && has('refs'));
}
