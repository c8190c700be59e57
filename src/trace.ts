/**
 * What a prepared run looked at, to tell later whether preparing it again
 * would give the same plan. prepare() is a pure function of its request,
 * the kernel facts and what the Host answers (src/policy touches nothing
 * else), so a plan made once holds as long as the same request meets the
 * same answers: asking the same questions again, in the same order, and
 * getting the same answers is preparing again without the work in between.
 * This is how the library keeps its plans between runs (src/inproc.ts).
 *
 * Two answers are no facts about the machine and are not compared:
 * - tempName(), a fresh random name for the private TMPDIR: asked again,
 *   and the new name put where the old one was (fresh());
 * - unixSockets(), the socket table, whose order and counters change with
 *   every connection on the machine: compared by the paths it lists, all
 *   the policy reads from it (src/policy/sockets.ts).
 * An answer that was an exception is not kept at all: such a trace is not
 * reused.
 */
import type { DirEntry, Host, ScanEntry, Stat } from './policy/host.js';
import { socketPaths } from './policy/sockets.js';

interface Call {
  /** A method's name, or a property's (then `args` is null). */
  name: string;
  args: unknown[] | null;
  value: unknown;
  /** readdir: the directory's stamp (stampDir), when it had not changed
   *  for SETTLED_NS before it was listed. */
  stamp?: string;
  /** The answer was the host's refusal to look (stat, identify or
   *  readText failing with this errno code, other than ENOENT: a directory
   *  on the way this user cannot search), which the preparation caught;
   *  `value` is unused. */
  error?: string;
}

export interface Trace {
  calls: Call[];
  /** The names tempName() gave, in order. */
  names: string[];
  /** False when an answer was an exception: not to be reused. */
  reusable: boolean;
  /** About how much memory the answers hold (characters and entries). */
  size: number;
}

/**
 * A directory's identity and times (`dev:ino:mtime:ctime`, nanoseconds),
 * following symlinks as readdir does; null when it cannot be had. With it
 * a listing is checked without listing again: adding, removing or renaming
 * a name in a directory sets both its times to the clock of that moment.
 * The file system's clock is coarse (a tick of a few milliseconds, a
 * second on some), so two changes in the same tick may leave the same
 * times: only a directory whose times were SETTLED_NS older than the
 * moment it was listed is checked so (a change after the listing gets a
 * later time, whatever the tick); another is listed again.
 */
export type StampDir = (p: string) => { stamp: string; changedNs: bigint } | null;
export const SETTLED_NS = 2_000_000_000n;

/** `host`, writing each question and answer down in `trace`. */
export function tracing(host: Host, stampDir?: StampDir): { host: Host; trace: Trace } {
  const trace: Trace = { calls: [], names: [], reusable: true, size: 0 };
  return { host: new Tracing(host, trace, stampDir), trace };
}

/**
 * Whether `host` answers every question of `trace` as before, asked in the
 * same order (stopping at the first that differs). When it does, the new
 * private TMPDIR names, for renamed(); null when not.
 */
export function replay(trace: Trace, host: Host, stampDir?: StampDir): string[] | null {
  if (!trace.reusable) return null;
  const names: string[] = [];
  try {
    for (const c of trace.calls) {
      if (c.name === 'tempName') {
        names.push(host.tempName());
        continue;
      }
      if (c.stamp !== undefined && stampDir?.(c.args![0] as string)?.stamp === c.stamp) continue;
      const h = host as unknown as Record<string, unknown>;
      if (c.name === 'unixSockets') {
        if (!same(sockets(host.unixSockets?.() ?? null), c.value)) return null;
        continue;
      }
      if (c.error !== undefined) {
        if (refusal(() => (h[c.name] as (...a: unknown[]) => unknown).apply(host, c.args!)) !== c.error) return null;
        continue;
      }
      const value = c.args === null ? h[c.name] : (h[c.name] as (...a: unknown[]) => unknown).apply(host, c.args);
      if (!same(value, c.value)) return null;
    }
  } catch {
    return null; // an answer that is an exception now: prepare again, and say why then
  }
  return names;
}

