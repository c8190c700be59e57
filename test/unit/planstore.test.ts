/**
 * The CLI's stored plans without a kernel: the stored trace (trace.ts's
 * storedCalls, replayStored) on a fake host, the run's encoding, the key,
 * and the store's files (src/planstore.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRun, encodeRun, entryName, readEntry, STORE_VERSION, storeDir, storeKey, writeEntry, type Entry } from '../../src/planstore.js';
import { assemble, type JailRequest } from '../../src/policy/assemble.js';
import type { Host, Stat } from '../../src/policy/host.js';
import { walkTree } from '../../src/policy/scan.js';
import { freshNames, isPacked, keptTrace, packCalls, replay, replayKept, replayStored, scanCheck, storedCalls, storedScans, tracing, type Answers } from '../../src/trace.js';
import { fakeHost, SMALL_MACHINE, type Node } from './fakehost.js';

const tree: Record<string, Node> = {
  ...SMALL_MACHINE,
  '/work/proj/src/deeper/b.js': 'x',
  '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=SECRET-TOKEN\n',
  '/opt/jail/dist/cli.js': 'x',
  '/etc/passwd': 'x',
};
const req: JailRequest = { options: { ro: ['.'], rw: ['./src'] }, argv: ['true'], env: { PATH: '/usr/bin', HOME: '/home/u' }, nodeExecPath: '/usr/bin/node' };
let n = 0;
const host = (extra: Record<string, Node> = {}, over: Partial<Host> = {}) => fakeHost({ ...tree, ...extra }, { path: '/usr/bin', tempName: () => `jail-1-${String(++n).padStart(12, '0')}`, ...over });

/** A digest for tests (not the addon's): distinct texts, distinct digests. */
const digest = (t: string) => `d${Buffer.from(t).toString('base64').length}:${[...t].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 7)}`;

/** An answer, or the addon's form of a refusal ("!errno"). */
function refused(ask: () => string): string {
  try {
    return ask();
  } catch (e) {
    return `!${(os.constants.errno as Record<string, number>)[(e as { code: string }).code]}`;
  }
}

/** How often the fake addon was asked to scan a tree, and to check one. */
const asked = { scan: 0, verify: 0 };

/** The addon's batch of questions, asked of a fake host. */
function answersOf(h: Host): Answers {
  const st = (s: Stat | null, id: boolean) => (s === null ? '-' : id ? `${s.mode} ${s.uid} ${s.dev} ${s.ino}` : `${s.mode} ${s.uid}`);
  const text = (t: string | null, latin1 = false) => (t === null ? '-' : `#${digest(latin1 ? `L${t}` : t)}`);
  return {
    ask: (ops, paths, nums) =>
      [...ops].map((op, i) => refused(() => {
        const p = paths[i]!;
        if (op === 'l' || op === 'L') return st(h.identify(p), op === 'l');
        if (op === 's' || op === 'S') return st(h.stat(p), op === 's');
        if (op === 'r') return h.realpath(p) === null ? '-' : `=${h.realpath(p)}`;
        if (op === 'k') return h.readlink(p) === null ? '-' : `=${h.readlink(p)}`;
        if (op === 'x') return h.executable(p) ? '1' : '0';
        if (op === 'c' || op === 'C') return text(h.readText(p, { follow: op === 'c', max: nums[i] }));
        if (op === 'h') return text(h.readHead(p, nums[i]!), true);
        if (op === 'd') return h.readdir(p).map((e) => `${e.isDir ? 'd' : e.isSymlink ? 'l' : 'f'}${e.name}`).join('\0');
        return `!${op}`;
      })),
    stamped: () => true,
    // The addon's form of a scan: the paths, and per entry flags << 32 | mode, dev, ino.
    scan: (root, depth) => {
      asked.scan++;
      const entries = h.scanTree(root, depth);
      if (entries === null) return null;
      const meta = new BigUint64Array(3 * entries.length);
      entries.forEach((e, i) => meta.set([(BigInt(e.incomplete ? 1 : 0) << 32n) | BigInt(e.mode), e.dev ?? 0n, e.ino ?? 0n], 3 * i));
      return { names: entries.map((e) => e.path).join('\0'), meta };
    },
    // The addon's check, on a fake host: the tree scanned again gives the
    // same names, words and directories' times (the fake's own, if any).
    verify: (root, depth, c) => {
      asked.verify++;
      const entries = h.scanTree(root, depth);
      if (entries === null) return false;
      const meta = new BigUint64Array(3 * entries.length);
      entries.forEach((e, i) => meta.set([(BigInt(e.incomplete ? 1 : 0) << 32n) | BigInt(e.mode), e.dev ?? 0n, e.ino ?? 0n], 3 * i));
      const times = new BigUint64Array(entries.filter((e) => e.isDir).flatMap((e) => e.times ?? [0n, 0n]));
      return entries.map((e) => e.path).join('\0') === c.names && Buffer.from(meta.buffer).equals(c.meta) && Buffer.from(times.buffer).equals(c.times);
    },
    digest: (t, latin1) => digest(latin1 ? `L${t}` : t),
    maxText: 4 << 20,
  };
}

