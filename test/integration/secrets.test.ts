/**
 * Secrets the name does not give away (issue 8), judged from outside: the
 * jailed program prints its whole environment, its copies of the npm and
 * git config, and what node and git make of them; no secret value may be in
 * that output. Each case has a control run that lets the secret through
 * (--env-all, a read grant), proving the test would see a leak.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitConfigSecrets } from '../../src/tmpdir/userconfig.js';
import { NODE, REPO, jail, makeWorld, printed, removeWorld, type World, strictJail } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('secrets');
});
afterAll(() => removeWorld(w));

/** A fresh random token body: letters in both cases and digits. */
const rnd = (n: number) => {
  const abc = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let s = 'Zz9';
  while (s.length < n) s += abc[Math.floor(Math.random() * abc.length)];
  return s;
};
const hasGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;

strictJail.describe('the environment (E1, B5)', () => {
  const secrets = {
    gitParams: rnd(24),
    gitValue: rnd(24),
    mysql: rnd(20),
    webhook: rnd(24),
    sentry: rnd(32),
    query: rnd(20),
    ghp: 'ghp_' + rnd(36),
  };
  const env = () => ({
    ...w.env,
    GIT_CONFIG_PARAMETERS: `'http.extraheader'='AUTHORIZATION: basic ${secrets.gitParams}'`,
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Bearer ${secrets.gitValue}`,
    MYSQL_PWD: secrets.mysql,
    DEPLOY_NOTIFY: `https://hooks.slack.com/services/T0000/B0000/${secrets.webhook}`,
    ERRORS: `https://${secrets.sentry}@o1.ingest.sentry.io/2`,
    REPORT_URL: `https://api.example.com/v1?access_token=${secrets.query}`,
    SOME_SETTING: secrets.ghp,
    BENIGN: 'kept-as-is',
  });

  it('no secret value reaches the program; -v names what was left out', () => {
    const r = jail(w, ['-v', '--', 'env'], { env: env() });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('BENIGN=kept-as-is');
    for (const s of Object.values(secrets)) expect(printed(r)).not.toContain(s);
    for (const name of ['GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT', 'MYSQL_PWD', 'DEPLOY_NOTIFY', 'ERRORS', 'REPORT_URL', 'SOME_SETTING']) {
      expect(r.stderr).toContain(name);
    }
    const control = jail(w, ['--env-all', '--', 'env'], { env: env() });
    for (const s of Object.values(secrets)) expect(control.stdout).toContain(s);
  });

  it('credentials under innocent names in their usual forms stay out: Basic auth, libpq conninfo, Bundler sources, a base64 key', () => {
    const s = { basic: rnd(20), pg: rnd(20), bundle: rnd(20), pem: rnd(40) };
    const basic = Buffer.from(`deploy:${s.basic}`).toString('base64');
    const pem = Buffer.from(`-----BEGIN OPENSSH PRIVATE KEY-----\n${s.pem}\n-----END OPENSSH PRIVATE KEY-----\n`).toString('base64');
    const e = {
      ...w.env,
      AUTHORIZATION: `Basic ${basic}`,
      PG_CONNINFO: `host=db port=5432 user=app password=${s.pg} dbname=app`,
      BUNDLE_GEMS__CONTRIBSYS__COM: `cafebabe:${s.bundle}`,
      SIGNING_KEY_B64: pem,
      BENIGN: 'kept-as-is',
    };
    const r = jail(w, ['-v', '--', 'env'], { env: e });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('BENIGN=kept-as-is');
    for (const v of [...Object.values(s), basic, pem]) expect(printed(r)).not.toContain(v);
    const control = jail(w, ['--env-all', '--', 'env'], { env: e });
    for (const v of [s.pg, s.bundle, basic, pem]) expect(control.stdout).toContain(v);
  });

  it.skipIf(!hasGit)('git in the jail sees no auth header from git -c', () => {
    const argv = ['--', 'git', 'config', '--get-all', 'http.extraheader'];
    const r = jail(w, argv, { env: env() });
    expect(printed(r)).not.toContain(secrets.gitParams);
    expect(printed(r)).not.toContain(secrets.gitValue);
    const control = jail(w, ['--env-all', ...argv], { env: env() });
    expect(control.stdout).toContain(secrets.gitParams);
    expect(control.stdout).toContain(secrets.gitValue);
  });

  it('NODE_OPTIONS in the quoted form npm writes does not make node load code', () => {
    const marker = `PRELOADED-${rnd(12)}`;
    // Printed only by the jailed node: the jail's own node (bin/jail.cjs) reads
    // NODE_OPTIONS too, before any jail exists (see the report on issue 8, B5).
    fs.writeFileSync(path.join(w.proj, 'preload.cjs'), `if (!process.argv[1]) console.log(${JSON.stringify(marker)})\n`);
    // .npmrc: node-options="--require" ./preload.cjs → npm sets exactly this
    const nodeEnv = { ...w.env, NODE_OPTIONS: '"--require" ./preload.cjs' };
    const argv = ['--', NODE, '-e', 'console.log("ran")'];
    const r = jail(w, argv, { env: nodeEnv });
    expect(r.stdout).toContain('ran');
    expect(printed(r)).not.toContain(marker);
    const control = jail(w, ['--env', 'NODE_OPTIONS', ...argv], { env: nodeEnv });
    expect(control.stdout).toContain(marker);
  });
});

