/**
 * What the jail trusts, attacked the way a hostile repository or dependency
 * would (issue 8): symlinks it resolves on the attacker's behalf, config
 * files it reads, npm's PATH and .npmrc, its own code in a writable tree,
 * the terminal. Each test tries the attack for real and judges from
 * outside the jail: the file outside unchanged, the secret not printed, the
 * marker not made.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IS_ROOT, JAIL, NODE, REPO, jail, jailCommand, makeWorld, printed, removeWorld, type World, strictJail, inFallback, needs } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('trust');
  fs.writeFileSync(path.join(w.proj, 'package.json'), JSON.stringify({ name: 'victim', version: '1.0.0' }));
});
afterAll(() => removeWorld(w));

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];

/** A fresh project directory for one test, world-writable for nobody. */
function project(name: string, files: Record<string, string> = {}): string {
  const dir = path.join(w.root, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

/** A directory outside the project, writable by anyone: the target. */
function target(name: string): string {
  const dir = path.join(w.outside, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  return dir;
}

strictJail.describe.each(users)('paths the jail resolves for the attacker (%s)', (who, asNobody) => {
  it('A1: a committed coverage -> outside does not make the test profile grant outside', () => {
    const out = target(`a1-${who}`);
    const proj = project(`a1-${who}`);
    fs.symlinkSync(out, path.join(proj, 'coverage'));
    const r = jail(w, ['-p', 'test', '--', 'sh', '-c', 'echo planted > coverage/planted'], { cwd: proj, asNobody });
    expect(fs.existsSync(path.join(out, 'planted'))).toBe(false);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/leads out of .* through a symlink/);
  });

  it('A1: … nor does node_modules/.cache -> outside', () => {
    const out = target(`a1c-${who}`);
    const proj = project(`a1c-${who}`);
    fs.mkdirSync(path.join(proj, 'node_modules'));
    fs.symlinkSync(out, path.join(proj, 'node_modules', '.cache'));
    const r = jail(w, ['-p', 'test', '--', 'sh', '-c', 'echo planted > node_modules/.cache/planted'], { cwd: proj, asNobody });
    expect(fs.existsSync(path.join(out, 'planted'))).toBe(false);
    expect(r.status).toBe(125);
  });

  it('A2: --rw ./dist with a committed dist -> outside is refused, with a hint; the path written out is the opt-in', () => {
    const out = target(`a2-${who}`);
    const proj = project(`a2-${who}`);
    fs.symlinkSync(out, path.join(proj, 'dist'));
    const r = jail(w, ['--ro', '.', '--rw', './dist', '--', 'sh', '-c', 'echo planted > dist/planted'], { cwd: proj, asNobody });
    expect(fs.existsSync(path.join(out, 'planted'))).toBe(false);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(`hint: if you mean ${fs.realpathSync(out)}, write it out: --rw ${fs.realpathSync(out)}`);
    const control = jail(w, ['--ro', '.', '--rw', out, '--', 'sh', '-c', 'echo planted > dist/planted'], { cwd: proj, asNobody });
    expect(control.status, printed(control)).toBe(0);
    expect(fs.existsSync(path.join(out, 'planted'))).toBe(true);
  });

  it('A3: a path swapped for a symlink to $HOME while jail checks it never grants $HOME', async () => {
    const proj = project(`a3-${who}`, { 'jail.config.json': JSON.stringify({ profiles: { t: { rw: ['sub'] } } }) });
    fs.mkdirSync(path.join(proj, 'sub'), { mode: 0o777 });
    fs.symlinkSync(w.home, path.join(proj, 'alt'));
    // A process left over from an earlier jailed run with --rw: swaps sub
    // and alt (a symlink to $HOME) back and forth, atomically.
    const flipper = spawn('python3', ['-c', `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(${JSON.stringify(proj)})
while True:
    libc.renameat2(-100, b"sub", -100, b"alt", 2)
`], { stdio: 'ignore' });
    try {
      let refused = 0;
      for (let i = 0; i < 40; i++) {
        const r = jail(w, ['-p', 't', '--', 'sh', '-c', `cat ${w.home}/.ssh/id_ed25519; echo planted > sub/.planted-${i}`], { cwd: proj, asNobody });
        expect(printed(r)).not.toContain(w.secrets.ssh);
        if (r.status === 125) refused++;
      }
      expect(fs.readdirSync(w.home).filter((f) => f.startsWith('.planted'))).toEqual([]);
      // The swapping is real: some runs met the symlink and were refused
      // (at the check, or at the addon's open); none reached $HOME.
      expect(refused).toBeGreaterThan(0);
    } finally {
      flipper.kill('SIGKILL');
    }
  }, 60_000);

  it('A6: a hidden .env whose directory is swapped while jail builds the view never reaches the command', async () => {
    const secret = `A6-SECRET-${Math.random().toString(36).slice(2)}`;
    const proj = project(`a6-${who}`, { 'sub/.env': `API_KEY=${secret}\n`, 'alt/decoy.txt': 'decoy\n' });
    fs.chmodSync(path.join(proj, 'sub'), 0o777);
    fs.chmodSync(path.join(proj, 'alt'), 0o777);
    // Another jailed run's command, with the project read-write, swaps sub
    // and alt back and forth, atomically, so that the name jail found the
    // .env under at its search may name the other directory when it covers
    // it (its own cover of sub/.env would move with sub). sub is bound on
    // itself in its view: EBUSY. The fallback refuses that run (a .env
    // inside a writable tree).
    const [cmd, argv] = jailCommand(w, ['--rw', '.', '--', 'python3', '-c', `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while n < 2000000:
    if libc.renameat2(-100, b"sub", -100, b"alt", 2) != 0:
        print("errno", ctypes.get_errno(), flush=True)
        sys.exit(0)
    n += 1
`], { asNobody });
    const flipper = spawn(cmd, argv, { cwd: proj, env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    flipper.stdout!.on('data', (d) => (said += d));
    flipper.stderr!.on('data', (d) => (said += d));
    try {
      let refused = 0;
      for (let i = 0; i < 40; i++) {
        const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do cat sub/.env alt/.env 2>/dev/null; done; echo DONE'], { cwd: proj, asNobody });
        expect(printed(r)).not.toContain(secret);
        if (r.status === 125) refused++;
        else expect(r.stdout, printed(r)).toContain('DONE');
      }
      void refused;
      // The swapping is what was refused (EBUSY), in this layer's way.
      if (flipper.exitCode === null) await new Promise((resolve) => flipper.on('close', resolve));
      if (!inFallback) expect(said).toContain('errno 16');
    } finally {
      flipper.kill('SIGKILL');
    }
  }, 60_000);

  it('A7: a directory an earlier jailed run made unreadable (chmod 000) does not keep its .env from being hidden', () => {
    const secret = `A7-SECRET-${Math.random().toString(36).slice(2)}`;
    for (const access of ['--ro', '--rw']) {
      const proj = project(`a7-${who}${access}`, { 'sub/.env': `API_KEY=${secret}\n`, 'src/a.js': '1\n' });
      // What a jailed `--rw .` command may leave behind: its own directory, mode 000.
      if (asNobody) execFileSync('chown', ['-R', '65534:65534', proj]);
      fs.chmodSync(path.join(proj, 'sub'), 0o000);
      const r = jail(w, [access, '.', '--', 'sh', '-c', 'chmod 700 sub; cat sub/.env; echo DONE'], { cwd: proj, asNobody });
      expect(printed(r)).not.toContain(secret);
      // Refused where the scan could not look in (not root), naming the directory.
      if (asNobody) {
        expect(r.status, printed(r)).toBe(125);
        expect(r.stderr).toContain(`${path.join(proj, 'sub')} (mode 0000)`);
      }
      fs.chmodSync(path.join(proj, 'sub'), 0o700);
    }
  });
});

strictJail.describe('what an earlier jailed run leaves, to uncover a .env for the next (A8)', () => {
  it('thousands of directories before it (more than the search lists up front): the .env is still hidden', () => {
    const secret = `A8-SECRET-${Math.random().toString(36).slice(2)}`;
    const proj = path.join(w.root, 'a8');
    fs.mkdirSync(path.join(proj, 'web'), { recursive: true });
    fs.writeFileSync(path.join(proj, 'web', '.env'), `API_KEY=${secret}\n`);
    // The earlier run, confined to ./aaa, fills it (sorted before web).
    const first = jail(w, ['--ro', '.', '--rw', './aaa', '--', 'sh', '-c', 'cd aaa && i=0; while [ $i -lt 4100 ]; do mkdir d$i; i=$((i+1)); done; echo MADE'], { cwd: proj });
    expect(first.stdout, printed(first)).toContain('MADE');
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'cat web/.env; echo DONE'], { cwd: proj });
    expect(r.stdout, printed(r)).toContain('DONE');
    expect(printed(r)).not.toContain(secret);
  }, 60_000);

  it('control: a committed .env that is a symlink to .env.development runs; the target is hidden', () => {
    const proj = path.join(w.root, 'a8-link');
    fs.mkdirSync(proj, { recursive: true });
    fs.writeFileSync(path.join(proj, '.env.development'), 'API_KEY=DEV-SECRET-A8\n');
    fs.symlinkSync('.env.development', path.join(proj, '.env'));
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'cat .env; echo DONE'], { cwd: proj });
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'DONE\n']);
  });

  it('its directory moved where the search does not look (node_modules, deeper): refused; the .env stays hidden', () => {
    const secret = `A9-SECRET-${Math.random().toString(36).slice(2)}`;
    const proj = path.join(w.root, 'a9');
    fs.mkdirSync(path.join(proj, 'apps', 'web'), { recursive: true });
    fs.writeFileSync(path.join(proj, 'apps', 'web', '.env'), `API_KEY=${secret}\n`);
    // The earlier run, with the project read-write (the fallback refuses it: a .env inside).
    jail(w, ['--rw', '.', '--', 'sh', '-c', 'mkdir -p node_modules d/e/f; mv apps/web node_modules/web; mv apps d/e/f/apps; echo hi > apps/web/new; echo DONE'], { cwd: proj });
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'cat node_modules/web/.env d/e/f/apps/web/.env apps/web/.env; echo DONE'], { cwd: proj });
    expect(r.stdout, printed(r)).toContain('DONE');
    expect(printed(r)).not.toContain(secret);
    expect(fs.readFileSync(path.join(proj, 'apps', 'web', '.env'), 'utf8')).toContain(secret);
  }, 60_000);
});