/** assemble() traced on `first`, stored. */
function stored(first: Host, pid = 111) {
  const t = tracing(first);
  const a = assemble(req, t.host);
  return { a, calls: storedCalls(t.trace, answersOf(first), pid)!, names: t.trace.names };
}

describe('a kept trace (the library: the batch for what the addon answers, the rest as calls)', () => {
  it('holds against the same answers with a new TMPDIR name, and fails when a .env appears, a config changes, or a granted path goes', () => {
    const first = host();
    const t = tracing(first);
    assemble(req, t.host);
    const k = keptTrace(t.trace, answersOf(first), 111)!;
    expect(k.batch.ops.length).toBeGreaterThan(10);
    expect(k.batch.others).toEqual([]);
    expect(k.rest.every((c) => !['identify', 'stat', 'realpath', 'readlink', 'readText'].includes(c.name))).toBe(true);
    const same = host();
    const names = replayKept(k, same, answersOf(same), 111);
    expect(names).toHaveLength(1);
    expect(names![0]).not.toBe(t.trace.names[0]);
    const changes: Array<Record<string, Node>> = [{ '/work/proj/src/deeper/.env': 'SECRET=1' }, { '/work/proj/.env': 'SECRET=1' }, { '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=OTHER\n' }, { '/work/proj/.husky/pre-commit': 'x' }];
    for (const extra of changes) {
      const h = host(extra);
      expect(replayKept(k, h, answersOf(h), 111), JSON.stringify(extra)).toBeNull();
      // what the batch alone is asked: the answers it is given decide
      expect(replayKept(k, same, answersOf(h), 111), JSON.stringify(extra)).toBeNull();
    }
    const gone = { ...tree };
    delete gone['/work/proj/src/deeper/b.js'];
    delete gone['/work/proj/src/a.js'];
    const g = fakeHost(gone, { path: '/usr/bin' });
    expect(replayKept(k, g, answersOf(g), 111)).toBeNull();
  });

  it('compares the rest as replay() does: a property, the socket table', () => {
    const table = (rows: string[]) => `Num RefCount Protocol Flags Type St Inode Path\n${rows.join('\n')}\n`;
    const a = '0000000000000000: 00000002 00000000 00010000 0001 01 11 /run/a.sock';
    const first = host({}, { unixSockets: () => table([a]) });
    const t = tracing(first);
    void t.host.home;
    t.host.unixSockets!();
    const k = keptTrace(t.trace, answersOf(first), 111)!;
    expect(k.rest.map((c) => c.name)).toEqual(['home', 'unixSockets']);
    expect(replayKept(k, first, answersOf(first), 111)).toEqual([]);
    expect(replayKept(k, host({}, { unixSockets: () => table([]) }), answersOf(first), 111)).toBeNull();
    expect(replayKept(k, host({}, { home: '/home/v', unixSockets: () => table([a]) }), answersOf(first), 111)).toBeNull();
  });

  it('is none for a trace with an exception in it, and no answer from the addon is no reuse', () => {
    const h = host({}, { readText: () => { throw new Error('EIO'); } });
    const t = tracing(h);
    expect(() => t.host.readText('/home/u/.npmrc')).toThrow('EIO');
    expect(keptTrace(t.trace, answersOf(h), 111)).toBeNull();
    const u = tracing(host());
    assemble(req, u.host);
    const k = keptTrace(u.trace, answersOf(host()), 111)!;
    const none: Answers = { ...answersOf(host()), ask: () => { throw new Error('no addon'); } };
    expect(replayKept(k, host(), none, 111)).toBeNull();
  });
});

