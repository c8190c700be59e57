/**
 * The CLI's V8 code cache (dist/load.cjs, dist/cli.js.cache, made by
 * dist/make-codecache.js): used when it was made from exactly this
 * dist/cli.js by this node; otherwise the bundle loads by a plain require(),
 * and jail behaves the same either way. Each test works on its own copy of
 * the package, so the repository's dist/ stays put.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-codecache-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let pkg: string;
let n = 0;
beforeEach(() => {
  pkg = path.join(work, `pkg${n++}`);
  for (const p of ['bin', 'dist', 'package.json']) fs.cpSync(path.join(REPO, p), path.join(pkg, p), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'));
  const addon = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(REPO);
  fs.cpSync(addon, path.join(pkg, 'build', 'Release', 'jail.node'));
  // The copy's own cache: the bundle is the same, its path is not.
  const made = spawnSync(process.execPath, [path.join(pkg, 'dist', 'make-codecache.js')], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
});

const CACHE = () => path.join(pkg, 'dist', 'cli.js.cache');
const BUNDLE = () => path.join(pkg, 'dist', 'cli.js');

function jail(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [path.join(pkg, 'bin', 'jail.cjs'), ...args], {
    cwd: pkg,
    env: { ...process.env, JAIL_DEBUG_CACHE: '1', ...env },
    encoding: 'utf8',
  });
  const line = /^jail: code cache (.*)\n/m.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^jail: code cache .*\n/m, ''), cache: line?.[1] };
}

/** What the same run gives with the bundle loaded by a plain require(). */
function plain(args: string[], env: NodeJS.ProcessEnv = {}) {
  const saved = fs.readFileSync(CACHE());
  fs.rmSync(CACHE());
  try {
    const r = jail(args, env);
    expect(r.cache).toBe('not used: cli.js.cache missing');
    return r;
  } finally {
    fs.writeFileSync(CACHE(), saved);
  }
}

/** A stack frame in the bundle, as the loaded CLI reports it. */
function frameInBundle(viaLoader: boolean): string {
  const load = viaLoader ? `require(${JSON.stringify(path.join(pkg, 'dist', 'load.cjs'))})()` : `require(${JSON.stringify(BUNDLE())})`;
  const r = spawnSync(process.execPath, ['-e', `try { ${load}.scriptShell(null, null, null) } catch (e) { console.log(e.stack) }`], {
    env: { ...process.env, JAIL_DEBUG_CACHE: '1' },
    encoding: 'utf8',
  });
  expect(r.stderr).toContain(viaLoader ? 'code cache accepted' : '');
  const frame = r.stdout.split('\n').find((l) => l.includes(BUNDLE()));
  expect(frame).toBeDefined();
  return frame!;
}

describe('the CLI code cache', () => {
  it('is made by the build, for this node and this bundle, and is used', () => {
    const cache = fs.readFileSync(CACHE());
    const header = JSON.parse(cache.subarray(0, cache.indexOf(10)).toString()) as Record<string, unknown>;
    expect(header).toMatchObject({ v: 1, node: process.version, arch: process.arch, v8: process.versions.v8, sourceBytes: fs.statSync(BUNDLE()).size });
    const r = jail(['--help']);
    expect(r.cache).toBe('accepted');
    expect(r.status).toBe(0);
    expect(r).toEqual({ ...plain(['--help']), cache: 'accepted' });
  });

  it('changes nothing a run shows: exit status, messages, stack frames in dist/cli.js', () => {
    for (const args of [['--bogus'], ['--print-policy', '--ro', '/', '--', '/bin/true']]) {
      const withCache = jail(args, { JAIL_LANDLOCK_ABI: 'x' });
      expect(withCache.cache).toBe('accepted');
      const without = plain(args, { JAIL_LANDLOCK_ABI: 'x' });
      expect([withCache.status, withCache.stderr, withCache.stdout]).toEqual([without.status, without.stderr, without.stdout]);
      expect(withCache.status).toBe(125);
    }
    expect(frameInBundle(true)).toBe(frameInBundle(false));
  });

  it('is refused when made from another bundle of the same length, which V8 alone would accept', () => {
    const old = fs.readFileSync(BUNDLE(), 'utf8');
    const edited = old.replace('not an ABI number.', 'NOT AN ABI NUMBER.');
    expect(edited).not.toBe(old);
    expect(Buffer.byteLength(edited)).toBe(Buffer.byteLength(old));
    fs.writeFileSync(BUNDLE(), edited);

    const cache = fs.readFileSync(CACHE());
    const data = cache.subarray(cache.indexOf(10) + 1 + Buffer.byteLength(old));
    const load = require(path.join(pkg, 'dist', 'load.cjs')) as { HEAD: string; TAIL: string };
    const v8Alone = new vm.Script(load.HEAD + edited + load.TAIL, { filename: BUNDLE(), lineOffset: -1, cachedData: data });
    expect(v8Alone.cachedDataRejected).toBe(false); // why the loader compares the bytes itself

    const r = jail(['--print-policy', '--ro', '/', '--', '/bin/true'], { JAIL_LANDLOCK_ABI: 'x' });
    expect(r.cache).toBe('not used: made from a different dist/cli.js');
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('NOT AN ABI NUMBER.');
  });

  it.each<[string, (cache: Buffer) => Buffer | null, string]>([
    ['missing', () => null, 'not used: cli.js.cache missing'],
    ['empty', () => Buffer.alloc(0), 'not used: no header'],
    ['cut short', (c) => c.subarray(0, c.length - 1000), 'not used: wrong size'],
    ['with a garbled header', (c) => Buffer.concat([Buffer.from('{"v":1,'), c.subarray(c.indexOf(10))]), 'not used: unreadable header'],
    ['made by another node', (c) => Buffer.from(c.toString('latin1').replace(`"node":"${process.version}"`, `"node":"v0.${process.version.slice(3)}"`), 'latin1'), `not used: made for node v0.${process.version.slice(3)}, not ${process.version}`],
    ['with cached data V8 refuses', (c) => {
      const d = Buffer.from(c);
      d.writeUInt32LE(0, c.indexOf(10) + 1 + fs.statSync(BUNDLE()).size); // V8's magic number
      return d;
    }, 'not used: rejected by V8'],
  ])('falls back to a plain require() when the cache is %s', (_, change, want) => {
    const c = change(fs.readFileSync(CACHE()));
    if (c === null) fs.rmSync(CACHE());
    else fs.writeFileSync(CACHE(), c);
    const r = jail(['--bogus']);
    expect(r.cache).toBe(want);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe("jail: unknown option '--bogus'\n");
  });
});