strictJail.describe('config files that stall or leak (A4)', () => {
  it('a jail.config.json that is a FIFO: exit 125 at once, nothing runs', () => {
    const proj = project('a4-fifo');
    execFileSync('mkfifo', [path.join(proj, 'jail.config.json')]);
    const marker = path.join(proj, 'ran');
    const r = jail(w, ['-p', 'default', '--', 'touch', marker], { cwd: proj, timeout: 5000 });
    expect(r.error).toBeUndefined(); // not killed by the timeout
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/jail\.config\.json is not a regular file/);
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('a jail.config.json over 4 MiB: exit 125 at once, with a hint about its size, nothing runs', () => {
    const proj = project('a4-huge');
    fs.writeFileSync(path.join(proj, 'jail.config.json'), ' '.repeat(5 << 20) + '{}');
    const marker = path.join(proj, 'ran');
    const r = jail(w, ['-p', 'default', '--', 'touch', marker], { cwd: proj, timeout: 5000 });
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/jail\.config\.json is larger than 4 MiB\.\n {2}hint: a config holds a few profiles/);
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('a jail.config.json linked to /dev/zero or to a secret: exit 125, the secret not printed', () => {
    for (const to of ['/dev/zero', path.join(w.home, '.ssh', 'id_ed25519')]) {
      const proj = project(`a4-${path.basename(to)}`);
      fs.symlinkSync(to, path.join(proj, 'jail.config.json'));
      const r = jail(w, ['-p', 'default', '--', 'true'], { cwd: proj, timeout: 5000 });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(125);
      expect(printed(r)).not.toContain(w.secrets.ssh);
    }
  });
});

strictJail.describe("a project's config naming a protected or hidden path exactly (it may not --unprotect or --unhide)", () => {
  /** A git repository with a .env, and a jail.config.json whose default profile grants `grant`. */
  const repo = (name: string, grant: Record<string, string[]>) => {
    const proj = project(name, { '.env': `TOKEN=${w.secrets.ssh}\n` });
    execFileSync('git', ['init', '-q', proj]);
    fs.writeFileSync(path.join(proj, 'jail.config.json'), JSON.stringify({ profiles: { default: grant } }));
    return proj;
  };
  it('"rw": [".git/hooks"]: exit 125, no hook planted', () => {
    const proj = repo('lift-hooks', { rw: ['.git/hooks'] });
    const hook = path.join(proj, '.git', 'hooks', 'pre-commit');
    const r = jail(w, ['--', 'sh', '-c', `printf '#!/bin/sh\\ntouch ${proj}/pwned\\n' > ${hook}`], { cwd: proj });
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/jail\.config\.json: profile "default": "rw" path "\.git\/hooks" is protected \(git hooks\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(2); // one message, one hint
    expect(fs.existsSync(hook)).toBe(false);
  });
  it('"rw": [".git"]: exit 125, .git/config unchanged', () => {
    const proj = repo('lift-git', { rw: ['.git'] });
    const config = fs.readFileSync(path.join(proj, '.git', 'config'), 'utf8');
    const r = jail(w, ['--', 'sh', '-c', `printf '[core]\\nfsmonitor = touch ${proj}/pwned\\n' >> .git/config`], { cwd: proj });
    expect(r.status, printed(r)).toBe(125);
    expect(fs.readFileSync(path.join(proj, '.git', 'config'), 'utf8')).toBe(config);
    expect(fs.readdirSync(path.join(proj, '.git'))).toContain('HEAD');
  });
  it('"ro": [".env"]: exit 125, the secret not printed', () => {
    const proj = repo('lift-env', { ro: ['.env'] });
    const r = jail(w, ['--', 'cat', '.env'], { cwd: proj });
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/"ro" path "\.env" is hidden \(a \.env file\)/);
    expect(printed(r)).not.toContain(w.secrets.ssh);
  });
  it('control: the same grants as your own flags are yours to make', () => {
    const proj = repo('lift-flags', {});
    const r = jail(w, ['--ro', '.env', '--', 'cat', '.env'], { cwd: proj });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toContain(w.secrets.ssh);
    const hook = path.join(proj, '.git', 'hooks', 'pre-commit');
    const h = jail(w, ['--rw', '.git/hooks', '--', 'sh', '-c', `echo '#!/bin/sh' > ${hook}`], { cwd: proj });
    expect(h.status, printed(h)).toBe(0);
    expect(fs.existsSync(hook)).toBe(true);
  });
});

strictJail.describe('A5: paths reach the terminal escaped', () => {
  it('a missing path with an OSC sequence in its name is printed with the escape shown, not sent', () => {
    const evil = 'x\x1b]0;pwned\x07\x1b[2J';
    const r = jail(w, ['--ro', evil, '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stderr).toContain('x\\x1b]0;pwned\\x07');
  });
  it('so is a project path leading out through a symlink named with escapes', () => {
    const proj = project('a5');
    fs.symlinkSync(w.outside, path.join(proj, 'd\x1b[31m'));
    const r = jail(w, ['--rw', 'd\x1b[31m', '--', 'true'], { cwd: proj });
    expect(r.status).toBe(125);
    expect(r.stderr).not.toContain('\x1b');
  });
});

strictJail.describe('B1: a dependency that declares a bin named node', () => {
  it('does not run, outside the jail, for jail or jail-sh started through npm', () => {
    const proj = project('b1', {
      'node_modules/.bin/node': `#!/bin/sh\necho pwned > ${w.outside}/b1-fake-node-ran\nexit 3\n`,
      '.npmrc': `script-shell=${path.join(REPO, 'bin', 'jail-sh.cjs')}\n`,
    });
    fs.chmodSync(path.join(proj, 'node_modules/.bin/node'), 0o755);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'b1', version: '1.0.0', scripts: { direct: `${JAIL} --ro . -- true`, test: 'true' } }));
    const env = { ...w.env, npm_config_update_notifier: 'false' };
    // `npm test` through jail-sh; a script that calls jail itself, run by a plain sh.
    for (const args of [['test'], ['direct', '--script-shell=/bin/sh']]) {
      const r = spawnSync('npm', ['run', '-s', ...args], { cwd: proj, env, encoding: 'utf8' });
      expect(r.status, printed(r as never)).toBe(0);
    }
    expect(fs.existsSync(path.join(w.outside, 'b1-fake-node-ran'))).toBe(false);
  });
});