describe('a stored trace', () => {
  it('holds against the same answers (with a new TMPDIR name) and fails when a .env appears, a config changes, or a granted path goes', () => {
    const { calls } = stored(host());
    const same = host();
    expect(freshNames(calls, same)).toHaveLength(1);
    expect(replayStored(packCalls(calls), same, answersOf(same), [], 111)).toBe(true);
    const changes: Array<Record<string, Node>> = [{ '/work/proj/src/deeper/.env': 'SECRET=1' }, { '/work/proj/.env': 'SECRET=1' }, { '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=OTHER\n' }, { '/work/proj/.husky/pre-commit': 'x' }];
    for (const extra of changes) {
      const h = host(extra);
      expect(replayStored(packCalls(calls), h, answersOf(h), [], 111), JSON.stringify(extra)).toBe(false);
    }
    const gone = { ...tree };
    delete gone['/work/proj/src/deeper/b.js'];
    delete gone['/work/proj/src/a.js'];
    const g = fakeHost(gone, { path: '/usr/bin' });
    expect(replayStored(packCalls(calls), g, answersOf(g), [], 111)).toBe(false);
  });

  it('is stored packed (the batch in columns), and read back from JSON holds and fails as the calls do', () => {
    const { calls } = stored(host());
    const packed = JSON.parse(JSON.stringify(packCalls(calls))) as unknown;
    expect(isPacked(packed)).toBe(true);
    if (!isPacked(packed)) return;
    expect(packed.ops.length).toBe(calls.filter((c) => c[3] !== undefined && c[3] !== 'T').length);
    expect(packed.others.every((c) => c[3] === undefined || c[3] === 'T')).toBe(true);
    const same = host();
    expect(freshNames(packed.others, same)).toHaveLength(1);
    expect(replayStored(packed, same, answersOf(same), [], 111)).toBe(true);
    const h = host({ '/work/proj/.env': 'SECRET=1' });
    expect(replayStored(packed, h, answersOf(h), [], 111)).toBe(false);
    // A column out of step, or missing, is no entry (the plan is prepared afresh).
    expect(isPacked({ ...packed, paths: packed.paths.slice(1) })).toBe(false);
    expect(isPacked({ ...packed, ownAt: undefined })).toBe(false);
    expect(isPacked(calls)).toBe(false);
  });

  it('keeps a file\'s text only as its digest: the token in ~/.npmrc is not in it', () => {
    const { calls } = stored(host());
    expect(calls.some((c) => c[0] === 'readText' && c[1]![0] === '/home/u/.npmrc')).toBe(true);
    expect(JSON.stringify(calls)).not.toContain('SECRET-TOKEN');
  });

  it('names the preparing process\'s own /proc directory without its pid, and compares no inode there', () => {
    let ino = 1n;
    const h = (pid: number) =>
      host({}, {
        realpath: (p) => (p === '/etc/mtab' ? `/proc/${pid}/mounts` : p),
        identify: (p) => (p.startsWith('/proc/') ? { isDir: false, isFile: true, isSymlink: false, mode: 0o100444, uid: 0, dev: 21n, ino: ino++ } : null),
      });
    const first = h(111);
    const t = tracing(first);
    t.host.identify(t.host.realpath('/etc/mtab')!);
    t.host.identify('/proc/1115/mounts'); // another process's, which merely starts with the digits
    const calls = storedCalls(t.trace, answersOf(first), 111)!;
    expect(JSON.stringify(calls)).not.toContain('/proc/111/');
    expect(JSON.stringify(calls)).toContain('/proc/1115/');
    // A later process (pid 222): its own /proc, another inode; the other
    // process's file is compared whole (its inode changed: not the same).
    const later = h(222);
    expect(replayStored(packCalls(calls.slice(0, 2)), later, answersOf(later), [], 222)).toBe(true);
    expect(replayStored(packCalls(calls), later, answersOf(later), [], 222)).toBe(false);
    // Packed, the path that names it is marked, and asked with the new pid.
    const packed = packCalls(calls.slice(0, 2));
    expect(packed.ownAt).toEqual([1]);
    expect(replayStored(packed, later, answersOf(later), [], 222)).toBe(true);
  });
});