strictJail.describe('the config copies (E2)', () => {
  const secrets = { fury: rnd(20), query: rnd(20), alias: 'ghp_' + rnd(36), cloudsmith: rnd(16), header: rnd(24) };
  beforeAll(() => {
    fs.appendFileSync(
      path.join(w.home, '.npmrc'),
      `@corp:registry=https://npm.fury.io/${secrets.fury}/corp/\nregistry=https://r.example/npm/?token=${secrets.query}\n`,
    );
    fs.writeFileSync(
      path.join(w.home, '.gitconfig'),
      `[user]\n\tname = Jane\n[alias]\n\tpr = "!gh pr create --token ${secrets.alias}"\n` +
        `\tapi = !curl -H 'Authorization: token ${secrets.header}' https://api.github.com\n` +
        `[url "https://dl.cloudsmith.io/${secrets.cloudsmith}/org/"]\n\tinsteadOf = https://mirror.example/\n`,
    );
  });

  it('keeps the registry host with the token REDACTED, and drops aliases with tokens', () => {
    const r = jail(w, ['-v', '--', 'sh', '-c', 'cat "$NPM_CONFIG_USERCONFIG" "$GIT_CONFIG_GLOBAL"']);
    expect(r.status).toBe(0);
    for (const s of [...Object.values(secrets), w.secrets.npmrc]) expect(printed(r)).not.toContain(s);
    expect(r.stdout).toContain('@corp:registry=https://npm.fury.io/REDACTED/corp/');
    expect(r.stdout).toContain('?token=REDACTED');
    expect(r.stdout).toContain('name = Jane');
    expect(r.stdout).not.toContain('[alias]');
    const control = jail(w, ['--ro', path.join(w.home, '.npmrc'), '--ro', path.join(w.home, '.gitconfig'), '--', 'cat', path.join(w.home, '.npmrc'), path.join(w.home, '.gitconfig')]);
    for (const s of Object.values(secrets)) expect(control.stdout).toContain(s);
  });

  it.skipIf(!hasGit)('git in the jail has no alias with a token and no token rewrite', () => {
    const r = jail(w, ['--', 'git', 'config', '--global', '--list']);
    expect(r.stdout).toContain('user.name=Jane');
    for (const s of Object.values(secrets)) expect(printed(r)).not.toContain(s);
  });
});

