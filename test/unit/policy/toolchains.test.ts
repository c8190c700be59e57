import { describe, expect, it } from 'vitest';
import type { Host } from '../../../src/policy/host.js';
import { isWithin } from '../../../src/policy/paths.js';
import { HOME_SECRETS, toolchainGrants } from '../../../src/policy/toolchains.js';
import { fakeHost, type Node } from '../fakehost.js';

const x = (file = 'ELF') => ({ file, x: true });

/** A home as on the machines from the issue: pyenv with plugins, rustup,
 *  nvm, pipx, ~/bin and ~/go/bin, and the secrets that sit next to them. */
const HOME: Record<string, Node> = {
  // pyenv: a git checkout; the shims run libexec/pyenv
  '/home/u/.pyenv/.git/config': '[remote "origin"]',
  '/home/u/.pyenv/libexec/pyenv': x('#!/usr/bin/env bash'),
  '/home/u/.pyenv/libexec/pyenv-exec': x('#!/usr/bin/env bash'),
  '/home/u/.pyenv/bin/pyenv': { link: '../libexec/pyenv' },
  '/home/u/.pyenv/shims/python3': x('#!/usr/bin/env bash'),
  '/home/u/.pyenv/pyenv.d/exec/pip-rehash.bash': 'x',
  '/home/u/.pyenv/plugins/pyenv-virtualenv/shims/activate': x('#!/usr/bin/env bash'),
  '/home/u/.pyenv/plugins/pyenv-virtualenv/etc/pyenv.d/which/conda.bash': 'x',
  '/home/u/.pyenv/versions/3.11.7/bin/python3.11': x(),
  '/home/u/.pyenv/versions/3.11.7/lib/python3.11/os.py': 'x',
  '/home/u/.pyenv/version': '3.11.7\n',
  // rustup: proxies in ~/.cargo/bin; ~/.cargo also holds credentials
  '/home/u/.cargo/bin/rustup': x(),
  '/home/u/.cargo/bin/cargo': { link: 'rustup' },
  '/home/u/.cargo/bin/rg': x(),
  '/home/u/.cargo/credentials.toml': '[registry]\ntoken = "FAKE"',
  '/home/u/.cargo/registry/index/x': 'x',
  '/home/u/.rustup/settings.toml': 'default_toolchain = "stable"',
  '/home/u/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc': x(),
  '/home/u/.rustup/toolchains/dev': { link: '/home/u/src/rust/build/stage1' },
  '/home/u/src/rust/build/stage1/bin/rustc': x(),
  '/home/u/.rustup/downloads/partial': 'x',
  // nvm
  '/home/u/.nvm/versions/node/v20.1.0/bin/node': x(),
  '/home/u/.nvm/versions/node/v20.1.0/lib/node_modules/npm/package.json': '{}',
  '/home/u/.nvm/alias/default': 'v20',
  // pipx: ~/.local/bin links into venvs made from a pyenv python
  '/home/u/.local/bin/black': { link: '/home/u/.local/share/pipx/venvs/black/bin/black' },
  '/home/u/.local/bin/mytool': { link: '/home/u/src/mytool/mytool.sh' },
  '/home/u/.local/bin/plain': x(),
  '/home/u/.local/share/pipx/venvs/black/bin/black': x('#!/home/u/.local/share/pipx/venvs/black/bin/python'),
  '/home/u/.local/share/pipx/venvs/black/bin/python': { link: '/home/u/.pyenv/versions/3.11.7/bin/python3.11' },
  '/home/u/.local/share/pipx/venvs/black/lib/python3.11/site-packages/black.py': 'x',
  '/home/u/.local/share/pipx/venvs/black/pyvenv.cfg': 'home = /home/u/.pyenv/versions/3.11.7/bin',
  '/home/u/.local/share/keyrings/login.keyring': 'FAKE',
  '/home/u/.local/lib/python3.11/site-packages/x.py': 'x',
  '/home/u/src/mytool/mytool.sh': x('#!/bin/sh'),
  '/home/u/src/mytool/.env': 'FAKE',
  // plain bin directories
  '/home/u/bin/tool': x('#!/bin/sh'),
  '/home/u/go/bin/gopls': x(),
  '/home/u/go/pkg/mod/x': 'x',
  // secrets
  '/home/u/.ssh/id_ed25519': 'FAKE',
  '/home/u/.aws/credentials': 'FAKE',
  '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=FAKE',
  '/home/u/.config/gh/hosts.yml': 'FAKE',
  '/home/u/.docker/config.json': 'FAKE',
  '/home/u/.gnupg/private-keys-v1.d/x.key': 'FAKE',
  '/home/u/.netrc': 'FAKE',
  '/home/u/.git-credentials': 'FAKE',
  '/home/u/.gitconfig': '[user]',
  // the system
  '/usr/bin/python3': x(),
  '/usr/bin/env': x(),
};