/**
 * A trace as the library keeps it with its plan (src/inproc.ts): the
 * questions the addon answers go to its batch, in the columns the store
 * keeps (packCalls); the rest (the host's properties, tempName, tree
 * scans, the socket table) stay calls, compared as replay() compares
 * them. Asked one by one through node:fs, a root's trace of about 220
 * questions took 1.4 ms of every run (at a slow moment); in one batch, 1.0.
 */
export interface KeptTrace {
  batch: PackedCalls;
  rest: Call[];
}

/** `trace` split for replayKept; null when it is not to be reused. */
export function keptTrace(trace: Trace, answers: Answers, pid = process.pid): KeptTrace | null {
  const stored = storedCalls(trace, answers, pid);
  if (!stored) return null;
  const rest: Call[] = [];
  const batched: StoredCall[] = [];
  stored.forEach((s, i) => (s[3] === undefined || s[3] === 'T' ? rest.push(trace.calls[i]!) : batched.push(s)));
  return { batch: packCalls(batched), rest };
}

/** replay() of a kept trace: the new private TMPDIR names when every
 *  answer is as before, null when not. */
export function replayKept(k: KeptTrace, host: Host, answers: Answers, pid = process.pid): string[] | null {
  const r = replayKeptStart(k, host, answers, pid);
  return r && r.holds([]) ? r.names : null;
}

/**
 * replayKept() in two steps, for a caller with work to do before the
 * batch is asked (src/inproc.ts: the command made ready, waiting). The
 * rest is compared now; null when some of it differs. Otherwise the new
 * private TMPDIR names, and holds(ours), which asks the batch and says
 * whether its answers are as before (`ours`: the TMPDIRs made meanwhile,
 * as replayStored has it). Nothing of the plan may run before holds()
 * said true. (The rest asked in holds() too gained nothing: measured.)
 */
export function replayKeptStart(k: KeptTrace, host: Host, answers: Answers, pid = process.pid): { names: string[]; holds: (ours: readonly string[]) => boolean } | null {
  const names = replay({ calls: k.rest, names: [], reusable: true, size: 0 }, host);
  if (!names) return null;
  const holds = (ours: readonly string[]) => {
    try {
      return batchHolds(k.batch, host, answers, ours, pid);
    } catch {
      return false; // no addon, or a question it would not take: prepare again
    }
  };
  return { names, holds };
}

/** The errno code (EACCES, ELOOP, …) of a host's refusal to look. */
function errnoCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== 'ENOENT' && code !== 'ENOTDIR' && errnos()[code] !== undefined ? code : null;
}
/** errno numbers by name, from node:os, loaded only when needed (a run
 *  from a stored plan, which needs none, would pay 0.25 ms for it). */
let errnoTable: Record<string, number | undefined> | undefined;
const errnos = () => (errnoTable ??= (require('node:os') as typeof import('node:os')).constants.errno as Record<string, number | undefined>);

/** The errno code a question is refused with now; null when answered. */
function refusal(ask: () => unknown): string | null {
  try {
    ask();
    return null;
  } catch (e) {
    return errnoCode(e) ?? 'another exception';
  }
}

/** A kept plan: frozen, shared by the runs that reuse it, with where the
 *  private TMPDIR's name is in it. */
export interface Kept<T> {
  value: T;
  names: readonly string[];
  /** The keys down to each string holding a name; null at a string. */
  where: Where;
}
type Where = Map<string, Where | null>;

/**
 * `v` kept: frozen through (plain objects, arrays, strings; byte arrays
 * shared and left as they are, as nothing writes them), with the place of
 * each of `names` in it. The names are `jail-<pid>-<48 random bits>`, made
 * during the preparation they appear in: nothing else in it can hold one
 * (the request and every answer compared came before or without it).
 * Throws on anything else (a class instance, a function): such a value is
 * not kept.
 */
