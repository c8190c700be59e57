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
const SETTLED_NS = 2_000_000_000n;

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
      const value = c.args === null ? h[c.name] : (h[c.name] as (...a: unknown[]) => unknown).apply(host, c.args);
      if (!same(value, c.value)) return null;
    }
  } catch {
    return null; // an answer that is an exception now: prepare again, and say why then
  }
  return names;
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
      this.trace.reusable = false;
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