const PATH = [
  '/home/u/.cargo/bin',
  '/home/u/.cargo/bin', // twice, as on the machine from the issue
  '/home/u/.pyenv/plugins/pyenv-virtualenv/shims',
  '/home/u/.pyenv/shims',
  '/home/u/.pyenv/bin',
  '/home/u/.nvm/versions/node/v20.1.0/bin',
  '/home/u/.local/bin',
  '/home/u/bin',
  '/home/u/go/bin',
  '/home/u/missing/bin',
  '/usr/bin',
  'relative/bin',
  '',
].join(':');

const grantsOf = (tree: Record<string, Node>, over: Partial<Host>) => toolchainGrants(fakeHost(tree, over));

describe('PATH entries a dependency or a jailed run can write (issue 8 B3)', () => {
  const planted: Record<string, Node> = {
    ...HOME,
    '/home/u/.claude/.credentials.json': 'FAKE-CLAUDE',
    '/home/u/work/other/.env': 'FAKE-OTHER',
    '/home/u/work/proj/package.json': '{}',
    // a dependency made its bin a link to a credentials file, and another
    // made node_modules/.bin itself a link to the user's other projects
    '/home/u/work/proj/node_modules/.bin/evil': { link: '/home/u/.claude/.credentials.json' },
    '/home/u/work/proj/node_modules/evil2/node_modules/.bin': { link: '/home/u/work' },
    // a project bin directory on PATH (direnv's PATH_add bin)
    '/home/u/work/proj/bin/tool': { link: '/home/u/.claude/.credentials.json' },
    // ~/bin links straight to a credentials file
    '/home/u/bin/creds': { link: '/home/u/.claude/.credentials.json' },
  };
  const path = [
    '/home/u/work/proj/node_modules/.bin',
    '/home/u/work/proj/node_modules/evil2/node_modules/.bin',
    '/home/u/work/proj/bin',
    '/home/u/bin',
    '/usr/bin',
  ].join(':');
  const grants = toolchainGrants(fakeHost(planted, { path, cwd: '/home/u/work/proj' }), '/home/u/work/proj');
  it('skips node_modules and the project, and follows no link to a plain file', () => {
    expect(grants.map((g) => g.path)).toEqual(['/home/u/bin']);
  });
  it('the control: without the project rule, the project bin directory is a plain bin directory', () => {
    const open = toolchainGrants(fakeHost(planted, { path: '/home/u/work/proj/bin' }));
    expect(open.map((g) => g.path)).toEqual(['/home/u/work/proj/bin']);
  });
});