export function keep<T>(v: T, names: readonly string[]): Kept<T> {
  const walk = (x: unknown): Where | null | undefined => {
    if (typeof x === 'string') return names.some((n) => x.includes(n)) ? null : undefined;
    if (x === null || typeof x !== 'object') {
      if (typeof x === 'function' || typeof x === 'symbol') throw new TypeError(`not kept: a ${typeof x}`);
      return undefined;
    }
    if (ArrayBuffer.isView(x)) return undefined;
    const proto = Object.getPrototypeOf(x) as unknown;
    if (!Array.isArray(x) && proto !== Object.prototype && proto !== null) throw new TypeError('not kept: an object of a class');
    let here: Where | undefined;
    for (const k of Object.keys(x)) {
      const w = walk((x as Record<string, unknown>)[k]);
      if (w !== undefined) (here ??= new Map()).set(k, w);
    }
    Object.freeze(x);
    return here;
  };
  return { value: v, names, where: walk(v) ?? new Map() };
}

/** A kept value for one run: copied along the way to each name, which is
 *  replaced by the one at its place in `to`; the rest shared (frozen). */
export function fresh<T>(k: Kept<T>, to: readonly string[]): T {
  const copy = (x: unknown, where: Where | null): unknown => {
    if (where === null) {
      let str = x as string;
      for (let i = 0; i < k.names.length; i++) str = str.split(k.names[i]!).join(to[i]!);
      return str;
    }
    const out = (Array.isArray(x) ? [...(x as unknown[])] : { ...(x as object) }) as Record<string, unknown>;
    for (const [key, w] of where) out[key] = copy(out[key], w);
    return out;
  };
  return copy(k.value, k.where) as T;
}

const sockets = (text: unknown) => (typeof text === 'string' ? socketPaths(text) : text);

/** Deep equality of answers: JSON-like values, bigints, arrays. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** The Host, writing down. Properties once each (they do not change for
 *  a host), methods at every call. A class, not a Proxy: a trap per
 *  question costs more than the questions. */
class Tracing implements Host {
  private readonly seen = new Set<string>();
  constructor(
    private readonly host: Host,
    private readonly trace: Trace,
    private readonly stampDir: StampDir | undefined,
  ) {}

  private prop<T>(name: keyof Host, value: T): T {
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.trace.calls.push({ name, args: null, value });
    }
    return value;
  }

  private call<T>(name: keyof Host, args: unknown[], answer: () => T, kept: (v: T) => unknown = (v) => v): T {
    let value: T;
    try {
      value = answer();
    } catch (e) {
      // A refusal to look is an answer (the PATH search skips such a
      // directory); any other exception is not kept.
      const code = (name === 'stat' || name === 'identify' || name === 'readText') && errnoCode(e);
      if (code) this.trace.calls.push({ name, args, value: undefined, error: code });
      else this.trace.reusable = false;
      throw e;
    }
    const k = kept(value);
    this.trace.calls.push({ name, args, value: k });
    this.trace.size += typeof k === 'string' ? k.length : Array.isArray(k) ? 64 * k.length : 64;
    return value;
  }

  get cwd() { return this.prop('cwd', this.host.cwd); }
  get home() { return this.prop('home', this.host.home); }
  get uid() { return this.prop('uid', this.host.uid); }
  get path() { return this.prop('path', this.host.path); }
  get ttys() { return this.prop('ttys', this.host.ttys); }
  get self() { return this.prop('self', this.host.self); }
  get planStore() { return this.prop('planStore', this.host.planStore); }
  get tmpdir() { return this.prop('tmpdir', this.host.tmpdir); }
  realpath(p: string): string | null { return this.call('realpath', [p], () => this.host.realpath(p)); }
  stat(p: string, lstat?: boolean): Stat | null { return this.call('stat', [p, lstat], () => this.host.stat(p, lstat)); }
  identify(p: string): Stat | null { return this.call('identify', [p], () => this.host.identify(p)); }
  readdir(p: string): DirEntry[] {
    // The stamp before the listing: a change between them shows at replay.
    const before = BigInt(Date.now()) * 1_000_000n;
    const s = this.stampDir?.(p);
    const entries = this.call('readdir', [p], () => this.host.readdir(p));
    // Not an empty listing: it may be a failure (EACCES, EMFILE) that the
    // host answers as empty, which a stamp would keep past its cause.
    if (s && entries.length > 0 && s.changedNs < before - SETTLED_NS) this.trace.calls.at(-1)!.stamp = s.stamp;
    return entries;
  }
  scanTree(root: string, maxDepth: number): ScanEntry[] | null { return this.call('scanTree', [root, maxDepth], () => this.host.scanTree(root, maxDepth)); }
  readlink(p: string): string | null { return this.call('readlink', [p], () => this.host.readlink(p)); }
  readHead(p: string, n: number): string | null { return this.call('readHead', [p, n], () => this.host.readHead(p, n)); }
  executable(p: string): boolean { return this.call('executable', [p], () => this.host.executable(p)); }
  readText(p: string, opts?: { follow?: boolean; max?: number }): string | null { return this.call('readText', [p, opts], () => this.host.readText(p, opts)); }
  tempName(): string {
    const name = this.call('tempName', [], () => this.host.tempName());
    this.trace.names.push(name);
    return name;
  }
  unixSockets(): string | null { return this.call('unixSockets', [], () => this.host.unixSockets?.() ?? null, sockets); }
}

