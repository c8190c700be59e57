/**
 * npm's cache: nothing a jailed program writes there may change what a
 * later unjailed npm or npx runs, while installs inside still use it (a
 * warm `npm ci --offline` as fast as outside) and, in the namespace layer,
 * fill it. Loopback only: a small registry (fixtures/npm-registry.mjs)
 * serves `goodpkg`; the attacker's `goodpkg` look-alike sits in the project,
 * where a jailed program can read it. Each attack is judged from outside by
 * what the user's later unjailed action runs: the planted bin prints
 * PLANTED and writes a marker file.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IS_ROOT, inFallback, jail, makeWorld, needs, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
let registry: ChildProcess;
let port = 0;
/** npm's own cacache, which the attacker uses to write entries npm reads back. */
const CACACHE = path.join(path.dirname(fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())), '..', 'node_modules', 'cacache');

const goodBin = '#!/usr/bin/env node\nconsole.log("good " + process.argv.slice(2).join(" "));\n';
/** What the attacker plants: it leaves a marker where the test can see it. */
const evilBin = (marker: string) =>
  `#!/usr/bin/env node\nrequire("fs").writeFileSync(${JSON.stringify(marker)}, "planted code ran");\nconsole.log("PLANTED");\n`;

function pack(dir: string, files: Record<string, string>, dest: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text, { mode: 0o755 });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dest], { cwd: dir, env: { ...w.env, HOME: w.root }, encoding: 'utf8' }).trim();
  return path.join(dest, name);
}

beforeAll(async () => {
  w = makeWorld('npmcache');
  const pkgs = path.join(w.root, 'registry');
  fs.mkdirSync(pkgs);
  pack(path.join(w.root, 'src', 'goodpkg'), { 'package.json': JSON.stringify({ name: 'goodpkg', version: '1.0.0', bin: { goodpkg: 'bin.js' } }), 'bin.js': goodBin }, pkgs);
  registry = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'npm-registry.mjs'), pkgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((resolve) => registry.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
}, 60_000);

afterAll(() => {
  registry?.kill();
  removeWorld(w);
});

const users = [
  { user: 'root', asNobody: false },
  { user: 'nobody', asNobody: true },
];

const sha512 = (b: Buffer) => crypto.createHash('sha512').update(b).digest('hex');