strictJail.describe('a relative file path in your git or npm config names a file in the project, never a grant (audit4)', () => {
  // `blame.ignoreRevsFile = .git-blame-ignore-revs` in ~/.gitconfig is git's
  // relative path, read in whatever repository git runs in. A hostile
  // project commits that name as a symlink to your key: jail must not
  // resolve it from its working directory and grant, or copy, the target.
  let v: World;
  beforeAll(() => {
    v = makeWorld('relpaths');
    fs.writeFileSync(path.join(v.proj, 'package.json'), '{}');
    fs.writeFileSync(path.join(v.home, 'revs'), 'ABSOLUTE-OK\n');
    fs.writeFileSync(
      path.join(v.home, '.gitconfig'),
      '[user]\n\tname = Jane\n[blame]\n\tignoreRevsFile = .git-blame-ignore-revs\n[core]\n\texcludesFile = .myignore\n[mailmap]\n\tfile = ~/revs\n',
    );
    fs.appendFileSync(path.join(v.home, '.npmrc'), 'cafile=ca.pem\n');
    fs.symlinkSync(path.join(v.home, '.ssh', 'id_ed25519'), path.join(v.proj, '.git-blame-ignore-revs'));
    fs.symlinkSync(path.join(v.home, '.aws', 'credentials'), path.join(v.proj, '.myignore'));
    fs.symlinkSync(path.join(v.home, '.ssh', 'id_ed25519'), path.join(v.proj, 'ca.pem'));
  });
  afterAll(() => removeWorld(v));

  it('the symlinked targets stay unreadable, and no copy holds them', () => {
    const r = jail(v, ['--', 'sh', '-c', `cat ${v.home}/.ssh/id_ed25519 ${v.home}/.aws/credentials; cat "$TMPDIR"/*; cat ${v.home}/revs`]);
    expect(printed(r)).not.toContain(v.secrets.ssh);
    expect(printed(r)).not.toContain(v.secrets.aws);
    // The control: an absolute path there is still granted.
    expect(r.stdout).toContain('ABSOLUTE-OK');
  });

  it('a relative $NPM_CONFIG_USERCONFIG or $GIT_CONFIG_GLOBAL names the project’s file, which grants nothing (cache=~/.ssh) and is not copied', () => {
    const secret = `GC-SECRET-${Date.now()}`;
    fs.writeFileSync(path.join(v.home, 'other2.ini'), `[core]\n\tnote = ${secret}\n`);
    fs.writeFileSync(path.join(v.proj, '.npmrc-rel'), `cache=${v.home}/.ssh\ncafile=${v.home}/.aws/credentials\n`);
    fs.symlinkSync(path.join(v.home, 'other2.ini'), path.join(v.proj, '.gc'));
    const r = jail(v, ['--', 'sh', '-c', `cat ${v.home}/.ssh/id_ed25519 ${v.home}/.aws/credentials "$TMPDIR"/*; echo RAN`], {
      env: { ...v.env, NPM_CONFIG_USERCONFIG: '.npmrc-rel', GIT_CONFIG_GLOBAL: '.gc' },
    });
    expect(r.stdout).toContain('RAN');
    for (const s of [v.secrets.ssh, v.secrets.aws, secret]) expect(printed(r)).not.toContain(s);
  });

  it('a config file in the project, named by an absolute $NPM_CONFIG_USERCONFIG or $GIT_CONFIG_GLOBAL (as CI does), is the project’s: what it names is no grant', () => {
    const dir = path.join(v.proj, 'ci');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'npmrc'), `cache=${v.home}/.ssh\ncafile=${v.home}/.ssh/id_ed25519\n`);
    fs.writeFileSync(path.join(dir, 'gitconfig'), `[user]\n\tname = CI\n[blame]\n\tignoreRevsFile = ${v.home}/.aws/credentials\n[core]\n\texcludesFile = ${v.home}/.ssh/id_ed25519\n`);
    const r = jail(v, ['--', 'sh', '-c', `cat ${v.home}/.ssh/id_ed25519 ${v.home}/.aws/credentials "$TMPDIR"/*; echo RAN`], {
      env: { ...v.env, NPM_CONFIG_USERCONFIG: path.join(dir, 'npmrc'), GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig') },
    });
    expect(r.stdout).toContain('RAN');
    expect(r.stdout).toContain('name = CI');
    for (const s of [v.secrets.ssh, v.secrets.aws]) expect(printed(r)).not.toContain(s);
  });

  it('a relative $XDG_CONFIG_HOME (invalid: the spec says to ignore it) does not make jail copy a project symlink’s target', () => {
    const secret = `XDG-SECRET-${Date.now()}`;
    fs.writeFileSync(path.join(v.home, 'other.ini'), `[core]\n\tnote = ${secret}\n`);
    fs.mkdirSync(path.join(v.proj, 'xdg', 'git'), { recursive: true });
    fs.symlinkSync(path.join(v.home, 'other.ini'), path.join(v.proj, 'xdg', 'git', 'config'));
    const r = jail(v, ['--', 'sh', '-c', 'cat "$TMPDIR"/*'], { env: { ...v.env, XDG_CONFIG_HOME: 'xdg' } });
    expect(r.stdout).toContain('name = Jane');
    expect(printed(r)).not.toContain(secret);
  });
});