/**
 * A trace as the CLI keeps it on disk (src/planstore.ts), one entry per
 * question: [name, args (null for a property), answer, op]. Questions about
 * one path that the addon can answer in one batch (Answers, below) keep
 * the answer in the form the addon gives it, with the op that asks it; the
 * rest keep an encoding (encodeAnswer): JSON. A file's text is kept only
 * as a digest, so that no config's token lands in the store. A listing checked
 * by its stamp keeps the stamp (op 't'): when it differs, the plan is made
 * again rather than the directory listed and compared. tempName keeps no
 * answer. Each stored answer is made from the very answer the plan was
 * prepared from, never by asking again.
 */
export type StoredCall = [name: string, args: unknown[] | null, answer: string | null, op?: string, num?: number];

/**
 * The addon's batch of questions (binding.cc's Answers): ops[i] about
 * paths[i], each answer as text. `stamped(fsType)`: whether a stamp on that
 * file system counts (host.ts's STAMPED_FS).
 */
export interface Answers {
  ask(ops: string, paths: string[], nums: number[]): string[];
  stamped(fsType: number): boolean;
  /** A text's digest (of its UTF-8 bytes, or latin1's), as the addon makes
   *  it of a file's bytes. */
  digest(text: string, latin1?: boolean): string;
  /** Host.readText's limit when none is given. */
  maxText: number;
  /** Host.scanTree's answer as the addon gives it, before it is made into
   *  entries: the paths joined by NULs, and per entry (flags << 32 |
   *  mode), dev, ino; null when there is none. */
  scan(root: string, maxDepth: number): { names: string; meta: BigUint64Array } | null;
  /** Whether the tree at root holds what a stored scan of it says
   *  (ScanCheck), checked by its entries' modes and identities and its
   *  directories' times, without listing it; false when it cannot tell. */
  verify(root: string, maxDepth: number, check: ScanCheck): boolean;
}

/** A stored scan to check by its directories' times (scanCheck). */
export interface ScanCheck {
  names: string;
  /** The bytes of the scan's words, three per entry (see Answers.scan). */
  meta: Uint8Array;
  /** The bytes of its directories' times, mtime and ctime (ns) each, in
   *  the entries' order. */
  times: Uint8Array;
}

/** A scan in one string: its paths, and its numbers' bytes in base64. */
function scanned(names: string, meta: BigUint64Array): string {
  return `${names}\u0001${Buffer.from(meta.buffer, meta.byteOffset, meta.byteLength).toString('base64')}`;
}

/**
 * Host.scanTree's entries as the addon gave them (see Answers.scan): its
 * only flag is "incomplete" (native/scan.h). When every directory came
 * with its times (ScanEntry.times: listed after its last change, on a
 * file system whose directory times move) and none is incomplete, they
 * follow, so that a stored run checks the tree by them rather than list it
 * again: a name added, removed or renamed anywhere moves its directory's
 * times, a mode changed or a mount made shows in the entry's own lstat.
 */