strictJail.describe('B2: a dependency that renames its own package.json', () => {
  it('still has its own package directory as its project, not yours', () => {
    const proj = project('b2');
    fs.mkdirSync(path.join(proj, '.git', 'hooks'), { recursive: true });
    const dep = path.join(proj, 'node_modules', 'evil');
    fs.mkdirSync(dep, { recursive: true });
    fs.writeFileSync(path.join(dep, 'package.json.renamed'), '{"name":"evil","version":"1.0.0"}');
    // npm runs the next script (install) in the package's directory.
    const r = spawnSync(NODE, [path.join(REPO, 'bin', 'jail-sh.cjs'), '-c', `echo planted > ${proj}/.git/hooks/pre-commit`], {
      cwd: dep,
      env: { ...w.env, npm_lifecycle_event: 'install', npm_package_json: path.join(dep, 'package.json') },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(fs.existsSync(path.join(proj, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });
});

strictJail.describe('B4: a dependency that makes its bin a symlink to your key', () => {
  it('fails its install; npm does not chmod the key', () => {
    const key = path.join(w.home, '.ssh', 'id_ed25519');
    fs.chmodSync(key, 0o600);
    const src = path.join(w.root, 'b4-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(
      path.join(src, 'package.json'),
      JSON.stringify({ name: 'b4-evil', version: '1.0.0', bin: { 'b4-evil': 'cli.js' }, scripts: { preinstall: `rm cli.js && ln -s ${key} cli.js` } }),
    );
    fs.writeFileSync(path.join(src, 'cli.js'), '#!/usr/bin/env node\n');
    const env = { ...w.env, npm_config_update_notifier: 'false' };
    execFileSync('npm', ['pack', '--silent', '--pack-destination', w.root], { cwd: src, env });
    const proj = project('b4', { '.npmrc': `allow-scripts=b4-evil\nscript-shell=${path.join(REPO, 'bin', 'jail-sh.cjs')}\n` });
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(w.root, 'b4-evil-1.0.0.tgz')], { cwd: proj, env, encoding: 'utf8' });
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(r.status).not.toBe(0);
    expect(printed(r as never)).toMatch(/its bin cli\.js leads to .*id_ed25519, outside the package/);
  }, 60_000);
});

strictJail.describe('B5: a project .npmrc that steers the jail', () => {
  it('cache=~/.ssh does not become a read-write grant', () => {
    const proj = project('b5-cache', { '.npmrc': `cache=${w.home}/.ssh\nscript-shell=${path.join(REPO, 'bin', 'jail-sh.cjs')}\n` });
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'b5', version: '1.0.0', scripts: { t: `echo planted > ${w.home}/.ssh/planted` } }));
    spawnSync('npm', ['run', '-s', 't'], { cwd: proj, env: { ...w.env, npm_config_update_notifier: 'false' }, encoding: 'utf8' });
    expect(fs.existsSync(path.join(w.home, '.ssh', 'planted'))).toBe(false);
  });
  it('node-options="--require" x runs no code in jail-sh, outside the jail', () => {
    const marker = path.join(w.outside, 'b5-required');
    const proj = project('b5-opts', { 'evil.js': `require('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned');\n` });
    fs.writeFileSync(path.join(proj, '.npmrc'), `node-options="--require" ${path.join(proj, 'evil.js')}\nscript-shell=${path.join(REPO, 'bin', 'jail-sh.cjs')}\n`);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'b5', version: '1.0.0', scripts: { t: 'node -e 0; true' } }));
    spawnSync('npm', ['run', '-s', 't'], { cwd: proj, env: { ...w.env, npm_config_update_notifier: 'false' }, encoding: 'utf8' });
    expect(fs.existsSync(marker)).toBe(false);
  });
});