/** Every file under `dir` with the hash of its bytes. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) out.set(path.join(f.parentPath, f.name), sha512(fs.readFileSync(path.join(f.parentPath, f.name))));
  }
  return out;
}

for (const { user, asNobody } of users) {
  const gate = asNobody && !IS_ROOT ? needs(false, 'runs as root, to run jail as nobody') : strictJail;
  gate.describe(`npm's cache, as ${user}`, () => {
    let home: string;
    let cache: string;
    let seed: string;
    let marker: string;
    const env = () => ({ ...w.env, HOME: home, npm_config_registry: `http://127.0.0.1:${port}/`, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' });
    const own = (p: string) => asNobody && fs.chownSync(p, 65534, 65534);
    /** An unjailed command, as the user. */
    const run = (cwd: string, cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
      const [c, a] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args]] : [cmd, args];
      return spawnSync(c, a, { cwd, env: { ...env(), ...extra }, encoding: 'utf8', timeout: 60_000 });
    };
    const jailed = (cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}) => jail(w, args, { asNobody, cwd, env: { ...env(), ...extra }, timeout: 60_000 });
    /** A project directory of the user's, with goodpkg's lockfile when `from` is given. */
    const project = (name: string, from?: string) => {
      const dir = path.join(w.root, user, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...(from && { dependencies: { goodpkg: '^1.0.0' } }) }));
      if (from) fs.copyFileSync(path.join(from, 'package-lock.json'), path.join(dir, 'package-lock.json'));
      execFileSync('chmod', ['-R', 'a+rwX', dir]);
      if (asNobody) execFileSync('chown', ['-R', '65534:65534', dir]);
      return dir;
    };
    /** The evil look-alike of goodpkg@1.0.0, in a project the jailed program reads. */
    const evilTarball = (proj: string) => pack(path.join(w.root, user, 'evil-src'), { 'package.json': JSON.stringify({ name: 'goodpkg', version: '1.0.0', bin: { goodpkg: 'bin.js' } }), 'bin.js': evilBin(marker) }, proj);

    beforeAll(() => {
      home = path.join(w.root, user, 'home');
      cache = path.join(home, '.npm');
      marker = path.join(w.root, user, 'PLANTED-MARKER');
      fs.mkdirSync(home, { recursive: true });
      fs.chmodSync(path.join(w.root, user), 0o777);
      own(home);
      // The user's history: goodpkg installed (packument and tarball
      // cached) and run once through npx (an _npx tree).
      seed = project('seed');
      const i = run(seed, 'npm', ['install', 'goodpkg']);
      expect(i.status, printed(i)).toBe(0);
      // From a directory without goodpkg: npx would run a local bin instead.
      const x = run(project('npx-seed'), 'npx', ['-y', 'goodpkg', 'hello']);
      expect(x.stdout, printed(x)).toContain('good hello');
    }, 120_000);

    it('a patched _npx tree is not what a later npx runs', () => {
      const attack = `
        const fs = require('fs'), path = require('path');
        const npx = path.join(${JSON.stringify(cache)}, '_npx');
        for (const d of fs.readdirSync(npx)) {
          const bin = path.join(npx, d, 'node_modules', 'goodpkg', 'bin.js');
          try { fs.writeFileSync(bin, ${JSON.stringify(evilBin(marker))}); console.log('patched ' + bin); } catch (e) { console.log('refused ' + e.code); }
        }`;
      const r = jailed(project('npx-attack'), ['--', 'node', '-e', attack]);
      expect(r.status, printed(r)).toBe(0);
      // The attack itself worked inside (namespace layer), or was refused (fallback).
      expect(r.stdout).toMatch(inFallback ? /refused E(ACCES|ROFS|PERM)/ : /patched /);
      // Where goodpkg is not installed: there npx runs its _npx tree.
      const later = run(project('npx-later'), 'npx', ['--offline', 'goodpkg', 'again']);
      expect(printed(later)).toContain('good again');
      expect(printed(later)).not.toContain('PLANTED');
      expect(fs.existsSync(marker)).toBe(false);
    });

    it('a rewritten packument (index entry → another tarball with its correct integrity) is not what a later install uses', () => {
      const proj = project('packument-attack');
      const evil = evilTarball(proj);
      const attack = `
        const cacache = require(${JSON.stringify(CACACHE)}), fs = require('fs');
        const cache = ${JSON.stringify(path.join(cache, '_cacache'))};
        (async () => {
          const bytes = fs.readFileSync(${JSON.stringify(evil)});
          const integrity = await cacache.put(cache, 'evil-tarball', bytes);
          for (const [key, e] of Object.entries(await cacache.ls(cache))) {
            if (!key.endsWith('/goodpkg')) continue;
            const doc = JSON.parse((await cacache.get(cache, key)).data);
            doc.versions['1.0.0'].dist = { tarball: doc.versions['1.0.0'].dist.tarball, integrity };
            await cacache.put(cache, key, JSON.stringify(doc), { metadata: e.metadata });
            console.log('rewrote ' + key);
          }
        })().catch((e) => console.log('refused ' + e.code));`;
      const r = jailed(proj, ['--', 'node', '-e', attack]);
      expect(r.status, printed(r)).toBe(0);
      expect(r.stdout).toMatch(inFallback ? /refused E(ACCES|ROFS|PERM)/ : /rewrote make-fetch-happen:request-cache:.*\/goodpkg/);
      const fresh = project('after-packument-attack');
      const later = run(fresh, 'npm', ['install', '--offline', 'goodpkg']);
      expect(later.status, printed(later)).toBe(0);
      expect(fs.readFileSync(path.join(fresh, 'node_modules', 'goodpkg', 'bin.js'), 'utf8')).toBe(goodBin);
      const ran = run(fresh, path.join(fresh, 'node_modules', '.bin', 'goodpkg'), ['ok']);
      expect(ran.stdout).toBe('good ok\n');
      expect(fs.existsSync(marker)).toBe(false);
    });

    it('content rewritten in place, a bogus file at a hash path, logs and the notifier file: none reaches the real cache', () => {
      const proj = project('content-attack');
      const evil = evilTarball(proj);
      const before = snapshot(path.join(cache, '_cacache', 'content-v2'));
      const bogus = path.join(cache, '_cacache', 'content-v2', 'sha512', '00', '00', '0'.repeat(124));
      const attack = `
        const fs = require('fs'), path = require('path');
        const evil = fs.readFileSync(${JSON.stringify(evil)});
        const files = ${JSON.stringify([...before.keys()])};
        for (const f of files) { try { fs.chmodSync(f, 0o644); fs.writeFileSync(f, evil); } catch (e) { console.log('refused ' + e.code); } }
        const extra = { ${JSON.stringify(bogus)}: evil, ${JSON.stringify(path.join(cache, '_logs', 'planted.log'))}: 'x', ${JSON.stringify(path.join(cache, '_update-notifier-last-checked'))}: '' };
        for (const [f, b] of Object.entries(extra)) { try { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, b); } catch (e) { console.log('refused ' + e.code); } }`;
      const r = jailed(proj, ['--', 'node', '-e', attack]);
      expect(r.status, printed(r)).toBe(0);
      if (inFallback) expect(r.stdout).toMatch(/refused E(ACCES|ROFS|PERM)/);
      else expect(r.stdout).not.toMatch(/refused/);
      if (!inFallback) expect(r.stderr).toMatch(/jail: npm cache: dropped \d+ file\(s\) the command wrote under content-v2 that do not match their own hash/);
      expect(snapshot(path.join(cache, '_cacache', 'content-v2'))).toEqual(before);
      expect(fs.existsSync(bogus)).toBe(false);
      expect(fs.existsSync(path.join(cache, '_logs', 'planted.log'))).toBe(false);
      expect(fs.existsSync(path.join(cache, '_update-notifier-last-checked'))).toBe(false);
      const again = project('after-content-attack', seed);
      const later = run(again, 'npm', ['ci', '--offline']);
      expect(later.status, printed(later)).toBe(0);
      expect(fs.readFileSync(path.join(again, 'node_modules', 'goodpkg', 'bin.js'), 'utf8')).toBe(goodBin);
      expect(fs.existsSync(marker)).toBe(false);
    });

    it("a symlink left at _cacache does not make jail copy another cache's content (one the command cannot read) into this one", () => {
      // Another cache the command is not granted (another user's, as root):
      // one verified blob in it.
      const other = path.join(w.root, user, 'other-cache');
      const bytes = Buffer.from(`private package of another user (${user})`);
      const hex = sha512(bytes);
      const rel = path.join('_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
      fs.mkdirSync(path.dirname(path.join(other, rel)), { recursive: true });
      fs.writeFileSync(path.join(other, rel), bytes);
      fs.chmodSync(other, 0o700);
      execFileSync('chown', ['-R', asNobody ? '65534:65534' : '0:0', other]);
      const attack = `
        const fs = require('fs'), path = require('path');
        try { fs.readFileSync(${JSON.stringify(path.join(other, rel))}); console.log('read it'); } catch (e) { console.log('cannot read ' + e.code); }
        const c = path.join(${JSON.stringify(cache)}, '_cacache');
        try { fs.rmSync(c, { recursive: true }); fs.symlinkSync(${JSON.stringify(path.join(other, '_cacache'))}, c); console.log('linked'); } catch (e) { console.log('refused ' + e.code); }`;
      const r = jailed(project('symlink-attack'), ['--', 'node', '-e', attack]);
      expect(r.status, printed(r)).toBe(0);
      expect(r.stdout).toMatch(/cannot read E/);
      expect(r.stdout).toMatch(inFallback ? /refused E(ACCES|ROFS|PERM)/ : /linked/);
      // From outside: the real cache is a directory still, without the blob.
      expect(fs.lstatSync(path.join(cache, '_cacache')).isDirectory()).toBe(true);
      expect(fs.existsSync(path.join(cache, rel))).toBe(false);
      if (!inFallback) expect(r.stderr).toMatch(/jail: npm cache: dropped 1 .*: _cacache\n/);
    });

    it("a directory the command made unreadable in the layer: the status is still the command's, and verified content is still kept", () => {
      const bytes = Buffer.from(`a tarball made inside (${user}) ${Math.random()}`);
      const hex = sha512(bytes);
      const rel = path.join('_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
      const attack = `
        const fs = require('fs'), path = require('path');
        const c = ${JSON.stringify(path.join(cache, '_cacache', 'content-v2', 'sha512'))};
        try {
          fs.mkdirSync(path.dirname(${JSON.stringify(path.join(cache, rel))}), { recursive: true });
          fs.writeFileSync(${JSON.stringify(path.join(cache, rel))}, ${JSON.stringify(bytes.toString())});
          // Listable, not searchable: its entries cannot be lstat'ed.
          const d = ${JSON.stringify(hex.startsWith('ff') ? 'fe' : 'ff')};
          fs.mkdirSync(path.join(c, d, 'ee'), { recursive: true });
          fs.chmodSync(path.join(c, d), 0o444);
          console.log('planted');
        } catch (e) { console.log('refused ' + e.code); }
        process.exit(7);`;
      const r = jailed(project('unreadable-attack'), ['--', 'node', '-e', attack]);
      expect(r.status, printed(r)).toBe(7);
      expect(r.stdout).toMatch(inFallback ? /refused E(ACCES|ROFS|PERM)/ : /planted/);
      expect(r.stderr).not.toMatch(/internal error|could not remove/);
      expect(fs.existsSync(path.join(cache, rel))).toBe(!inFallback);
    });

    it('a warm npm ci --offline inside takes about as long as outside', () => {
      const time = (jailedRun: boolean) => {
        const proj = project(`warm-${jailedRun ? 'in' : 'out'}-${Math.random().toString(36).slice(2, 8)}`, seed);
        const t = performance.now();
        const r = jailedRun ? jailed(proj, ['-p', 'npm-install', '--', 'npm', 'ci', '--offline']) : run(proj, 'npm', ['ci', '--offline']);
        const ms = performance.now() - t;
        expect(r.status, printed(r)).toBe(0);
        expect(fs.readFileSync(path.join(proj, 'node_modules', 'goodpkg', 'bin.js'), 'utf8')).toBe(goodBin);
        return ms;
      };
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const outside: number[] = [];
      const inside: number[] = [];
      for (let i = 0; i < 3; i++) {
        outside.push(time(false));
        inside.push(time(true));
      }
      const [o, j] = [median(outside), median(inside)];
      console.log(`warm npm ci --offline as ${user} (${inFallback ? 'fallback' : 'namespace'} layer): outside ${o.toFixed(0)} ms, jailed ${j.toFixed(0)} ms (median of 3)`);
      // Generous: jail's own start-up and a loaded CI machine on top.
      expect(j).toBeLessThan(o * 1.5 + 1000);
    }, 120_000);

    it(
      inFallback
        ? 'fallback: the cache is read-only, so a cold install inside fails and adds nothing to it'
        : 'a cold install inside fills the cache: a later unjailed npm ci --offline works',
      () => {
        // A cache of its own, empty: what the jailed install downloads is all it can hold.
        const cold = path.join(w.root, user, 'cold-cache');
        fs.mkdirSync(cold, { recursive: true });
        own(cold);
        const proj = project('cold', seed);
        const r = jailed(proj, ['-p', 'npm-install', '--allow-connect', String(port), '--', 'npm', 'ci'], { NPM_CONFIG_CACHE: cold });
        if (inFallback) {
          expect(r.status, printed(r)).not.toBe(0);
          expect(fs.readdirSync(cold)).toEqual([]);
          // npm blames root-owned files; jail says what really happened.
          expect(r.stderr).toMatch(/jail: npm's cache is read-only in this layer/);
          return;
        }
        expect(r.status, printed(r)).toBe(0);
        expect(r.stderr).not.toMatch(/dropped/);
        // Only content: no index, no logs.
        expect(fs.readdirSync(cold)).toEqual(['_cacache']);
        expect(fs.readdirSync(path.join(cold, '_cacache')).filter((n) => n !== 'tmp').sort()).toEqual(['content-v2']);
        const later = project('after-cold', seed);
        const o = run(later, 'npm', ['ci', '--offline'], { NPM_CONFIG_CACHE: cold });
        expect(o.status, printed(o)).toBe(0);
        expect(fs.readFileSync(path.join(later, 'node_modules', 'goodpkg', 'bin.js'), 'utf8')).toBe(goodBin);
      },
      120_000,
    );
  });
}