function asScanned(entries: ScanEntry[] | null): string {
  if (entries === null) return '-';
  const meta = new BigUint64Array(3 * entries.length);
  entries.forEach((e, i) => {
    meta[3 * i] = (BigInt(e.incomplete ? 1 : 0) << 32n) | BigInt(e.mode);
    meta[3 * i + 1] = BigInt(e.dev ?? 0);
    meta[3 * i + 2] = BigInt(e.ino ?? 0);
  });
  const text = scanned(entries.map((e) => e.path).join('\0'), meta);
  const dirs = entries.filter((e) => e.isDir);
  if (entries.some((e) => e.incomplete) || dirs.some((e) => !e.times)) return text;
  const times = new BigUint64Array(dirs.flatMap((e) => e.times!));
  return `${text}\u0002${Buffer.from(times.buffer).toString('base64')}`;
}

/** A stored scan's answer as a check by its directories' times; null when
 *  it has none (it is compared with a scan made again). Read from the end:
 *  base64 has neither separator, a name in /etc may have both. */
export function scanCheck(answer: string): ScanCheck | null {
  const m = answer.lastIndexOf('\u0001');
  const t = answer.lastIndexOf('\u0002');
  if (m < 0 || t < m) return null;
  return { names: answer.slice(0, m), meta: Buffer.from(answer.slice(m + 1, t), 'base64'), times: Buffer.from(answer.slice(t + 1), 'base64') };
}

/** The tree scans of a stored trace, each with its check when it has one:
 *  for a caller that begins them early (src/cli/fast.ts). */
export function storedScans(p: PackedCalls): Array<{ root: string; maxDepth: number; check: ScanCheck | null }> {
  return p.others.filter((c) => c[3] === 'T' && c[1] && typeof c[1][0] === 'string' && typeof c[1][1] === 'number' && c[2] !== null).map((c) => ({ root: c[1]![0] as string, maxDepth: c[1]![1] as number, check: scanCheck(c[2]!) }));
}

/** A Host question the addon answers: its op (binding.cc's Answer) and
 *  number; null for one it does not. */
function opOf(name: string, args: unknown[] | null, answers: Answers): [string, number] | null {
  if (args === null || typeof args[0] !== 'string') return null;
  if (name === 'identify') return [args[0].startsWith(OWN) ? 'L' : 'l', 0];
  if (name === 'stat') return [args[1] ? 'L' : 'S', 0];
  if (name === 'realpath') return ['r', 0];
  if (name === 'readlink') return ['k', 0];
  if (name === 'readdir') return ['d', 0]; // a listing not checked by its stamp
  if (name === 'executable') return ['x', 0];
  if (name === 'readHead') return ['h', args[1] as number];
  if (name === 'readText') {
    const o = (args[1] ?? {}) as { follow?: boolean; max?: number };
    return [o.follow ? 'c' : 'C', o.max ?? answers.maxText];
  }
  return null;
}
/** A listing as the addon gives it (binding.cc's ListAnswer): each name
 *  after its type, joined by NULs, in the order Node gave them (libuv's). */
const listed = (entries: DirEntry[]) => entries.map((e) => `${e.isDir ? 'd' : e.isSymlink ? 'l' : 'f'}${e.name}`).join('\0');

/** An answer the Host gave, in the form the addon gives it. */
function asAnswered(op: string, value: unknown, answers: Answers): string {
  if (op === 'x') return value ? '1' : '0';
  if (op === 'd') return listed(value as DirEntry[]);
  if (value === null || value === undefined) return '-';
  if (op === 'r' || op === 'k') return `=${value as string}`;
  if (op === 'c' || op === 'C' || op === 'h') return `#${answers.digest(value as string, op === 'h')}`;
  const st = value as Stat;
  return op === 'l' ? `${st.mode} ${st.uid} ${st.dev} ${st.ino}` : `${st.mode} ${st.uid}`;
}