strictJail.describe('B6: jail installed in the project it jails', () => {
  it('refuses a run that could rewrite jail itself; its code is unchanged', () => {
    const proj = project('b6');
    const pkg = path.join(proj, 'node_modules', 'jail');
    for (const p of ['bin', 'dist', 'package.json', 'node_modules/commander', 'node_modules/node-gyp-build', 'node_modules/jsonc-parser']) {
      if (fs.existsSync(path.join(REPO, p))) fs.cpSync(path.join(REPO, p), path.join(pkg, p), { recursive: true });
    }
     
    const addon = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(REPO);
    fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(addon, path.join(pkg, 'build', 'Release', 'jail.node'));
    const cli = path.join(pkg, 'dist', 'cli.js');
    const before = fs.readFileSync(cli, 'utf8');
    const r = spawnSync(NODE, [path.join(pkg, 'bin', 'jail.cjs'), '-p', 'npm-install', '--', 'sh', '-c', `echo 'process.exit(0)' >> ${cli}`], { cwd: proj, env: w.env, encoding: 'utf8' });
    expect(fs.readFileSync(cli, 'utf8')).toBe(before);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/is part of jail itself/);
    // Narrower grants of its code: dist/, the code cache the loader trusts
    // (dist/cli.js.cache: bytecode the next run would execute), bin/.
    for (const grant of ['dist', 'dist/cli.js.cache', 'dist/load.cjs', 'bin']) {
      const g = spawnSync(NODE, [path.join(pkg, 'bin', 'jail.cjs'), '--ro', '.', '--rw', path.join(pkg, grant), '--', 'true'], { cwd: proj, env: w.env, encoding: 'utf8' });
      expect([grant, g.status, g.stderr]).toEqual([grant, 125, expect.stringMatching(/is part of jail itself/)]);
    }
  });
});

