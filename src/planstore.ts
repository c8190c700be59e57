/**
 * The jail command's stored plans. A run prepares its plan (the options,
 * the profiles, the system base, the search of the project, the compilers)
 * in a process that then exits, so the command cannot keep plans in memory
 * as the library does (src/inproc.ts); it keeps them on disk instead, and
 * a later `jail FLAGS -- COMMAND …` with the same flags, command name,
 * working directory, environment, user, node and jail build reuses one when
 * the host answers every question its preparation asked as it did then
 * (trace.ts): preparing again would give this plan. src/cli/fast.ts runs a
 * stored plan without loading the rest of the CLI.
 *
 * Where: beside jail's code, in `dist/plans/<euid>/` (0700), and only
 * when that is this user's. No jail can write there: a read-write grant
 * that holds jail's code or lies inside it is refused (refuseWritableSelf
 * in policy/assemble.ts), so a stored plan is as trusted as the code next
 * to it, and whoever can change one could change jail itself. Where jail's
 * package is another user's (a system-wide install), nothing is stored.
 *
 * What: no secret. A jail may read jail's package (`--ro /`), so an entry
 * holds the environment only as a digest (the key) and by name (a value
 * the command gets as it is is taken from the environment of the run that
 * reuses it, which is the same), and a file's text (a config with a token
 * in it) only as a digest. The digests are not cryptographic:
 * they find an entry and notice a change; an entry is made only by this
 * user's own jail, outside any jail (the digest is the addon's: node:crypto
 * costs 3 ms to load, and this runs on every start).
 */
import fs = require('node:fs');
import path = require('node:path');
import { hostAnswers, randomHex } from './host.js';
import { isPacked, type PackedCalls } from './trace.js';

export const STORE_VERSION = 2;
/** jail's dist/: where this module is, in a bundle or compiled by tsc (from
 *  src/, under a test runner: the dist/ beside it). */
export const DIST = path.basename(__dirname) === 'dist' ? __dirname : path.join(__dirname, '..', 'dist');
/** Entries kept per user: past MAX_ENTRIES + EVICT_SLACK, the oldest go
 *  down to MAX_ENTRIES (not one per write: each trim lists and stats all). */
const MAX_ENTRIES = 64;
const EVICT_SLACK = 16;
const MAX_ENTRY_BYTES = 4 << 20;

export interface StoreKey {
  /** What the entry must hold as its key: everything but the environment. */
  key: string;
  /** The environment's digest. */
  env: string;
}

/**
 * The key of `jail FLAGS -- COMMAND ARGS…`: the words up to the command's
 * name (the arguments after it are not read when preparing), the working
 * directory, the user and groups, node, and this build of jail (`bundle`:
 * bundleId()), and the environment's digest. Null without `--`: where the
 * command starts is then commander's to say, and the CLI stores nothing
 * for such a run.
 */
export function storeKey(argv: readonly string[], env: NodeJS.ProcessEnv, bundle: string, digest: (text: string) => string): StoreKey | null {
  const n = argv.indexOf('--');
  if (n < 0 || n + 1 >= argv.length) return null;
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    return null; // the working directory is gone
  }
  const key = JSON.stringify([STORE_VERSION, bundle, argv.slice(0, n + 2), cwd, process.execPath, process.version, process.arch, process.getuid!(), process.geteuid!(), process.getgid!(), process.getegid!(), process.getgroups!()]);
  return { key, env: digest(JSON.stringify(env)) };
}

/**
 * The file name of `k`'s entry in `dir`: a digest of the key, the
 * environment's digest and the store's own random salt (`.salt`, made with
 * `create`). A jail in the fallback may list the store's names (Landlock
 * hides only what is in its files): without the salt, which it cannot read,
 * a name does not let it test guesses of a variable's value. Null when
 * there is no salt (nothing stored yet) or it is not this user's file.
 */