describe('npm’s ini is loaded only to sanitise an .npmrc (issue 9)', () => {
  it('the library does not load it at require time', () => {
    const script = `
      const loaded = () => Object.keys(require.cache).some((p) => p.includes('/node_modules/ini/'));
      const uc = require(${JSON.stringify(path.join(REPO, 'dist', 'tmpdir', 'userconfig.js'))});
      const before = loaded();
      uc.sanitizeGitconfig('[user]\\n\\tname = J\\n');
      const afterGit = loaded();
      uc.sanitizeNpmrc('fund=false\\n');
      console.log(JSON.stringify([before, afterGit, loaded()]));`;
    expect(JSON.parse(execFileSync(NODE, ['-e', script], { encoding: 'utf8' }))).toEqual([false, false, true]);
  });
});

describe.skipIf(!hasGit)('the project’s .git/config (E3)', () => {
  it('gitConfigSecrets names, never shows, what a CI checkout writes with real git', () => {
    const repo = path.join(w.root, 'ci-checkout');
    const header = rnd(24);
    const token = rnd(20);
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
    fs.mkdirSync(repo);
    git('init', '-q');
    git('remote', 'add', 'origin', `https://gitlab-ci-token:${token}@gitlab.example/acme/app.git`);
    git('config', '--local', 'http.https://github.com/.extraheader', `AUTHORIZATION: basic ${header}`);
    const found = gitConfigSecrets(fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8'));
    expect(found).toEqual(['remote.origin.url', 'http.https://github.com/.extraheader']);
    expect(found.join(' ')).not.toContain(header);
    expect(found.join(' ')).not.toContain(token);
    // The names are the ones git's own --unset takes.
    git('config', '--local', '--unset', 'http.https://github.com/.extraheader');
    expect(gitConfigSecrets(fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8'))).toEqual(['remote.origin.url']);
  });
});

strictJail.describe.skipIf(!hasGit)('a CI checkout’s credentials in .git/config (E3)', () => {
  it('jail warns, naming the setting and never the value, before the command runs', () => {
    const repo = path.join(w.root, 'ci-warn');
    fs.mkdirSync(repo, { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('git', ['-C', repo, 'config', 'http.https://github.com/.extraheader', `AUTHORIZATION: basic ${w.secrets.npmrc}`]);
    fs.writeFileSync(path.join(repo, 'package.json'), '{}');
    const r = jail(w, ['--ro', '.', '--', 'true'], { cwd: repo });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: .*\.git\/config holds credentials the jailed command can read: http\.https:\/\/github\.com\/\.extraheader/);
    expect(r.stderr).not.toContain(w.secrets.npmrc);
    const clean = path.join(w.root, 'clean-repo');
    execFileSync('git', ['init', '-q', clean]);
    expect(jail(w, ['--ro', '.', '--', 'true'], { cwd: clean }).stderr).toBe('');
  });
});