export function storedCalls(trace: Trace, answers: Answers, pid = process.pid): StoredCall[] | null {
  if (!trace.reusable) return null;
  const own = ownProc(pid);
  return trace.calls.map((c): StoredCall => {
    const args = c.args && c.args.map((a) => (typeof a === 'string' ? a.replace(own, OWN) : a));
    if (c.name === 'tempName') return [c.name, [], null];
    if (c.stamp !== undefined) return [c.name, args, c.stamp, 't', 0];
    if (c.name === 'scanTree') return [c.name, args, asScanned(c.value as ScanEntry[] | null), 'T', 0];
    const op = opOf(c.name, args, answers);
    // A refusal, as the addon gives it ("!errno").
    if (c.error !== undefined) return [c.name, args, `!${errnos()[c.error]}`, op![0], op![1]];
    if (op) return [c.name, args, asAnswered(op[0], c.value, answers).replace(own, OWN), op[0], op[1]];
    return [c.name, args, encodeAnswer(c.name, c.value).replace(own, OWN)];
  });
}

/** Fresh private TMPDIR names for a stored trace, one per name its
 *  preparation asked for, in order (decodeRun puts them in place of the
 *  stored run's). */
export function freshNames(calls: readonly StoredCall[], host: Pick<Host, 'tempName'>): string[] {
  return calls.filter((c) => c[0] === 'tempName').map(() => host.tempName());
}

/**
 * A stored trace as the store keeps it: the questions for the addon's
 * batch in columns, ready to be asked in one call (ops[i] about paths[i],
 * with nums[i]; its stored answer answers[i]; ownAt: those whose path names
 * the preparing process's /proc directory), and the others one by one
 * (`others`: the host's properties, tempName, tree scans). A run from a
 * stored plan then neither builds nor walks an array per question (about
 * 200 as root: 0.5 ms of cold JavaScript).
 */
export interface PackedCalls {
  others: StoredCall[];
  ops: string;
  paths: string[];
  nums: number[];
  answers: string[];
  ownAt: number[];
}

/** storedCalls() packed for the store. */
export function packCalls(calls: readonly StoredCall[]): PackedCalls {
  const p: PackedCalls = { others: [], ops: '', paths: [], nums: [], answers: [], ownAt: [] };
  for (const c of calls) {
    const [, asked, answer, op, num] = c;
    if (op === undefined || op === 'T') {
      p.others.push(c);
      continue;
    }
    const path = asked![0] as string;
    if (path.includes(OWN)) p.ownAt.push(p.ops.length);
    p.ops += op;
    p.paths.push(path);
    p.nums.push(num ?? 0);
    p.answers.push(answer!);
  }
  return p;
}

/** Whether `p` has the shape packCalls gives (a stored entry read back). */
export function isPacked(p: unknown): p is PackedCalls {
  const x = p as PackedCalls | null;
  return (
    typeof x === 'object' && x !== null && Array.isArray(x.others) && typeof x.ops === 'string' && Array.isArray(x.paths) && Array.isArray(x.nums) &&
    Array.isArray(x.answers) && Array.isArray(x.ownAt) && x.paths.length === x.ops.length && x.nums.length === x.ops.length && x.answers.length === x.ops.length
  );
}

/**
 * replay() for a stored trace: every question asked again, and its answer
 * compared with the stored one; those the addon answers in one batch, a
 * stamped listing by its stamp alone. The order does not matter: the
 * answers are facts of the moment, and asking changes none. `ours`: the
 * private TMPDIRs (freshNames) this run has made already; a listing of
 * their directory is compared without them, as its preparation saw it
 * (a stamped one has changed, and does not hold). Whether all agree.
 */