export function entryName(dir: string, k: StoreKey, digest: (text: string) => string, create: boolean): string | null {
  const file = path.join(dir, '.salt');
  let salt = readOwn(file, 4096);
  if (salt === null && create) {
    try {
      fs.writeFileSync(file, randomHex(16), { mode: 0o600, flag: 'wx' });
    } catch {
      // made meanwhile by another run, or not ours: read what is there
    }
    salt = readOwn(file, 4096);
  }
  return salt === null || salt.length < 32 ? null : digest(`${salt}\n${k.key}\n${k.env}`);
}

/*
 * The store's own files are looked at through the addon's batch (binding.cc's
 * Answer, ops 'L', 'i' and 'o'), as the host's answers are: a run from a
 * stored plan then calls none of node:fs's functions before its command
 * starts, and each costs about 0.3 ms the first time in a process (it is
 * compiled then).
 */

/** The text of a file of this user's of at most `max` bytes, not followed
 *  through a link; null if not (or not there). */
function readOwn(file: string, max: number): string | null {
  const a = hostAnswers.ask('o', [file], [max])[0]!;
  return a.startsWith('=') ? a.slice(1) : null;
}

/** This build of jail: the CLI bundle's identity and times (device, inode,
 *  size, mtime in ns). Another build (an update, a rebuild) never meets the
 *  plans of this one. */
export function bundleId(dist: string): string {
  const file = path.join(dist, 'cli.js');
  const a = hostAnswers.ask('i', [file], [0])[0]!;
  if (a === '-') throw new Error(`${file}: not there`);
  return a;
}

/**
 * `dist/plans/<euid>`, when it is this user's own directory that nobody
 * else can write (and `plans` too); with `create`, made when missing
 * (0700). Null otherwise: then nothing is read or stored.
 */
export function storeDir(dist: string, create: boolean): string | null {
  const euid = process.geteuid!();
  const top = path.join(dist, 'plans');
  const dir = path.join(top, String(euid));
  // lstat's "mode uid" of each, or "-" where it is missing
  let got = hostAnswers.ask('LL', [top, dir], [0, 0]);
  if (create && got.includes('-')) {
    for (const [i, d] of [top, dir].entries()) {
      if (got[i] !== '-') continue;
      try {
        fs.mkdirSync(d, { mode: 0o700 });
      } catch {
        return null; // not ours to write (a system-wide install)
      }
    }
    got = hostAnswers.ask('LL', [top, dir], [0, 0]);
  }
  for (const a of got) {
    const [mode, uid] = a.split(' ').map(Number) as [number, number];
    if ((mode & 0o170000) !== 0o040000 || uid !== euid || (mode & 0o022) !== 0) return null;
  }
  return dir;
}

/** A stored plan. `run` is encodeRun()'s text, holding `names` (the
 *  private TMPDIR's), which a reuse replaces with its own. */
export interface Entry {
  v: number;
  key: string;
  env: string;
  /** The kernel facts, as JSON: the probe at reuse must say the same. */
  facts: string;
  /** The questions its preparation asked, and their answers (trace.ts). */
  calls: PackedCalls;
  names: string[];
  run: string;
}

/** The entry `file` in `dir`, when it is a file of this user's; else null. */
export function readEntry(dir: string, file: string): Entry | null {
  const text = readOwn(path.join(dir, file), MAX_ENTRY_BYTES);
  try {
    const e = text === null ? null : (JSON.parse(text) as Entry);
    return e && e.v === STORE_VERSION && isPacked(e.calls) && Array.isArray(e.names) && typeof e.run === 'string' ? e : null;
  } catch {
    return null;
  }
}

/** Write `entry` as `file` (whole or not at all: a new name, renamed),
 *  then drop the oldest entries when there are too many. Best effort: the
 *  entry's path, or null when it was not written. */