describe('toolchains on PATH', () => {
  const grants = grantsOf(HOME, { path: PATH });
  const paths = grants.map((g) => g.path);

  it('grants each toolchain what it runs from, read-only, once', () => {
    expect(paths).toEqual([
      // rustup: the proxies, their settings and toolchains (a linked one too)
      '/home/u/.cargo/bin',
      '/home/u/.rustup/settings.toml',
      '/home/u/.rustup/toolchains',
      '/home/u/src/rust/build/stage1',
      // pyenv: the parts the shim runs, not the checkout
      '/home/u/.pyenv/bin',
      '/home/u/.pyenv/libexec',
      '/home/u/.pyenv/shims',
      '/home/u/.pyenv/plugins',
      '/home/u/.pyenv/pyenv.d',
      '/home/u/.pyenv/versions',
      '/home/u/.pyenv/version',
      // nvm: the version's prefix
      '/home/u/.nvm/versions/node/v20.1.0',
      // ~/.local/bin and the pipx venv its link points into; not a linked
      // plain file (a link may as well point at a credentials file)
      '/home/u/.local/bin',
      '/home/u/.local/share/pipx/venvs/black',
      // plain bin directories
      '/home/u/bin',
      '/home/u/go/bin',
    ]);
    expect(new Set(grants.map((g) => g.access))).toEqual(new Set(['ro']));
    expect(grants.find((g) => g.path === '/home/u/.pyenv/version')?.isDir).toBe(false);
    expect(grants.find((g) => g.path === '/home/u/.pyenv/versions')?.isDir).toBe(true);
  });

  it('says which PATH entry each grant is for', () => {
    const what = (p: string) => grants.find((g) => g.path === p)?.source;
    expect(what('/home/u/.pyenv/libexec')).toEqual({ kind: 'base', what: 'toolchain on PATH: /home/u/.pyenv/plugins/pyenv-virtualenv/shims' });
    expect(what('/home/u/.rustup/toolchains')).toEqual({ kind: 'base', what: 'toolchain on PATH: /home/u/.cargo/bin' });
    expect(what('/home/u/.local/share/pipx/venvs/black')).toEqual({ kind: 'base', what: 'toolchain on PATH: /home/u/.local/bin' });
  });

  it('never covers $HOME, a secret, or a directory that holds one', () => {
    const secrets = Object.entries(HOME).filter(([, n]) => JSON.stringify(n).includes('FAKE')).map(([p]) => p);
    expect(secrets.length).toBeGreaterThan(10);
    for (const p of secrets) expect(grants.filter((g) => isWithin(p, g.path)).map((g) => g.path), p).toEqual([]);
    for (const dir of ['/home/u', '/home', '/', '/home/u/.cargo', '/home/u/.local', '/home/u/.config', '/home/u/.pyenv', '/home/u/.nvm', '/home/u/src/mytool']) {
      expect(paths, dir).not.toContain(dir);
    }
  });

  it('finds pyenv from any one of its PATH entries', () => {
    for (const entry of ['/home/u/.pyenv/shims', '/home/u/.pyenv/bin', '/home/u/.pyenv/plugins/pyenv-virtualenv/shims']) {
      expect(grantsOf(HOME, { path: entry }).map((g) => g.path)).toContain('/home/u/.pyenv/libexec');
    }
  });

  it('gives a cargo bin without rustup that directory only', () => {
    const tree = Object.fromEntries(Object.entries(HOME).filter(([p]) => !/\/\.cargo\/bin\/(rustup|cargo)$/.test(p)));
    expect(grantsOf(tree, { path: '/home/u/.cargo/bin' }).map((g) => g.path)).toEqual(['/home/u/.cargo/bin']);
  });

  it('gives a venv on PATH its prefix and the python it was made from', () => {
    expect(grantsOf(HOME, { path: '/home/u/.local/share/pipx/venvs/black/bin' }).map((g) => g.path)).toEqual([
      '/home/u/.local/share/pipx/venvs/black',
      '/home/u/.pyenv/versions/3.11.7',
    ]);
  });

  it('gives a conda prefix whole, and a bin with lib/ straight under $HOME only the bin', () => {
    const tree: Record<string, Node> = {
      '/home/u/miniconda3/bin/python': x(),
      '/home/u/miniconda3/lib/libpython3.so': 'x',
      '/home/u/miniconda3/conda-meta/history': 'x',
      '/home/u/.local/bin/x': x(),
      '/home/u/.local/lib/python3.11/x.py': 'x',
      '/home/u/.local/share/keyrings/login.keyring': 'FAKE',
    };
    expect(grantsOf(tree, { path: '/home/u/miniconda3/bin:/home/u/.local/bin' }).map((g) => g.path)).toEqual(['/home/u/miniconda3', '/home/u/.local/bin']);
  });

  it('resolves a PATH entry that is a link, and skips one that leads out of $HOME', () => {
    const tree = { ...HOME, '/home/u/tools': { link: '/home/u/go/bin' }, '/home/u/sys': { link: '/usr/bin' } };
    expect(grantsOf(tree, { path: '/home/u/tools:/home/u/sys' }).map((g) => g.path)).toEqual(['/home/u/go/bin']);
  });

  it('skips PATH entries outside $HOME, missing ones and relative ones', () => {
    expect(grantsOf(HOME, { path: '/usr/bin:/home/u/missing:relative:.:' })).toEqual([]);
  });
});