describe('root\'s /etc in a stored trace', () => {
  const etc = { '/etc/ssl/certs/ca.pem': 'x', '/etc/ssl/private/key.pem': { file: 'KEY', mode: 0o600 }, '/etc/hosts': 'x' };
  /** Root's machine whose scan gives each directory its times (2n, 3n
   *  where `moved`); `untimed`: one directory listed too soon after it
   *  changed, without. */
  const rootHost = (extra: Record<string, Node> = {}, o: { moved?: string[]; untimed?: string } = {}): Host => {
    const h = host({ ...etc, ...extra }, { uid: 0 });
    const times = (p: string): [bigint, bigint] => [1n, o.moved?.includes(p) ? 3n : 2n];
    return { ...h, scanTree: (root, d) => walkTree(h, root, d)?.map((e) => (e.isDir && e.path !== o.untimed ? { ...e, times: times(e.path) } : e)) ?? null };
  };
  const replayed = (calls: ReturnType<typeof stored>['calls'], h: Host) => {
    asked.scan = asked.verify = 0;
    return replayStored(packCalls(calls), h, answersOf(h), [], 111);
  };

  it('is checked by its directories\' times and its entries\' modes, not scanned again', () => {
    const { a, calls } = stored(rootHost());
    const granted = a.policy.grants.map((g) => g.path);
    expect([granted.includes('/etc/ssl/certs'), granted.includes('/etc/ssl/private')]).toEqual([true, false]); // the control: a scan was made, and judged
    const scans = storedScans(packCalls(calls));
    expect(scans.map((x) => [x.root, x.check !== null])).toEqual([['/etc', true]]);
    expect(replayed(calls, rootHost())).toBe(true);
    expect(asked).toEqual({ scan: 0, verify: 1 });
  });
  it('attack: a file made root-only, a file added, a directory\'s times moved: the stored plan does not hold', () => {
    const { calls } = stored(rootHost());
    // Each refused by the check itself (asked once; the rest all held).
    const checked = (h: Host) => [replayed(calls, h), asked.verify];
    expect(checked(rootHost({ '/etc/hosts': { file: 'x', mode: 0o600 } }))).toEqual([false, 1]);
    expect(checked(rootHost({ '/etc/ssl/certs/new.pem': { file: 'KEY', mode: 0o600 } }))).toEqual([false, 1]);
    expect(checked(rootHost({}, { moved: ['ssl/certs'] }))).toEqual([false, 1]);
  });
  it('is scanned again and compared where a directory came without its times', () => {
    const { calls } = stored(rootHost({}, { untimed: 'ssl' }));
    expect(storedScans(packCalls(calls))[0]!.check).toBeNull();
    expect(replayed(calls, rootHost({}, { untimed: 'ssl' }))).toBe(true);
    expect(asked).toEqual({ scan: 1, verify: 0 });
    expect(replayed(calls, rootHost({ '/etc/hosts': { file: 'x', mode: 0o600 } }, { untimed: 'ssl' }))).toBe(false);
  });
  it('reads a check from the end: names in /etc may hold either separator', () => {
    const meta = Buffer.from(new BigUint64Array([0o40755n, 1n, 2n]).buffer).toString('base64');
    expect(scanCheck(`a\u0002b\u0001c\u0001${meta}`)).toBeNull(); // no times
    const c = scanCheck(`a\u0002b\u0001c\u0001${meta}\u0002${Buffer.from([1, 2]).toString('base64')}`);
    expect(c && [c.names, [...c.meta].length, [...c.times]]).toEqual(['a\u0002b\u0001c', 24, [1, 2]]);
  });
});

describe('a stored trace run from the TMPDIR directory itself', () => {
  // A run's private TMPDIR is made before its questions are asked again
  // (the command is made ready meanwhile: src/cli/fast.ts), so a listing of
  // that directory holds the run's own TMPDIR, which its preparation never
  // saw.
  const inTmp = (extra: Record<string, Node> = {}) => host({ '/tmp/notes.txt': 'x', ...extra }, { cwd: '/tmp' });
  it('compares the listing without the run\'s own fresh TMPDIR, and still sees anything else that appeared', () => {
    const first = inTmp();
    const t = tracing(first);
    assemble({ ...req, options: { ro: ['.'] } }, t.host);
    const calls = storedCalls(t.trace, answersOf(first), 111)!;
    expect(calls.some((c) => c[0] === 'readdir' && c[1]![0] === '/tmp')).toBe(true);
    const names = freshNames(calls, first);
    const ours = inTmp({ [`/tmp/${names[0]}`]: { dir: true } });
    expect(replayStored(packCalls(calls), ours, answersOf(ours), names, 111)).toBe(true);
    // Without knowing it is ours, it is a change; so is anyone else's.
    expect(replayStored(packCalls(calls), ours, answersOf(ours), [], 111)).toBe(false);
    const other = inTmp({ [`/tmp/${names[0]}`]: { dir: true }, '/tmp/.env': 'SECRET=1' });
    expect(replayStored(packCalls(calls), other, answersOf(other), names, 111)).toBe(false);
  });
});