export function writeEntry(dir: string, file: string, entry: Entry): string | null {
  const tmp = path.join(dir, `.${file}.${process.pid}.tmp`);
  const to = path.join(dir, file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, to);
  } catch {
    fs.rmSync(tmp, { force: true });
    return null;
  }
  // Not `.salt`, nor another run's file being written (`.…tmp`).
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
  if (names.length <= MAX_ENTRIES + EVICT_SLACK) return to;
  const aged = names.map((n) => ({ n, t: fs.lstatSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((x, y) => x.t - y.t);
  for (const { n } of aged.slice(0, names.length - MAX_ENTRIES)) fs.rmSync(path.join(dir, n), { force: true });
  return to;
}

/**
 * A stored run's data as JSON text: bigints as "\0b<digits>", byte arrays
 * as "\0u<base64>", and in `envp`, a variable the command gets unchanged
 * from `env` as "\0e<NAME>" (its value is not written down). No path or
 * variable holds a NUL, so nothing else starts with one. Under `native`
 * (the addon's plan: a few hundred numbers, which the addon takes as
 * numbers or bigints alike) a bigint is a plain number where it fits in
 * one, so that decoding need not walk it.
 */
export function encodeRun(run: unknown, env: NodeJS.ProcessEnv): string {
  let tagged = false;
  const plain = (x: unknown): unknown => {
    if (typeof x === 'bigint') {
      if (x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
      tagged = true;
      return x;
    }
    if (x === null || typeof x !== 'object' || x instanceof Uint8Array) return x;
    if (Array.isArray(x)) return x.map(plain);
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  };
  const text = JSON.stringify(run, function (this: unknown, key, v: unknown) {
    if (key === 'native' && v !== null && typeof v === 'object' && this === run) return plain(v);
    if (typeof v === 'bigint') return `\0b${v}`;
    if (v instanceof Uint8Array) return `\0u${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
    if (key === 'envp' && Array.isArray(v)) {
      return (v as string[]).map((kv) => {
        const i = kv.indexOf('=');
        return env[kv.slice(0, i)] === kv.slice(i + 1) ? `\0e${kv.slice(0, i)}` : kv;
      });
    }
    return v;
  });
  // Where `native` holds a bigint too large for a number, decoding walks it.
  return tagged ? `T${text}` : `P${text}`;
}

/** encodeRun's text back, with each of `from` (a private TMPDIR's name of
 *  the run that stored it) replaced by the one at its place in `to`. The
 *  names are `jail-<pid>-<48 random bits>`: nothing else holds one. */
export function decodeRun<T>(text: string, from: readonly string[], to: readonly string[], env: NodeJS.ProcessEnv): T {
  for (let i = 0; i < from.length; i++) text = text.split(from[i]!).join(to[i]!);
  const one = (v: string): unknown => {
    const rest = v.slice(2);
    if (v[1] === 'b') return BigInt(rest);
    if (v[1] === 'u') return new Uint8Array(Buffer.from(rest, 'base64'));
    if (v[1] === 'e') {
      const value = env[rest];
      if (value === undefined) throw new Error(`${rest} is not in the environment`); // not the stored one's
      return `${rest}=${value}`;
    }
    return v;
  };
  // A walk of the parsed value (a reviver, a call from JSON.parse into
  // JavaScript for every value, costs more), but for `native`'s hundreds
  // of plain numbers, whose few tagged strings are in known places.
  const walk = (x: unknown, skipNative: boolean): unknown => {
    if (typeof x === 'string') return x.charCodeAt(0) === 0 ? one(x) : x;
    if (x === null || typeof x !== 'object') return x;
    const o = x as Record<string, unknown>;
    for (const k in o) if (!(skipNative && k === 'native')) o[k] = walk(o[k], false);
    return o;
  };
  const run = walk(JSON.parse(text.slice(1)), true) as Record<string, unknown>;
  const native = run.native as Record<string, unknown> | undefined;
  if (native && typeof native === 'object') {
    if (text[0] === 'T') walk(native, false);
    else {
      for (const k of ['seccomp', 'envp']) if (native[k] !== undefined) native[k] = walk(native[k], false);
      const obs = native.observer as Record<string, unknown> | undefined;
      if (obs) walk(obs, false);
    }
  }
  return run as T;
}
