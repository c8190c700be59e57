/** jail learn on the real kernel, in a world with a fake HOME full of fake
 *  secrets: the profile made from what a command touched, saved and used
 *  again; and a real npm project's install, build and test. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];

const profileOf = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

strictJail.describe.each(users)('jail learn as %s', (_, asNobody) => {
  let w: World;
  beforeAll(() => {
    w = makeWorld('learn');
    const tool = path.join(w.home, '.config', 'tool');
    fs.mkdirSync(tool, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(tool, 'settings.json'), '{"tool":"settings"}\n', { mode: 0o644 });
    execFileSync('chmod', ['-R', 'a+rX', path.join(w.home, '.config')]);
  });
  afterAll(() => removeWorld(w));

  strictJail.it('a read under ~/.config and a write to ./dist: ~/.config/tool ro, the project rw, nothing else of $HOME', () => {
    const r = jail(w, ['learn', '--', 'sh', '-c', 'cat ~/.config/tool/settings.json && mkdir -p dist && echo x > dist/out.js'], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toContain('"tool":"settings"'); // the command's own output, first
    const p = profileOf(r.stdout.slice(r.stdout.indexOf('{\n')));
    expect(p.ro).toEqual(['~/.config/tool']);
    expect(p.rw).toEqual([w.proj]);
    expect(JSON.stringify(p)).not.toMatch(/"~"|"\/"|\.ssh|\.aws|\.npmrc/);
    expect(r.stderr).toMatch(/jail: learn: broad policy: .*without its credentials \(.*~\/\.ssh/);
    expect(r.stderr).toContain('the profile grants the project rw; ~/.config/tool ro');
    fs.rmSync(path.join(w.proj, 'dist'), { recursive: true, force: true });
  });

  strictJail.it('--save never writes through a symlinked config: the link and what it leads to stay as they are', () => {
    const dir = path.join(w.home, '.config', 'jail');
    fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    const target = path.join(w.outside, 'dotfiles-jail.json');
    fs.writeFileSync(target, '{ "profiles": {} }\n', { mode: 0o666 });
    fs.symlinkSync(target, path.join(dir, 'config.json'));
    try {
      // ~/.config/tool is outside the project: the profile goes to the user config.
      const r = jail(w, ['learn', '--save', 'tool-learnt', '--', 'cat', path.join(w.home, '.config', 'tool', 'settings.json')], { asNobody });
      expect(r.status, printed(r)).toBe(125);
      expect(fs.lstatSync(path.join(dir, 'config.json')).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(target, 'utf8')).toBe('{ "profiles": {} }\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  strictJail.it('a command writing in $HOME and ~/.config gets no suggestion of --rw ~ or --rw ~/.config; a planted name with flags in it stays one word', () => {
    const r = jail(w, ['learn', '--', 'sh', '-c', 'touch ~/x; mkdir ~/.config/newtool; touch "$HOME/a --rw ~/b"; true'], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stderr).toContain("add --rw ~/'a --rw ~' if it should write there");
    expect(r.stderr).not.toMatch(new RegExp(`--rw (~|${w.home}|~/\\.config|${w.home}/\\.config)( |$)`, 'm'));
  });

  strictJail.it('a key the command reaches for is never learnt, and its content never shown', () => {
    const r = jail(w, ['learn', '--', 'cat', path.join(w.home, '.ssh', 'id_ed25519')], { asNobody });
    expect(r.status).toBe(1); // cat's own
    const { description: _, ...grants } = profileOf(r.stdout);
    expect(grants).toEqual({});
    expect(r.stderr).toContain('never learnt (credentials): ~/.ssh/id_ed25519');
    for (const s of Object.values(w.secrets)) expect(printed(r)).not.toContain(s);
  });

  strictJail.it('--save writes the project\'s config; jail -p NAME runs the command again; a second --save needs --force', () => {
    const cmd = ['sh', '-c', 'cat src/index.js >/dev/null && mkdir -p dist && echo x > dist/out.js'];
    const r = jail(w, ['learn', '--save', 'build-learnt', '--', ...cmd], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    const file = path.join(w.proj, 'jail.config.json');
    expect(r.stderr).toContain(`saved profile "build-learnt" in ${file}`);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { profiles: Record<string, { rw?: string[] }> };
    expect(saved.profiles['build-learnt']!.rw).toEqual(['.']);
    fs.rmSync(path.join(w.proj, 'dist'), { recursive: true, force: true });
    const again = jail(w, ['-p', 'build-learnt', '--', ...cmd], { asNobody });
    expect(again.status, printed(again)).toBe(0);
    expect(fs.readFileSync(path.join(w.proj, 'dist', 'out.js'), 'utf8')).toBe('x\n');
    // The name is taken: refused before anything runs.
    fs.rmSync(path.join(w.proj, 'dist'), { recursive: true, force: true });
    const twice = jail(w, ['learn', '--save', 'build-learnt', '--', ...cmd], { asNobody });
    expect(twice.status).toBe(125);
    expect(twice.stderr).toContain('pass --force to replace it');
    expect(fs.existsSync(path.join(w.proj, 'dist'))).toBe(false);
    const forced = jail(w, ['learn', '--save', 'build-learnt', '--force', '--', ...cmd], { asNobody });
    expect(forced.status, printed(forced)).toBe(0);
    // A built-in's name would merge with it.
    expect(jail(w, ['learn', '--save', 'test', '--', 'true'], { asNobody }).status).toBe(125);
    fs.rmSync(file);
    fs.rmSync(path.join(w.proj, 'dist'), { recursive: true, force: true });
  });
});

/** A tiny npm project with a dev dependency from a local tarball, learnt
 *  offline: install, build and test, each saved and run again. */
