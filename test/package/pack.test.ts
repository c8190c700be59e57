/**
 * The package as users get it: `npm pack` holds dist/, prebuilds/, the native
 * sources and binding.gyp and nothing of the tests; installed with
 * --ignore-scripts and no compiler on PATH, `npx jail` works.
 * Everything happens in a copy, so the build/ the other tests use stays put.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strictJail } from '../integration/harness.js';

const REPO = path.resolve(__dirname, '..', '..');
let work: string;
let tarball: string;
let files: string[];

const sh = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-pack-'));
  fs.chmodSync(work, 0o755);
  const src = path.join(work, 'src');
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  for (const f of [...pkg.files, 'package.json', 'README.md', 'LICENSE']) {
    if (f === 'prebuilds/' || f.startsWith('!')) continue; // a negation leaves files out; dist/ is copied whole
    fs.cpSync(path.join(REPO, f), path.join(src, f), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(src, 'node_modules'));
  // A stored plan, as the runs of this machine leave them.
  fs.mkdirSync(path.join(src, 'dist', 'plans', '0'), { recursive: true });
  fs.writeFileSync(path.join(src, 'dist', 'plans', '0', '0123456789abcdef0123456789abcdef'), '{}');
  sh('npm', ['run', '--silent', 'prebuilds'], src);
  const out = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], src)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, out[0]!.filename);
  files = out[0]!.files.map((f) => f.path);
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('holds dist/, the prebuilt addon, the native sources and binding.gyp', () => {
    for (const f of ['dist/cli.js', 'dist/fast.js', 'dist/load.cjs', 'dist/make-codecache.js', 'dist/index.js', 'dist/index.d.ts', 'bin/jail.cjs', `prebuilds/linux-${process.arch}/jail.node`, 'native/jail.c', 'native/binding.cc', 'native/kernel.h', 'binding.gyp', 'scripts/install.js', 'package.json', 'README.md', 'LICENSE']) {
      expect(files).toContain(f);
    }
  });
  it('holds no code cache: it fits only the node that made it (scripts/install.js makes one)', () => {
    expect(files).not.toContain('dist/cli.js.cache');
    expect(files).not.toContain('dist/fast.js.cache');
  });
  it('holds no stored plans (dist/plans: this machine\'s runs)', () => {
    expect(files.filter((f) => f.startsWith('dist/plans/'))).toEqual([]);
  });
  it('holds no tests, fixtures, bench data or build output', () => {
    expect(files.filter((f) => /^(test|bench|tools|build|src|node_modules)\//.test(f) || f.includes('fixtures'))).toEqual([]);
  });
});

strictJail.describe('installed from the tarball', () => {
  it('installs with --ignore-scripts and no compiler on PATH, and `npx jail` works', () => {
    const proj = path.join(work, 'user-project');
    const bin = path.join(work, 'bin');
    fs.mkdirSync(proj);
    fs.mkdirSync(bin);
    // A PATH with node, npm, npx, sh and cat, and no cc, gcc, make or python3.
    for (const tool of ['node', 'npm', 'npx']) fs.symlinkSync(sh('sh', ['-c', `command -v ${tool}`], work).trim(), path.join(bin, tool));
    for (const tool of ['cat', 'sh']) fs.symlinkSync(`/bin/${tool}`, path.join(bin, tool));
    const env = { ...process.env, PATH: bin, npm_config_yes: 'true' };
    expect(spawnSync('/bin/sh', ['-c', 'command -v cc gcc make python3'], { env: { PATH: bin }, encoding: 'utf8' }).stdout).toBe('');
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
    sh('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], proj, env);
    const r = spawnSync('npx', ['jail', '--ro', '.', '--', 'cat', 'package.json'], { cwd: proj, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect([r.status, JSON.parse(r.stdout).name]).toEqual([0, 'user-project']);
    // And the jail is real there: the parent directory stays out of reach.
    const denied = spawnSync('npx', ['jail', '--ro', '.', '--', 'cat', tarball], { cwd: proj, env, encoding: 'utf8' });
    expect(denied.status).toBe(1);
  });
});
