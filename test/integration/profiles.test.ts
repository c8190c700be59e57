/** Profiles on the command line, and the project-config rule, end to end. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { NODE, REPO, jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('profiles');
  fs.writeFileSync(path.join(w.proj, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0' }));
});
afterAll(() => removeWorld(w));

const config = (profiles: unknown) => fs.writeFileSync(path.join(w.proj, 'jail.config.json'), JSON.stringify({ profiles }));

describe('profiles', () => {
  it('a project config that grants $HOME is refused: exit 125, nothing runs, the secret stays', () => {
    config({ steal: { ro: ['~'] } });
    const marker = path.join(w.proj, 'ran-steal');
    const r = jail(w, ['-p', 'steal', '--rw', '.', '--', 'sh', '-c', `touch ${marker}; cat ${w.home}/.ssh/id_ed25519`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/profile "steal": "ro" path .* is outside the project/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(printed(r)).not.toContain(w.secrets.ssh);
  });
  it('… and so is one that asks for the whole network', () => {
    config({ open: { net: 'all' } });
    expect(jail(w, ['-p', 'open', '--', 'true']).stderr).toMatch(/may not set "net": "all"/);
  });
  strictJail.it('the same grant from the user config is honoured (the control)', () => {
    fs.mkdirSync(path.join(w.home, '.config', 'jail'), { recursive: true });
    fs.writeFileSync(path.join(w.home, '.config', 'jail', 'config.json'), JSON.stringify({ profiles: { keys: { ro: ['~/.ssh'] } } }));
    config({ t: { extends: 'keys', rw: ['src'] } });
    const r = jail(w, ['-p', 't', '--', 'cat', `${w.home}/.ssh/id_ed25519`]);
    expect([r.status, r.stdout.trim()]).toEqual([0, w.secrets.ssh]);
    fs.rmSync(path.join(w.home, '.config'), { recursive: true });
  });
  strictJail.it('flags add to a profile, and -p test lets a test runner write coverage/', () => {
    fs.rmSync(path.join(w.proj, 'jail.config.json'), { force: true });
    fs.mkdirSync(path.join(w.proj, 'coverage'), { recursive: true });
    const r = jail(w, ['-p', 'test', '--', 'sh', '-c', 'echo ok > coverage/out && cat README.md && echo x > README.md']);
    expect(r.stdout).toBe('project readme\n');
    expect(r.status).not.toBe(0);
    expect(fs.readFileSync(path.join(w.proj, 'coverage', 'out'), 'utf8')).toBe('ok\n');
  });
  strictJail.it('without -p, --ro or --rw, the default profile reads the project', () => {
    const r = jail(w, ['--', 'cat', 'README.md']);
    expect([r.status, r.stdout]).toEqual([0, 'project readme\n']);
  });
  strictJail.it.each([
    ['claude', '.claude', ['settings.json', 'settings.local.json'], 'history.jsonl'],
    ['codex', '.codex', ['config.toml'], 'history.jsonl'],
  ])('-p %s keeps the settings its agent runs later (hooks, MCP servers) as they are; its state stays writable', (profile, dir, settings, state) => {
    const home = path.join(w.home, dir);
    fs.mkdirSync(home, { recursive: true, mode: 0o777 });
    fs.writeFileSync(path.join(home, settings[0]!), 'ORIGINAL\n', { mode: 0o666 });
    try {
      const plant = settings.map((f) => `echo PLANTED >> ~/${dir}/${f}`).join('; ');
      const r = jail(w, ['-p', profile, '--', 'sh', '-c', `${plant}; echo written >> ~/${dir}/${state}`]);
      expect(r.status, printed(r)).toBe(0);
      expect(fs.readFileSync(path.join(home, settings[0]!), 'utf8')).toBe('ORIGINAL\n');
      for (const f of settings.slice(1)) expect(fs.existsSync(path.join(home, f))).toBe(false);
      // The control: a write into the same tree lands.
      expect(fs.readFileSync(path.join(home, state), 'utf8')).toBe('written\n');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('jail profiles lists them; jail profiles show prints one; an unknown one is 125', () => {
    fs.rmSync(path.join(w.proj, 'jail.config.json'), { force: true }); // whichever tests ran before
    expect(jail(w, ['profiles']).stdout).toMatch(/^claude .*\ncodex .*\ndefault .*\nnode .*\nnone .*\nnpm-install .*\nread-only .*\ntest /);
    expect(jail(w, ['profiles', 'show', 'npm-install']).stdout).toMatch(/profile npm-install: node \(built-in\) → npm-install \(built-in\)/);
    const bad = jail(w, ['-p', 'tset', '--', 'true']);
    expect([bad.status, bad.stderr]).toEqual([125, expect.stringMatching(/unknown profile "tset".*\n {2}hint: did you mean -p test\?/)]);
  });
});

strictJail.describe('jail-sh', () => {
  it('does not let a project-only profile picked by script name borrow your user grants', () => {
    fs.mkdirSync(path.join(w.home, '.config', 'jail'), { recursive: true });
    fs.writeFileSync(path.join(w.home, '.config', 'jail', 'config.json'), JSON.stringify({ profiles: { keys: { ro: ['~/.ssh'] } } }));
    config({ build: { extends: 'keys' } });
    const script = `cat ${w.home}/.ssh/id_ed25519`;
    const r = spawnSync(NODE, [path.join(REPO, 'bin', 'jail-sh.cjs'), '-c', script], {
      cwd: w.proj,
      env: { ...w.env, npm_lifecycle_event: 'build' },
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/profile "build" comes from the project and extends your user config; using "default"/);
    expect(printed(r)).not.toContain(w.secrets.ssh);
    // Asked for by name, the user's choice: it applies.
    expect(jail(w, ['-p', 'build', '--', 'sh', '-c', script]).stdout.trim()).toBe(w.secrets.ssh);
    fs.rmSync(path.join(w.home, '.config'), { recursive: true });
  });
  it.each(['claude', 'codex'])('does not let a project-only profile picked by script name extend the built-in %s (your agent\'s files and API key)', (agent) => {
    const dir = path.join(w.home, `.${agent}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'memory.md'), w.secrets.aws);
    config({ lint: { extends: agent } });
    const script = `cat ~/.${agent}/memory.md; echo planted > ~/.${agent}/planted; echo key=$ANTHROPIC_API_KEY$OPENAI_API_KEY`;
    try {
      const r = spawnSync(NODE, [path.join(REPO, 'bin', 'jail-sh.cjs'), '-c', script], {
        cwd: w.proj,
        env: { ...w.env, npm_lifecycle_event: 'lint', ANTHROPIC_API_KEY: 'sk-ant-api03-real', OPENAI_API_KEY: 'sk-proj-real' },
        encoding: 'utf8',
      });
      expect(r.stderr).toContain(`jail-sh: profile "lint" comes from the project and extends the built-in "${agent}"`);
      expect(printed(r)).not.toContain(w.secrets.aws);
      expect(r.stdout).toContain('key=\n');
      expect(fs.existsSync(path.join(dir, 'planted'))).toBe(false);
      // Asked for by name, the user's choice: it applies (the control).
      expect(jail(w, ['-p', 'lint', '--', 'sh', '-c', `cat ~/.${agent}/memory.md`]).stdout).toBe(w.secrets.aws);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(path.join(w.proj, 'jail.config.json'), { force: true });
    }
  });
  it('runs a dependency install script with npm-install: its own package writable, the project not', () => {
    const dep = path.join(w.proj, 'node_modules', 'dep');
    fs.mkdirSync(dep, { recursive: true });
    fs.writeFileSync(path.join(dep, 'package.json'), '{"name":"dep","version":"1.0.0"}');
    const r = spawnSync(NODE, [path.join(REPO, 'bin', 'jail-sh.cjs'), '-c', 'echo built > out.txt; echo planted > ../../planted.txt'], {
      cwd: dep,
      env: { ...w.env, npm_lifecycle_event: 'postinstall' },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(fs.readFileSync(path.join(dep, 'out.txt'), 'utf8')).toBe('built\n');
    expect(fs.existsSync(path.join(w.proj, 'planted.txt'))).toBe(false);
  });
});

describe('the project root', () => {
  strictJail.it('a package.json in a shared sticky directory (a stray /tmp/package.json) does not make that directory the project', () => {
    // The world's root stands in for /tmp: world-writable and sticky, a
    // package.json left by `npm i x`, another user's file beside it.
    const shared = path.join(w.root, 'shared');
    const work = path.join(shared, 'work');
    fs.mkdirSync(work, { recursive: true });
    fs.chmodSync(shared, 0o1777);
    fs.writeFileSync(path.join(shared, 'package.json'), '{}');
    const other = path.join(shared, 'krb5cc_1000');
    fs.writeFileSync(other, w.secrets.aws);
    const r = jail(w, ['--', 'cat', other], { cwd: work });
    expect(r.status).not.toBe(0);
    expect(printed(r)).not.toContain(w.secrets.aws);
    // The working directory itself is the project.
    fs.writeFileSync(path.join(work, 'mine.txt'), 'mine\n');
    expect(jail(w, ['--', 'cat', 'mine.txt'], { cwd: work }).stdout).toBe('mine\n');
  });
});