strictJail.describe('jail learn on an npm project', () => {
  let w: World;
  let proj: string;
  const env = () => ({ ...w.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
  beforeAll(() => {
    w = makeWorld('learn-npm');
    const dep = path.join(w.root, 'fixtures', 'dep');
    fs.mkdirSync(dep, { recursive: true });
    fs.writeFileSync(path.join(dep, 'package.json'), JSON.stringify({ name: 'double', version: '1.0.0', main: 'index.js' }));
    fs.writeFileSync(path.join(dep, 'index.js'), 'module.exports = (x) => x * 2;\n');
    execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(w.root, 'fixtures')], { cwd: dep, env: env() });
    proj = path.join(w.root, 'app');
    fs.mkdirSync(path.join(proj, 'fixtures'), { recursive: true });
    fs.writeFileSync(
      path.join(proj, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, scripts: { build: 'node build.js', test: 'node test.js' }, devDependencies: { double: 'file:../fixtures/double-1.0.0.tgz' } }),
    );
    fs.writeFileSync(path.join(proj, 'fixtures', 'data.json'), '{"n":21}\n');
    fs.writeFileSync(path.join(proj, 'build.js'), "const fs = require('fs'); fs.mkdirSync('dist', { recursive: true }); fs.writeFileSync('dist/out.js', 'module.exports = ' + require('double')(2) + ';\\n');\n");
    fs.writeFileSync(path.join(proj, 'test.js'), "const d = require('./fixtures/data.json'); if (require('double')(d.n) !== 42) process.exit(1); console.log('tests pass');\n");
    // The lockfile, made once outside the jail (as a checkout has one).
    execFileSync('npm', ['install', '--offline'], { cwd: proj, env: env(), stdio: 'ignore' });
    fs.rmSync(path.join(proj, 'node_modules'), { recursive: true });
  }, 60_000);
  afterAll(() => removeWorld(w));

  const steps: Array<[string, string[]]> = [
    ['install', ['npm', 'ci', '--offline']],
    ['build', ['npm', 'run', 'build']],
    ['unit', ['npm', 'test']],
  ];

  strictJail.it('learns npm ci --offline, the build and the tests; each passes again under its learnt profile', () => {
    for (const [name, cmd] of steps) {
      const r = jail(w, ['learn', '--save', `${name}-learnt`, '--', ...cmd], { cwd: proj, env: env(), timeout: 60_000 });
      expect(r.status, `${name}: ${printed(r)}`).toBe(0);
      expect(r.stderr).toContain(`saved profile "${name}-learnt" in ${path.join(proj, 'jail.config.json')}`);
    }
    const config = JSON.parse(fs.readFileSync(path.join(proj, 'jail.config.json'), 'utf8')) as { profiles: Record<string, Record<string, unknown>> };
    expect(config.profiles['install-learnt']).toMatchObject({ rw: ['.'], npmCache: true });
    expect(config.profiles['build-learnt']).toMatchObject({ rw: ['.'] });
    expect(config.profiles['unit-learnt']).toMatchObject({ ro: ['.'] });
    expect(config.profiles['unit-learnt']!.rw).toBeUndefined();
    // From a clean tree again, each step under its own profile.
    fs.rmSync(path.join(proj, 'node_modules'), { recursive: true });
    fs.rmSync(path.join(proj, 'dist'), { recursive: true });
    for (const [name, cmd] of steps) {
      const r = jail(w, ['-p', `${name}-learnt`, '--', ...cmd], { cwd: proj, env: env(), timeout: 60_000 });
      expect(r.status, `${name}: ${printed(r)}`).toBe(0);
    }
    expect(fs.readFileSync(path.join(proj, 'dist', 'out.js'), 'utf8')).toBe('module.exports = 4;\n');
    // The tests' profile is read-only: the build cannot run under it.
    const denied = jail(w, ['-p', 'unit-learnt', '--', 'npm', 'run', 'build'], { cwd: proj, env: env(), timeout: 60_000 });
    expect(denied.status).not.toBe(0);
  }, 120_000);
});