describe('a refusal to look', () => {
  const refusing = (code: string | null) =>
    host({}, {
      identify: (p) => {
        if (p === '/root/.cache' && code) throw Object.assign(new Error(`cannot look at ${p}`), { code });
        return null;
      },
    });
  /** A preparation that skips what it cannot see, as the PATH search does. */
  const look = (h: Host) => {
    try {
      return h.identify('/root/.cache');
    } catch {
      return 'skipped';
    }
  };
  it('is an answer, in memory and stored: the same refusal holds, an answer or another refusal does not', () => {
    const t = tracing(refusing('EACCES'));
    expect(look(t.host)).toBe('skipped');
    expect(t.trace.reusable).toBe(true);
    expect(replay(t.trace, refusing('EACCES'))).toEqual([]);
    expect(replay(t.trace, refusing(null))).toBeNull();
    expect(replay(t.trace, refusing('ELOOP'))).toBeNull();
    const calls = storedCalls(t.trace, answersOf(refusing('EACCES')))!;
    expect(calls).toEqual([['identify', ['/root/.cache'], `!${os.constants.errno.EACCES}`, 'l', 0]]);
    for (const [code, holds] of [['EACCES', true], [null, false], ['ELOOP', false]] as const) {
      const h = refusing(code);
      expect(replayStored(packCalls(calls), h, answersOf(h)), String(code)).toBe(holds);
    }
  });
  it('an exception without an errno code is not kept at all', () => {
    const t = tracing(host({}, { identify: () => { throw new Error('bug'); } }));
    expect(look(t.host)).toBe('skipped');
    expect(t.trace.reusable).toBe(false);
  });
});

describe('a stored run', () => {
  it('comes back as it was: bigints, bytes, the environment by name only, the TMPDIR renamed', () => {
    const env = { PATH: '/usr/bin', TOKEN_LIKE: 'value-from-env' };
    const run = { a: 5n, big: 2n ** 64n - 1n, bytes: new Uint8Array([1, 2, 255]), envp: ['PATH=/usr/bin', 'TOKEN_LIKE=value-from-env', 'TMPDIR=/tmp/jail-1-aaaaaaaaaaaa', 'NEW=x'], tmp: '/tmp/jail-1-aaaaaaaaaaaa/npmrc' };
    const text = encodeRun(run, env);
    expect(text).not.toContain('value-from-env');
    const back = decodeRun<typeof run>(text, ['jail-1-aaaaaaaaaaaa'], ['jail-2-bbbbbbbbbbbb'], env);
    expect(back).toEqual({ ...run, envp: ['PATH=/usr/bin', 'TOKEN_LIKE=value-from-env', 'TMPDIR=/tmp/jail-2-bbbbbbbbbbbb', 'NEW=x'], tmp: '/tmp/jail-2-bbbbbbbbbbbb/npmrc' });
    expect(() => decodeRun(text, [], [], { PATH: '/usr/bin' })).toThrow(/TOKEN_LIKE is not in the environment/);
  });

  it('gives the addon\'s plan (native) its bigints as numbers where they fit, and as bigints where not', () => {
    const env = { HOME: '/h' };
    const run = { native: { handledFs: 0x7fffn, paths: [{ path: '/x', access: 3n, dev: 2049n, ino: 2n ** 60n }], seccomp: new Uint8Array([6, 0, 0, 0]), envp: ['HOME=/h', 'TMPDIR=/t'] }, afterRun: [{ path: '/g', dev: 1n, ino: 2n }] };
    const small = decodeRun<typeof run>(encodeRun({ ...run, native: { ...run.native, paths: [{ ...run.native.paths[0]!, ino: 7n }] } }, env), [], [], env);
    expect(small.native.handledFs).toBe(0x7fff);
    expect(small.native.paths[0]).toEqual({ path: '/x', access: 3, dev: 2049, ino: 7 });
    expect(small.native.seccomp).toEqual(new Uint8Array([6, 0, 0, 0]));
    expect(small.native.envp).toEqual(['HOME=/h', 'TMPDIR=/t']);
    expect(small.afterRun).toEqual([{ path: '/g', dev: 1n, ino: 2n }]); // the rest keeps its bigints
    const big = decodeRun<typeof run>(encodeRun(run, env), [], [], env);
    expect(big.native.paths[0]!.ino).toBe(2n ** 60n);
    expect(big.native.handledFs).toBe(0x7fff);
  });
});