export function replayStored(p: PackedCalls, host: Host, answers: Answers, ours: readonly string[] = [], pid = process.pid): boolean {
  const h = host as unknown as Record<string, unknown>;
  const own = ownProc(pid);
  const here = `/proc/${pid}`;
  const local = (a: unknown) => (typeof a === 'string' && a.includes(OWN) ? a.split(OWN).join(here) : a);
  /** An answer with this process's /proc directory named as stored. */
  const stored = (a: string) => (a.includes(here) ? a.replace(own, OWN) : a);
  /** Tree scans, asked last: one begun early (root's /etc, on the addon's
   *  thread) has the longest to finish. */
  const scans: Array<[unknown[], string]> = [];
  try {
    for (const [name, asked, answer, op] of p.others) {
      if (name === 'tempName') continue;
      const args = asked && asked.map(local);
      if (op === 'T') {
        scans.push([args!, answer!]);
        continue;
      }
      const value = name === 'unixSockets' ? (host.unixSockets?.() ?? null) : args === null ? h[name] : (h[name] as (...a: unknown[]) => unknown).apply(host, args);
      if (stored(encodeAnswer(name, value)) !== answer) return false;
    }
    if (!batchHolds(p, host, answers, ours, pid)) return false;
    for (const [args, answer] of scans) {
      const check = scanCheck(answer);
      if (check) {
        if (!answers.verify(args[0] as string, args[1] as number, check)) return false;
        continue;
      }
      const raw = answers.scan(args[0] as string, args[1] as number);
      if ((raw === null ? '-' : scanned(raw.names, raw.meta)) !== answer) return false;
    }
  } catch {
    return false;
  }
  return true;
}

/** Whether the addon's batch answers a packed trace's columns as stored
 *  (replayStored's part that asks the addon; see there for `ours`). */
function batchHolds(p: PackedCalls, host: Host, answers: Answers, ours: readonly string[], pid: number): boolean {
  const own = ownProc(pid);
  const here = `/proc/${pid}`;
  const stored = (a: string) => (a.includes(here) ? a.replace(own, OWN) : a);
  const paths = batchPaths(p, pid);
  const got = p.ops ? answers.ask(p.ops, paths, p.nums) : [];
  /** The batch's listings of the TMPDIR directory, compared without ours. */
  const tmp = ours.length ? host.tmpdir : null;
  for (let i = 0; i < p.answers.length; i++) {
    let a = got[i];
    if (a === undefined) return false;
    const op = p.ops.charCodeAt(i);
    if (op === 116 /* t */) {
      const sp = a.lastIndexOf(' ');
      if (sp < 0 || !answers.stamped(parseInt(a.slice(sp + 1), 16))) return false;
      a = a.slice(0, sp);
    } else if (op === 100 /* d */ && tmp !== null && paths[i] === tmp) {
      a = a.split('\0').filter((e) => !ours.includes(e.slice(1))).join('\0');
    }
    if (stored(a) !== p.answers[i]) return false;
  }
  return true;
}

/** The paths of a packed trace's batch as process `pid` asks them (the
 *  preparing process's /proc directory made its own): what replayStored
 *  asks, for a caller that begins asking earlier (host.ts's askEarly). */
export function batchPaths(p: PackedCalls, pid = process.pid): string[] {
  if (!p.ownAt.length) return p.paths;
  const here = `/proc/${pid}`;
  const paths = p.paths.slice();
  for (const i of p.ownAt) paths[i] = paths[i]!.split(OWN).join(here);
  return paths;
}

/**
 * The preparing process's own /proc directory (`/etc/mtab` is a link to
 * `/proc/self/mounts`, which resolves to `/proc/<pid>/mounts`): a stored
 * trace names it without the pid, and a replay asks about its own. A file
 * there has an inode of that process's, so its identity is not compared.
 */
const OWN = '/proc/\u0001';
const ownProc = (pid: number) => new RegExp(`/proc/${pid}(?![0-9])`, 'g');

/** Any other answer as text: JSON (bigints as {"n":"…"}), the socket
 *  table as its sorted paths (see Trace). */
function encodeAnswer(name: string, value: unknown): string {
  if (name === 'unixSockets') return JSON.stringify(sockets(value) ?? null);
  return JSON.stringify(value === undefined ? null : value, (_k, v: unknown) => (typeof v === 'bigint' ? { n: `${v}` } : v));
}