strictJail.describe('D1: other terminals in /dev/pts', () => {
  // In the namespace layer /dev/pts is a new instance: the command has its
  // terminal on fds 0-2 and /dev/tty, not by its name outside.
  needs(inFallback, 'the fallback layer: in the namespace layer /dev/pts is a new instance').it('the command keeps its own, by name', () => {
    // script(1) gives jail a terminal; the command reopens it by its name.
    const r = spawnSync('script', ['-qec', `${NODE} ${JAIL} --ro . -- sh -c 'echo mine > $(tty) && echo ok'`, '/dev/null'], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect(r.stdout).toMatch(/mine\r?\nok/);
  });
  it('cannot be written to', () => {
    // A terminal of the user's, outside: its master end listens.
    const listener = spawn('python3', ['-c', `
import os, select, sys
m, s = os.openpty()
print(os.ttyname(s), flush=True)
got = b''
while True:
    r, _, _ = select.select([m, sys.stdin], [], [], 5)
    if sys.stdin in r: break
    if m in r: got += os.read(m, 100)
print('GOT', repr(got), flush=True)
`], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Promise<void>((resolve, reject) => {
      let out = '';
      listener.stdout.on('data', (d) => {
        out += String(d);
        const name = /^(\/dev\/pts\/\d+)\n/.exec(out)?.[1];
        if (!name || out.includes('RAN')) return;
        out += 'RAN';
        const r = jail(w, ['--ro', '.', '--', 'sh', '-c', `echo injected > ${name}`]);
        listener.stdin.end();
        listener.on('exit', () => {
          try {
            expect(r.status).not.toBe(0);
            expect(out).toContain("GOT b''");
            resolve();
          } catch (e) {
            reject(e as Error);
          }
        });
      });
    });
  });
});

strictJail.describe('B3: --toolchains and links planted in node_modules/.bin', () => {
  it('a dependency’s bin linked to a credentials file is not granted', () => {
    const creds = path.join(w.home, '.claude', '.credentials.json');
    fs.mkdirSync(path.dirname(creds), { recursive: true });
    fs.writeFileSync(creds, `{"token": "${w.secrets.npmrc}-claude"}`);
    // The project under $HOME, as most are: its node_modules/.bin is then a
    // "toolchain under $HOME" on PATH.
    const proj = path.join(w.home, 'work', 'b3');
    fs.mkdirSync(proj, { recursive: true });
    fs.writeFileSync(path.join(proj, 'package.json'), '{}');
    const bin = path.join(proj, 'node_modules', '.bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(creds, path.join(bin, 'evil'));
    const env = { ...w.env, PATH: `${bin}:${w.env.PATH}` };
    const r = jail(w, ['--toolchains', '--ro', '.', '--', 'cat', creds], { cwd: proj, env });
    expect(r.status).not.toBe(0);
    expect(printed(r)).not.toContain(`${w.secrets.npmrc}-claude`);
  });
});