describe('PATH entries that would expose secrets', () => {
  /** Every secret the jail hides, as a file in a fake home. */
  const secrets: Record<string, Node> = Object.fromEntries(HOME_SECRETS.map((s) => [`/home/u/${s}/FAKE`, 'FAKE']));
  const tree: Record<string, Node> = {
    ...secrets,
    '/home/u/.cargo/bin/rustup': x(),
    '/home/u/.local/lib/python3.11/x.py': 'x',
    // links a user might have, or an attacker might hope for
    '/home/u/bin/to-home': { link: '/home/u' },
    '/home/u/bin/to-ssh': { link: '/home/u/.ssh' },
    '/home/u/bin/to-key': { link: '/home/u/.ssh/FAKE' },
    '/home/u/bin/to-npmrc': { link: '/home/u/.npmrc/FAKE' },
    '/home/u/bin/to-root': { link: '/' },
    '/home/u/bin/to-config': { link: '/home/u/.config' },
    '/home/u/homelink': { link: '/home/u' },
    '/home/u/.config/bin/x': x(),
    '/home/u/.config/composer/vendor/bin/phpunit': x(),
    '/home/u/.ssh/bin/x': x(),
    '/home/u/.aws/bin/x': x(),
    '/home/u/.docker/cli-plugins/bin/x': x(),
    '/home/u/.gnupg/bin/x': x(),
  };
  const path = [
    '/home/u',
    '/home/u/',
    '/home',
    '/',
    '/home/u/homelink',
    '/home/u/.ssh',
    '/home/u/.ssh/bin',
    '/home/u/.aws/bin',
    '/home/u/.config',
    '/home/u/.config/bin',
    '/home/u/.config/composer/vendor/bin',
    '/home/u/.cargo',
    '/home/u/.cargo/bin',
    '/home/u/.local',
    '/home/u/.local/bin/..',
    '/home/u/.docker/cli-plugins/bin',
    '/home/u/.gnupg/bin',
    '/home/u/bin',
  ].join(':');
  const grants = toolchainGrants(fakeHost(tree, { path }));

  it('grants nothing that covers or lies in a secret, $HOME or above', () => {
    for (const secret of [...Object.keys(secrets), ...HOME_SECRETS.map((s) => `/home/u/${s}`)]) {
      expect(grants.filter((g) => isWithin(secret, g.path) || isWithin(g.path, secret)).map((g) => g.path), secret).toEqual([]);
    }
    expect(grants.filter((g) => isWithin('/home/u', g.path))).toEqual([]);
  });

  it('still grants the harmless ones', () => {
    expect(grants.map((g) => g.path)).toEqual(['/home/u/.config/bin', '/home/u/.config/composer/vendor/bin', '/home/u/.cargo/bin', '/home/u/bin']);
  });
});

describe('cost', () => {
  it('is a few calls per PATH entry, and one readdir per plain bin directory', () => {
    const calls = { realpath: 0, stat: 0, readdir: 0, readHead: 0 };
    const host = fakeHost(HOME, { path: PATH });
    const counted: Host = {
      ...host,
      realpath: (p) => (calls.realpath++, host.realpath(p)),
      stat: (p, l) => (calls.stat++, host.stat(p, l)),
      readdir: (p) => (calls.readdir++, host.readdir(p)),
      readHead: (p, n) => (calls.readHead++, host.readHead(p, n)),
    };
    toolchainGrants(counted);
    const entries = PATH.split(':').length;
    expect(calls.readHead).toBe(0);
    expect(calls.readdir).toBe(4); // rustup toolchains, ~/.local/bin, ~/bin, ~/go/bin
    expect(calls.realpath + calls.stat).toBeLessThan(entries * 10);
  });
});