describe('the key', () => {
  const k = (argv: string[], env: NodeJS.ProcessEnv = { A: '1' }) => storeKey(argv, env, 'build-1', digest);
  it('is the words up to the command\'s name, the environment and the build; none without --', () => {
    expect(k(['--ro', '.', 'ls'])).toBeNull();
    expect(k(['--ro', '.', '--'])).toBeNull();
    expect(k(['--ro', '.', '--', 'ls', '-l'])).toEqual(k(['--ro', '.', '--', 'ls', '-a']));
    expect(k(['--ro', '.', '--', 'ls'])!.key).not.toBe(k(['--ro', '.', '--', 'cat'])!.key);
    expect(k(['--ro', '.', '--', 'ls'])!.key).not.toBe(k(['--rw', '.', '--', 'ls'])!.key);
    expect(k(['--', 'ls'], { A: '1' })!.env).not.toBe(k(['--', 'ls'], { A: '2' })!.env);
    expect(storeKey(['--', 'ls'], {}, 'build-1', digest)!.key).not.toBe(storeKey(['--', 'ls'], {}, 'build-2', digest)!.key);
    expect(k(['--', 'ls'])!.key).not.toContain('"A"');
  });
});

describe('an entry\'s name', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-planstore-name-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  it('is a digest of the key, the environment and the store\'s salt: one entry per environment, and none without a salt', () => {
    const a = storeKey(['--', 'ls'], { A: '1' }, 'b', digest)!;
    const b = storeKey(['--', 'ls'], { A: '2' }, 'b', digest)!;
    expect(entryName(root, a, digest, false)).toBeNull();
    const na = entryName(root, a, digest, true)!;
    expect(fs.statSync(path.join(root, '.salt')).mode & 0o777).toBe(0o600);
    expect(na).toBe(entryName(root, a, digest, false));
    expect(entryName(root, b, digest, false)).not.toBe(na);
    // another salt, another name: a guess at the environment is not testable by the name alone
    fs.writeFileSync(path.join(root, '.salt'), 'f'.repeat(32));
    expect(entryName(root, a, digest, false)).not.toBe(na);
  });
});

describe('the store\'s files', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-planstore-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const entry = (i: number): Entry => ({ v: STORE_VERSION, key: `k${i}`, env: 'e', facts: '{}', calls: packCalls([]), names: [], run: '{}' });

  it('is this user\'s directory that nobody else can write, made when asked', () => {
    const dist = path.join(root, 'dist1');
    fs.mkdirSync(dist);
    expect(storeDir(dist, false)).toBeNull();
    const dir = storeDir(dist, true)!;
    expect(dir).toBe(path.join(dist, 'plans', String(process.geteuid!())));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    fs.chmodSync(dir, 0o770);
    expect(storeDir(dist, false)).toBeNull();
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(path.join(dist, 'plans'), 0o722);
    expect(storeDir(dist, false)).toBeNull();
  });

  it('reads an entry only from a file (not a link), and keeps at most 80, trimmed to 64', () => {
    const dist = path.join(root, 'dist2');
    fs.mkdirSync(dist);
    const dir = storeDir(dist, true)!;
    writeEntry(dir, 'a', entry(1));
    expect(readEntry(dir, 'a')?.key).toBe('k1');
    fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    expect(readEntry(dir, 'b')).toBeNull();
    fs.writeFileSync(path.join(dir, 'c'), '{ not json');
    expect(readEntry(dir, 'c')).toBeNull();
    for (let i = 0; i < 77; i++) writeEntry(dir, `e${i}`, entry(i));
    expect(fs.readdirSync(dir).length).toBe(80);
    writeEntry(dir, 'e77', entry(77));
    expect(fs.readdirSync(dir).length).toBe(64);
    expect(readEntry(dir, 'e77')?.key).toBe('k77');
  });
});
