import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sanitizeGitconfig, sanitizeNpmrc } from '../../../src/policy/userconfig.js';
import { toolchainGrants } from '../../../src/policy/toolchains.js';
import { isWithin } from '../../../src/policy/paths.js';
import { fakeHost } from '../fakehost.js';

const NPMRC = `; my npmrc
registry=https://registry.example.com/
@corp:registry=https://npm.corp.example/
//registry.npmjs.org/:_authToken=npm_FAKE123
//npm.corp.example/:_auth = dXNlcjpwYXNz
//npm.corp.example/:username=me
//npm.corp.example/:_password=cGFzcw==
email=me@example.com
nodedir=/usr
cafile=/etc/ssl/corp.pem
strict-ssl=true
proxy=http://proxyuser:proxypass@proxy:3128
https-proxy=http://proxy:3128
@evil:registry=https://x:tok@evil.example/
python=/usr/bin/python3
`;

describe('sanitizeNpmrc', () => {
  const { text, dropped } = sanitizeNpmrc(NPMRC);
  it('keeps registry, scoped registries without credentials, nodedir, cafile, proxy without a password', () => {
    for (const k of ['registry=https://registry.example.com/', '@corp:registry=', 'nodedir=/usr', 'cafile=', 'strict-ssl=true', 'https-proxy=http://proxy:3128', 'python=']) expect(text).toContain(k);
  });
  it('drops tokens, passwords, usernames and URLs with credentials, naming only the keys', () => {
    for (const s of ['npm_FAKE123', 'dXNlcjpwYXNz', 'cGFzcw==', 'proxypass', 'x:tok', 'me@example.com']) expect(text).not.toContain(s);
    expect(dropped).toEqual(['//registry.npmjs.org/:_authToken', '//npm.corp.example/:_auth', '//npm.corp.example/:username', '//npm.corp.example/:_password', 'email', 'proxy', '@evil:registry']);
    expect(dropped.join()).not.toContain('FAKE');
  });
  it('is read by npm as intended', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npmrc-')), 'npmrc');
    fs.writeFileSync(f, text);
    const get = (k: string) => execFileSync('npm', ['config', 'get', k, '--userconfig', f], { encoding: 'utf8', env: { ...process.env, npm_config_registry: '' } }).trim();
    expect(get('nodedir')).toBe('/usr');
    expect(get('@corp:registry')).toBe('https://npm.corp.example/');
    fs.rmSync(path.dirname(f), { recursive: true });
  });
});

const GITCONFIG = `[user]
	name = Jane Dev
	email = jane@example.com
	signingkey = ABCDEF
[commit]
	gpgsign = true
[core]
	editor = vim
[credential]
	helper = store
[credential "https://github.com"]
	username = jane
[http]
	extraheader = AUTHORIZATION: basic c2VjcmV0
[url "https://x-access-token:ghp_FAKE@github.com/"]
	insteadOf = https://github.com/
[url "git@github.com:"]
	pushInsteadOf = https://github.com/
[remote "origin"]
	url = https://jane:hunter2@example.com/repo.git
[include]
	path = ~/.gitconfig.local
[includeIf "gitdir:~/work/"]
	path = ~/.gitconfig-work
[alias]
	co = checkout
`;

describe('sanitizeGitconfig', () => {
  const { text, dropped } = sanitizeGitconfig(GITCONFIG);
  it('keeps name, email, core, aliases and plain URL rewrites', () => {
    for (const k of ['name = Jane Dev', 'email = jane@example.com', 'editor = vim', 'co = checkout', '[url "git@github.com:"]']) expect(text).toContain(k);
  });
  it('drops credential helpers, auth headers, token URLs, signing and includes', () => {
    for (const s of ['store', 'c2VjcmV0', 'ghp_FAKE', 'hunter2', 'ABCDEF', 'gpgsign', '.gitconfig.local', 'gitconfig-work']) expect(text).not.toContain(s);
    expect(dropped.join(' ')).not.toMatch(/ghp_FAKE|hunter2|c2VjcmV0/);
  });
  it('is read by git as intended', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gitcfg-')), 'config');
    fs.writeFileSync(f, text);
    const list = execFileSync('git', ['config', '--file', f, '--list'], { encoding: 'utf8' });
    expect(list).toContain('user.name=Jane Dev');
    expect(list).toContain('user.email=jane@example.com');
    expect(list).not.toMatch(/credential|extraheader|include/);
    fs.rmSync(path.dirname(f), { recursive: true });
  });
});

describe('toolchainGrants', () => {
  const home = {
    '/home/u/.pyenv/libexec/pyenv': { file: '#!/bin/bash', x: true },
    '/home/u/.pyenv/shims/python3': { file: '#!/usr/bin/env bash', x: true },
    '/home/u/.pyenv/bin/pyenv': { link: '../libexec/pyenv' },
    '/home/u/.pyenv/plugins/pyenv-virtualenv/shims/x': 'x',
    '/home/u/.pyenv/versions/3.11.7/bin/python3': { file: 'ELF', x: true },
    '/home/u/.pyenv/version': '3.11.7',
    '/home/u/.cargo/bin/rustc': { file: 'ELF', x: true },
    '/home/u/.cargo/credentials.toml': 'token = "x"',
    '/home/u/.rustup/toolchains/stable/bin/rustc': { file: 'ELF', x: true },
    '/home/u/.rustup/settings.toml': 'x',
    '/home/u/.nvm/versions/node/v20.1.0/bin/node': { file: 'ELF', x: true },
    '/home/u/.nvm/alias/default': 'x',
    '/home/u/bin/tool': { file: 'x', x: true },
    '/home/u/.ssh/id_rsa': 'KEY',
    '/home/u/.aws/credentials': 'x',
    '/home/u/.npmrc': 'x',
    '/home/u/.config/gh/hosts.yml': 'x',
    '/usr/bin/python3': { file: 'ELF', x: true },
  };
  const host = fakeHost(home, {
    path: '/home/u/.cargo/bin:/home/u/.pyenv/plugins/pyenv-virtualenv/shims:/home/u/.pyenv/shims:/home/u/.pyenv/bin:/home/u/.nvm/versions/node/v20.1.0/bin:/home/u/bin:/home/u:/usr/bin:relative',
  });
  const grants = toolchainGrants(host).map((g) => g.path);
  it('grants what each toolchain runs from', () => {
    expect(grants).toEqual([
      '/home/u/.cargo/bin',
      '/home/u/.rustup/toolchains',
      '/home/u/.rustup/settings.toml',
      '/home/u/.pyenv/bin',
      '/home/u/.pyenv/libexec',
      '/home/u/.pyenv/shims',
      '/home/u/.pyenv/plugins',
      '/home/u/.pyenv/versions',
      '/home/u/.pyenv/version',
      '/home/u/.nvm/versions/node/v20.1.0',
      '/home/u/bin',
    ]);
  });
  it('never covers $HOME, a credentials file or a config directory', () => {
    for (const secret of ['/home/u', '/home/u/.cargo/credentials.toml', '/home/u/.ssh/id_rsa', '/home/u/.aws/credentials', '/home/u/.npmrc', '/home/u/.config/gh/hosts.yml', '/home/u/.nvm/alias/default']) {
      expect(grants.filter((g) => isWithin(secret, g))).toEqual([]);
    }
  });
});
