import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitConfigSecrets, sanitizeGitconfig, sanitizeNpmrc, stripUrlCredentials } from '../../../src/tmpdir/userconfig.js';

// Fake secrets only. Every one contains FAKE, so "no FAKE in the output" is
// the test that none leaked.

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'userconfig-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const tmpFile = (text: string) => {
  const f = path.join(scratch, `f${n++}`);
  fs.writeFileSync(f, text);
  return f;
};
const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
/** Fake tokens with the shapes the detector knows, built at run time. */
const FAKE_GHP = 'ghp_FAKE' + '0aB1c2D3e4F5g6H7i8J9kLmNoPqRsTuV';
const FAKE_NPM = 'npm_FAKE' + '0aB1c2D3e4F5g6H7i8J9kLmNoPqRsTuV';
const FAKE_OPAQUE = 'FAKE' + '0aB1c2D3e4F5g6H7i8J9kLmNoPqR'; // 32 letters and digits, both cases

describe('stripUrlCredentials', () => {
  it.each([
    ['https://user:FAKEpw@host/x', 'https://host/x'],
    ['https://ghp_FAKE@github.com/o/r', 'https://github.com/o/r'], // a token as the user name
    ['http://u:pa@ss@proxy:3128', 'http://proxy:3128'], // a raw @ in the password
    ['https://${NPM_USER}:${NPM_PASS}@reg.example/', 'https://reg.example/'],
    ['ssh://git@github.com/o/r', 'ssh://git@github.com/o/r'], // a login, not a secret
    ['ssh://git:FAKEpw@host/r', 'ssh://git@host/r'],
    ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
    ['https://host/pkg@1.0.0', 'https://host/pkg@1.0.0'],
    ['https://host/?mail=a@b', 'https://host/?mail=a@b'],
    ['!git push https://x:FAKE@a.example/r && curl https://FAKE2@b.example/', '!git push https://a.example/r && curl https://b.example/'],
  ])('%s → %s', (given, want) => {
    expect(stripUrlCredentials(given)).toBe(want);
  });
});

describe('sanitizeNpmrc', () => {
  it.each([
    ['//registry.npmjs.org/:_authToken=npm_FAKE1', '//registry.npmjs.org/:_authToken'],
    ['_authToken=npm_FAKE2', '_authToken'],
    ['//npm.corp.example/:_auth = ZmFrZTpGQUtF', '//npm.corp.example/:_auth'],
    ['_auth=FAKEb64', '_auth'],
    ['//npm.corp.example/:_password=FAKEcGFzcw==', '//npm.corp.example/:_password'],
    ['//npm.corp.example/:username=FAKEuser', '//npm.corp.example/:username'],
    ['username=FAKEuser', 'username'],
    ['email=FAKE@example.com', 'email'],
    ['//npm.corp.example/:email=FAKE@example.com', '//npm.corp.example/:email'],
    ['init-author-email=FAKE@example.com', 'init-author-email'],
    ['//npm.corp.example/:certfile=/home/u/FAKE.crt', '//npm.corp.example/:certfile'],
    ['//npm.corp.example/:keyfile=/home/u/FAKE.key', '//npm.corp.example/:keyfile'],
    ['certfile=/home/u/FAKE.crt', 'certfile'],
    ['keyfile=/home/u/FAKE.key', 'keyfile'],
    ['cert="-----BEGIN CERTIFICATE-----\\nFAKE"', 'cert'],
    ['key="-----BEGIN PRIVATE KEY-----\\nFAKE"', 'key'],
    ['otp=123456FAKE', 'otp'],
    ['//npm.corp.example/:tokenHelper=/usr/bin/FAKE-helper', '//npm.corp.example/:tokenHelper'],
    ['"//quoted.example/:_authToken"="npm_FAKE3"', '//quoted.example/:_authToken'],
    ['   //spaced.example/:_authToken   =   npm_FAKE4   ', '//spaced.example/:_authToken'],
    ['//upper.example/:_AUTHTOKEN=npm_FAKE5', '//upper.example/:_AUTHTOKEN'],
    ['//h.example/:_authToken=${NPM_TOKEN_FAKE}', '//h.example/:_authToken'],
    ['_authToken[]=npm_FAKE6', '_authToken'],
    ['github-token=FAKE7', 'github-token'],
    ['my_api_key=FAKE8', 'my_api_key'],
    ['client-secret=FAKE9', 'client-secret'],
    ['sign-git-tag=true', 'sign-git-tag'],
  ])('drops %s', (line, key) => {
    const r = sanitizeNpmrc(`registry=https://r.example/\n${line}\n`);
    expect(r.text).toBe('registry=https://r.example/\n');
    expect(r.dropped).toEqual([key]);
  });

  it.each([
    'registry=https://registry.example.com/',
    '@corp:registry=https://npm.corp.example/',
    'nodedir=/opt/node-headers',
    'cafile=/etc/ssl/corp.pem',
    'ca[]="-----BEGIN CERTIFICATE-----\\nMIIpublic"',
    'strict-ssl=false',
    'proxy=http://proxy.example:3128',
    'https-proxy=http://proxy.example:3128',
    'noproxy=localhost,.corp.example',
    'python=/usr/bin/python3',
    'script-shell=/usr/local/bin/jail-sh',
    'always-auth=true',
    '//npm.corp.example/:always-auth=true',
    'save-exact=true',
    'fund=false',
    'init-author-name=Jane Dev',
    'registry=${MY_REGISTRY}',
    'init-author-name=A\\;B',
    '  registry = https://spaced.example/  ',
  ])('keeps %s verbatim', (line) => {
    const r = sanitizeNpmrc(line + '\n');
    expect(r.text).toBe(line + '\n');
    expect(r.dropped).toEqual([]);
  });

  it.each([
    ['registry=https://u:FAKEpw@reg.example/', 'registry=https://reg.example/', 'registry'],
    ['@corp:registry=https://npm_FAKE@npm.corp.example/', '@corp:registry=https://npm.corp.example/', '@corp:registry'],
    ['proxy=http://proxyuser:FAKEpass@proxy.example:3128', 'proxy=http://proxy.example:3128', 'proxy'],
    ['https-proxy = "http://u:FAKE@proxy.example:3128"', 'https-proxy=http://proxy.example:3128', 'https-proxy'],
    ['registry=https://${NPM_USER}:${NPM_PASS_FAKE}@reg.example/', 'registry=https://reg.example/', 'registry'],
  ])('keeps where %s points, without the credentials', (line, want, key) => {
    const r = sanitizeNpmrc(line + '\n');
    expect(r.text).toBe(want + '\n');
    expect(r.dropped).toEqual([`${key} (credentials in URL)`]);
  });

  it.each([
    ['a comment', '; //old.example/:_authToken=npm_FAKE\n# FAKE too\nfund=false\n', 'fund=false\n', []],
    ['an inline comment', 'registry=https://r.example/ ; //h/:_authToken=npm_FAKE\n', 'registry=https://r.example/\n', []],
    ['a # comment', 'nodedir = /opt/node # FAKE\n', 'nodedir=/opt/node\n', []],
    ['CRLF line ends', 'fund=false\r\n_authToken=npm_FAKE\r\naudit=false\r\n', 'fund=false\naudit=false\n', ['_authToken']],
    ['a bare word (npm reads word=true)', 'fund=false\nnpm_FAKEBARE\n', 'fund=false\n', ["line 2 (no '=')"]],
    ['a [section] and all after it', 'fund=false\n[corp]\n_authToken=npm_FAKE\nregistry=https://r.example/\n', 'fund=false\n', ['[corp]']],
    ['nothing left', '_authToken=npm_FAKE\n', '', ['_authToken']],
    ['an empty file', '', '', []],
  ])('handles %s', (_what, given, want, dropped) => {
    const r = sanitizeNpmrc(given);
    expect(r.text).toBe(want);
    expect(r.dropped).toEqual(dropped);
  });

  it('lists the files npm and node-gyp open, for the caller to grant or copy', () => {
    const r = sanitizeNpmrc('cafile=~/certs/corp.pem\nnodedir = /home/u/.node-gyp/20\nregistry=https://r.example/\n');
    expect(r.files).toEqual([
      { key: 'cafile', path: '~/certs/corp.pem' },
      { key: 'nodedir', path: '/home/u/.node-gyp/20' },
    ]);
  });

  const NPMRC = [
    '; my npmrc, with an old token: //registry.npmjs.org/:_authToken=npm_FAKEOLD',
    'registry=https://registry.example.com/',
    '@corp:registry=https://npm.corp.example/',
    '//registry.npmjs.org/:_authToken=npm_FAKE123',
    '//npm.corp.example/:_auth = ZmFrZTpGQUtF',
    '//npm.corp.example/:always-auth=true',
    'email=FAKE@example.com',
    'nodedir=/opt/node-headers',
    'cafile = "/etc/ssl/corp.pem"',
    'strict-ssl=true',
    'proxy=http://proxyuser:FAKEpass@proxy.example:3128',
    'https-proxy=http://proxy.example:3128',
    'python=/usr/bin/python3 ; for node-gyp',
    'init-author-name=A\\;B',
    'ca[]=first',
    'ca[]=second',
  ].join('\n');

  it.skipIf(!has('npm'))('is parsed by npm’s own ini reader as intended', () => {
    // npm's own copy of `ini`, resolved from npm's package as npm resolves it.
    const npmPkg = path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'package.json');
    const ini = createRequire(npmPkg)('ini') as { decode(s: string): Record<string, unknown> };
    const { text, dropped } = sanitizeNpmrc(NPMRC);
    expect(text).not.toContain('FAKE');
    expect(dropped.join(' ')).not.toContain('FAKE');
    expect({ ...ini.decode(text) }).toEqual({
      registry: 'https://registry.example.com/',
      '@corp:registry': 'https://npm.corp.example/',
      '//npm.corp.example/:always-auth': true,
      nodedir: '/opt/node-headers',
      cafile: '/etc/ssl/corp.pem',
      'strict-ssl': true,
      proxy: 'http://proxy.example:3128',
      'https-proxy': 'http://proxy.example:3128',
      python: '/usr/bin/python3',
      'init-author-name': 'A;B',
      ca: ['first', 'second'],
    });
    // What was kept means what it meant in the original.
    const before = ini.decode(NPMRC);
    for (const [k, v] of Object.entries(ini.decode(text))) if (k !== 'proxy') expect(v).toEqual(before[k]);
  });

  it.skipIf(!has('npm'))('is read by the npm CLI: registry, scoped registry, nodedir, cafile; no token', () => {
    const f = tmpFile(sanitizeNpmrc(NPMRC).text);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
    const get = (...keys: string[]) =>
      execFileSync('npm', ['config', 'get', ...keys, '--userconfig', f], { encoding: 'utf8', env, cwd: scratch }).trim();
    expect(get('registry', '@corp:registry', 'nodedir', 'proxy').split('\n')).toEqual([
      'registry=https://registry.example.com/',
      '@corp:registry=https://npm.corp.example/',
      'nodedir=/opt/node-headers',
      'proxy=http://proxy.example:3128',
    ]);
    expect(get('cafile')).toBe('/etc/ssl/corp.pem');
    const list = execFileSync('npm', ['config', 'list', '--userconfig', f], { encoding: 'utf8', env, cwd: scratch });
    expect(list).toContain('nodedir = "/opt/node-headers"');
    expect(list).not.toMatch(/FAKE|_auth|email/);
  });
});

// ---------------------------------------------------------------------------

const GITCONFIG = `# a comment with ghp_FAKECOMMENT
[user]
	name = "Jane  Dev"   ; an inline comment FAKE
	email = jane@example.com # FAKE
	signingkey = FAKEKEYID
[core]
	editor = vim -f
	pager = less \\
	  -R
	autocrlf
	excludesFile = ~/.gitignore_global
	askPass = /usr/bin/FAKE-askpass
	sshCommand = ssh -i ~/.ssh/id_work
[alias]
	lg = "log --format='%h %s' # not a comment"
	tabbed = "a\\tb"
	pushtok = !git push https://x:ghp_FAKEALIAS@github.com/o/r.git
[commit]
	gpgSign = true
	template = ~/.gitmessage
[gpg]
	program = gpg2
[gpg "ssh"]
	allowedSignersFile = ~/.ssh/allowed_signers
[tag]
	gpgSign = true
[credential]
	helper = store --file ~/.FAKE-credentials
[credential "https://github.com"]
	username = FAKEjane
	helper = !gh auth git-credential
[http]
	extraHeader = AUTHORIZATION: basic FAKEc2VjcmV0
	sslVerify = true
	proxy = http://pu:FAKEpp@proxy.example:3128
[http "https://tok:ghp_FAKEHTTP@example.com/"]
	sslVerify = false
[http "https://example.com/"]
	extraheader = Authorization: Bearer FAKEBEARER
	sslCAInfo = /etc/ssl/corp.pem
[url "https://x-access-token:ghp_FAKE@github.com/"]
	insteadOf = https://github.com/
[url "git@github.com:"]
	pushInsteadOf = https://github.com/
[url "https://github.com/"]
	insteadOf = https://ghp_FAKEVALUE@github.com/
[remote "origin"]
	url = https://jane:FAKEhunter2@example.com/repo.git
	fetch = +refs/heads/*:refs/remotes/origin/*
[include]
	path = ~/.gitconfig.local
[includeIf "gitdir:~/work/"]
	path = ~/.gitconfig-work
[github]
	user = jane
	token = ghp_FAKEGITHUB
[sendemail]
	smtpUser = jane
	smtpPass = FAKESMTP
[safe]
	directory = /srv/repo
[Section.Sub]
	key = old style
[merge "custom"]
	driver = ./merge.sh %O %A %B
[diff] external = difft
[init]
	defaultBranch = main
[transfer]
	credentialsInUrl = die
`;

/** Names git itself gives the settings left out (with the credentials). */
const GIT_DROPPED = new Set([
  'user.signingkey',
  'core.askpass',
  'commit.gpgsign',
  'gpg.program',
  'gpg.ssh.allowedsignersfile',
  'tag.gpgsign',
  'credential.helper',
  'credential.https://github.com.username',
  'credential.https://github.com.helper',
  'http.extraheader',
  'http.https://tok:ghp_FAKEHTTP@example.com/.sslverify',
  'http.https://example.com/.extraheader',
  'url.https://x-access-token:ghp_FAKE@github.com/.insteadof',
  'url.https://github.com/.insteadof',
  'include.path',
  'includeif.gitdir:~/work/.path',
  'github.token',
  'sendemail.smtppass',
]);

/** `git config --list -z` as [name, value] pairs (value null: a bare key). */
function gitList(file: string, ...extra: string[]): Array<[string, string | null]> {
  const out = execFileSync('git', ['config', '--file', file, '--list', '-z', ...extra], { encoding: 'utf8' });
  return out
    .split('\0')
    .filter(Boolean)
    .map((e) => {
      const nl = e.indexOf('\n');
      return nl < 0 ? [e, null] : [e.slice(0, nl), e.slice(nl + 1)];
    });
}

describe('sanitizeGitconfig', () => {
  const { text, dropped, files } = sanitizeGitconfig(GITCONFIG);

  it('leaves no secret in the text or in the names it reports', () => {
    expect(text).not.toContain('FAKE');
    expect(dropped.join('\n')).not.toContain('FAKE');
  });

  it('reports what it left out, by name', () => {
    expect(dropped).toEqual([
      'user.signingkey',
      'core.askpass',
      'alias.pushtok (credentials in URL)',
      'commit.gpgsign',
      'gpg.program',
      'gpg.ssh.allowedsignersfile',
      'tag.gpgsign',
      'credential.helper',
      'credential.https://github.com.username',
      'credential.https://github.com.helper',
      'http.extraheader',
      'http.proxy (credentials in URL)',
      'http.https://***@example.com/.sslverify',
      'http.https://example.com/.extraheader',
      'url.https://***@github.com/.insteadof',
      'url.https://github.com/.insteadof',
      'remote.origin.url (credentials in URL)',
      'include.path',
      'includeif.gitdir:~/work/.path',
      'github.token',
      'sendemail.smtppass',
    ]);
  });

  it('lists the files git opens, for the caller to grant or copy', () => {
    expect(files).toEqual([
      { key: 'core.excludesfile', path: '~/.gitignore_global' },
      { key: 'commit.template', path: '~/.gitmessage' },
      { key: 'http.https://example.com/.sslcainfo', path: '/etc/ssl/corp.pem' },
    ]);
  });

  it.skipIf(!has('git'))('means to git what the original meant, minus what was left out', () => {
    const original = gitList(tmpFile(GITCONFIG), '--no-includes');
    const copy = gitList(tmpFile(text));
    const expected = original
      .filter(([name]) => !GIT_DROPPED.has(name))
      .map(([name, value]): [string, string | null] => [name, value === null ? null : stripUrlCredentials(value)]);
    expect(copy).toEqual(expected);
    // Spot checks of the tricky ones, as git reads them.
    const get = (k: string) => copy.find(([name]) => name === k)?.[1];
    expect(get('user.name')).toBe('Jane  Dev');
    expect(get('user.email')).toBe('jane@example.com');
    expect(get('core.pager')).toMatch(/^less\s{4}-R$/); // git ≤ 2.4x reads the tab as a space
    expect(get('core.autocrlf')).toBeNull();
    expect(get('alias.lg')).toBe("log --format='%h %s' # not a comment");
    expect(get('alias.tabbed')).toBe('a\tb');
    expect(get('alias.pushtok')).toBe('!git push https://github.com/o/r.git');
    expect(get('url.git@github.com:.pushinsteadof')).toBe('https://github.com/');
    expect(get('remote.origin.url')).toBe('https://example.com/repo.git');
    expect(get('http.proxy')).toBe('http://proxy.example:3128');
    expect(get('section.sub.key')).toBe('old style');
    expect(get('diff.external')).toBe('difft');
    expect(get('transfer.credentialsinurl')).toBe('die');
  });

  it.skipIf(!has('git'))('reads CRLF files and a byte-order mark as git does', () => {
    const crlf = '\uFEFF' + GITCONFIG.replace(/\n/g, '\r\n');
    expect(gitList(tmpFile(sanitizeGitconfig(crlf).text))).toEqual(gitList(tmpFile(text)));
  });

  it.each([
    ['include', '[include]\n\tpath = ~/.gitconfig.local\n', 'include.path'],
    ['includeIf', '[includeIf "gitdir:~/work/"]\n\tpath = ~/.work\n', 'includeif.gitdir:~/work/.path'],
    ['a credential helper', '[credential]\n\thelper = cache\n', 'credential.helper'],
    ['a credential username', '[credential "https://h"]\n\tusername = FAKE\n', 'credential.https://h.username'],
    ['an auth header', '[http]\n\textraHeader = Authorization: FAKE\n', 'http.extraheader'],
    ['a per-URL auth header', '[http "https://h/"]\n\textraHeader = Authorization: FAKE\n', 'http.https://h/.extraheader'],
    ['a cookie file', '[http]\n\tcookieFile = ~/.FAKE-cookies\n', 'http.cookiefile'],
    ['a client key', '[http]\n\tsslKey = ~/.FAKE.key\n', 'http.sslkey'],
    ['a client certificate', '[http]\n\tsslCert = ~/.FAKE.crt\n', 'http.sslcert'],
    ['askpass', '[core]\n\taskPass = /usr/bin/FAKE\n', 'core.askpass'],
    ['a token rewrite', '[url "https://oauth2:FAKE@gitlab.com/"]\n\tinsteadOf = https://gitlab.com/\n', 'url.https://***@gitlab.com/.insteadof'],
    ['a rewrite from a token URL', '[url "https://github.com/"]\n\tpushInsteadOf = https://FAKE@github.com/\n', 'url.https://github.com/.pushinsteadof'],
    ['commit signing', '[commit]\n\tgpgSign = true\n', 'commit.gpgsign'],
    ['a signing key', '[user]\n\tsigningKey = FAKE\n', 'user.signingkey'],
    ['the gpg program', '[gpg]\n\tformat = ssh\n', 'gpg.format'],
    ['a token by name', '[gitlab]\n\ttoken = FAKE\n', 'gitlab.token'],
    ['a password by name', '[sendemail]\n\tsmtpPass = FAKE\n', 'sendemail.smtppass'],
  ])('drops %s', (_what, given, name) => {
    const r = sanitizeGitconfig('[user]\n\tname = Jane\n' + given);
    expect(r.text).toBe('[user]\n\tname = Jane\n');
    expect(r.dropped).toEqual([name]);
  });

  it.each([
    ['[user]\n\tname = Jane Dev\n\temail = jane@example.com\n'],
    ['[core]\n\teditor = vim\n\tsshCommand = ssh -o BatchMode=yes\n\thooksPath = .githooks\n'],
    ['[init]\n\tdefaultBranch = main\n'],
    ['[color]\n\tui = auto\n'],
    ['[alias]\n\tst = status -sb\n\tl = !git log --oneline | head\n'],
    ['[diff]\n\ttool = vimdiff\n[merge "ours"]\n\tdriver = true\n'],
    ['[pull]\n\trebase = true\n[push]\n\tautoSetupRemote = true\n[fetch]\n\tprune = true\n'],
    ['[branch]\n\tsort = -committerdate\n[advice]\n\tdetachedHead = false\n'],
    ['[safe]\n\tdirectory = /srv/repo\n\tdirectory = *\n'],
    ['[url "git@github.com:"]\n\tinsteadOf = https://github.com/\n'],
    ['[url "ssh://git@host/"]\n\tinsteadOf = https://host/\n'],
    ['[remote "origin"]\n\turl = git@github.com:o/r.git\n'],
    ['[http]\n\tsslVerify = false\n\tproxy = http://proxy:3128\n'],
    ['[filter "lfs"]\n\tclean = git-lfs clean -- %f\n\trequired = true\n'],
    ['[core]\n\tbare\n'],
  ])('keeps %j as written', (given) => {
    const r = sanitizeGitconfig(given);
    expect(r.text).toBe(given);
    expect(r.dropped).toEqual([]);
  });

  it.each([
    ['an unclosed quote', '[user]\n\tname = "Jane\n\temail = j@e\n', '[user]\n\temail = j@e\n', ['line 2 (not valid git config)']],
    ['an unknown escape', '[user]\n\tname = a\\qb\n\temail = j@e\n', '[user]\n\temail = j@e\n', ['line 2 (not valid git config)']],
    ['a key before any section', 'name = x\n[user]\n\temail = j@e\n', '[user]\n\temail = j@e\n', ['line 1 (not valid git config)']],
    ['a bad section header, and the keys under it', '[user\n\tname = x\n[core]\n\teditor = vi\n', '[core]\n\teditor = vi\n', ['line 1 (not valid git config)']],
    ['a line that is no key', '[core]\n\t= x\n\teditor = vi\n', '[core]\n\teditor = vi\n', ['line 2 (not valid git config)']],
    ['a key with a comment and no =', '[core]\n\tbare # x\n\teditor = vi\n', '[core]\n\teditor = vi\n', ['line 2 (not valid git config)']],
    ['a key after a header on its line', '[user] name = Jane\n', '[user]\n\tname = Jane\n', []],
    ['a section with nothing kept', '[credential]\n\thelper = x\n[user]\n\tname = J\n', '[user]\n\tname = J\n', ['credential.helper']],
    ['an empty value', '[core]\n\teditor =\n', '[core]\n\teditor = ""\n', []],
    ['a value with leading space and a #', '[alias]\n\tx = " a # b "\n', '[alias]\n\tx = " a # b "\n', []],
    ['a subsection with a quote', '[remote "we\\"ird"]\n\turl = /srv/r\n', '[remote "we\\"ird"]\n\turl = /srv/r\n', []],
  ])('handles %s', (_what, given, want, dropped) => {
    const r = sanitizeGitconfig(given);
    expect(r.text).toBe(want);
    expect(r.dropped).toEqual(dropped);
    if (has('git')) expect(() => gitList(tmpFile(r.text))).not.toThrow();
  });

  it.skipIf(!has('git'))('gives git a file it reads when the original has lines git rejects', () => {
    const r = sanitizeGitconfig('[user]\n\tname = "Jane\n\temail = j@e\n[core\n\tx = 1\n');
    expect(gitList(tmpFile(r.text))).toEqual([['user.email', 'j@e']]);
  });
});

// ---------------------------------------------------------------------------
// Issue 8, E2: tokens in URL paths, query strings and aliases

describe('sanitizeNpmrc: tokens the key does not give away', () => {
  it.each([
    ['@corp:registry=https://npm.fury.io/FAKEtoken/corp/', '@corp:registry=https://npm.fury.io/REDACTED/corp/', '@corp:registry'],
    ['registry=https://npm-proxy.fury.io/FAKEtoken/corp/', 'registry=https://npm-proxy.fury.io/REDACTED/corp/', 'registry'],
    ['@org:registry=https://dl.cloudsmith.io/FAKEtoken123/org/repo/npm/', '@org:registry=https://dl.cloudsmith.io/REDACTED/org/repo/npm/', '@org:registry'],
    ['registry=https://r.example/npm/?token=FAKE&x=1', 'registry="https://r.example/npm/?token=REDACTED&x=1"', 'registry'], // ini quotes a value with =
    ['proxy=http://proxy.example:3128/?password=FAKE', 'proxy="http://proxy.example:3128/?password=REDACTED"', 'proxy'],
    [`registry=https://r.example/${FAKE_OPAQUE}/npm/`, 'registry=https://r.example/REDACTED/npm/', 'registry'],
    [`registry=https://r.example/${FAKE_GHP}/`, 'registry=https://r.example/REDACTED/', 'registry'],
  ])('keeps where %s points, the token REDACTED', (line, want, key) => {
    const r = sanitizeNpmrc(line + '\n');
    expect(r.text).toBe(want + '\n');
    expect(r.dropped).toEqual([`${key} (credentials in URL)`]);
  });

  it.each([
    [`init-author-name=${FAKE_GHP}`, 'init-author-name'],
    [`message="release %s ${FAKE_NPM}"`, 'message'],
    ['script-shell=/bin/sh -c "curl -H \'Authorization: Bearer FAKE\'"', 'script-shell'],
    ['//npm.fury.io/FAKEtoken/corp/:always-auth=true', '//npm.fury.io/***/corp/:always-auth'],
    ['//npm.fury.io/FAKEtoken/corp/:_authToken=FAKE2', '//npm.fury.io/***/corp/:_authToken'],
    ['[https://npm.fury.io/FAKEtoken/corp/]', '[https://npm.fury.io/***/corp/]'],
    ["cfg='{\"t\":\"https://u:FAKE@h.example/\"}'", 'cfg'], // a 'JSON' value with credentials inside
    ['proxy="http://u:FA#KE@proxy.example:3128"', 'proxy'], // a raw # in the password: no URL to keep
  ])('drops %s, reported by its key', (line, key) => {
    const r = sanitizeNpmrc(`fund=false\n${line}\n`);
    expect(r.text).toBe('fund=false\n');
    expect(r.dropped).toEqual([key]);
    expect(r.dropped.join(' ')).not.toContain('FAKE');
  });

  it.each([
    'registry=https://registry.npmjs.org/',
    '@acme:registry=https://npm.pkg.github.com/acme',
    'registry=https://acme.jfrog.io/artifactory/api/npm/npm-virtual/',
    'registry=https://pkgs.dev.azure.com/acme/_packaging/feed/npm/registry/',
    'registry=https://gitlab.com/api/v4/projects/12345678/packages/npm/',
    '@acme:registry=https://dl.cloudsmith.io/public/acme/repo/npm/',
    '@acme:registry=https://npm.fury.io/acme/',
    'registry=https://r.example/npm/?sort=asc',
  ])('keeps %s verbatim: no token in it', (line) => {
    const r = sanitizeNpmrc(line + '\n');
    expect(r.text).toBe(line + '\n');
    expect(r.dropped).toEqual([]);
  });
});

describe('sanitizeNpmrc: read with npm’s own ini (issue 9)', () => {
  it.each([
    ["a 'quoted' JSON value, copied as it was", "n='123'\n", "n='123'\n", []],
    ["a 'quoted' JSON value after a comment cut, written so ini reads the same", "o='{\"a\":\"#\"}'\n", "o='{\"a\":\"#\"}'\n", []],
    ['__proto__, which npm skips', '__proto__=x\nfund=false\n', 'fund=false\n', []],
    ['a [__proto__] section, whose keys npm reads into nothing', 'fund=false\n[__proto__]\nregistry=https://r.example/\n', 'fund=false\n', ['[__proto__]']],
    ['a key that ini reads as true/false/null', 'x=true ; a comment\ny = null\n', 'x=true\ny = null\n', []],
    ['a bracketed array with a comment', 'ca[]=first # FAKE\nca[]=second\n', 'ca[]=first\nca[]=second\n', []],
    ['a bare word among settings (line number only)', 'fund=false\n\n' + FAKE_NPM + '\n', 'fund=false\n', ["line 3 (no '=')"]],
  ])('handles %s', (_what, given, want, dropped) => {
    const r = sanitizeNpmrc(given);
    expect(r.text).toBe(want);
    expect(r.dropped).toEqual(dropped);
    expect(r.text + r.dropped.join(' ')).not.toContain('FAKE');
  });

  /** npm's own copy of `ini`, resolved from npm's package as npm resolves it. */
  let ini: { decode(s: string): Record<string, unknown> } | undefined;
  const npmIni = () => {
    const npmPkg = () => path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'package.json');
    return (ini ??= createRequire(npmPkg())('ini') as { decode(s: string): Record<string, unknown> });
  };

  it.skipIf(!has('npm'))('what it writes, npm’s ini reads as the original meant', () => {
    const ini = npmIni();
    const original = "n='123' ; x\no='{\"a\":\"#\"}' ; y\np=a\\;b # z\nq=\"x;y\"\n";
    const r = sanitizeNpmrc(original);
    expect({ ...ini.decode(r.text) }).toEqual({ ...ini.decode(original) });
  });

  it.skipIf(!has('npm')).each([
    "n='123' ; c",
    "'123'=v ; c",
    "o='{\"a\":\"#\"}' ; c",
    'p=a\\;b # c',
    'q="x;y"',
    '"k#"=v',
    'k = "  spaced  " ; c',
    'x=true ; c',
    'y = null',
    'z="null" ; c',
    'ca[]=first # c',
    'a\\b=c ; d',
    'e=',
    'f= ; only a comment',
    'g=[not a section] ; c',
    'h = a = b ; c',
  ])('%s means to npm’s ini what it meant', (line) => {
    const ini = npmIni();
    const r = sanitizeNpmrc(line + '\n');
    expect(r.dropped).toEqual([]);
    expect({ ...ini.decode(r.text) }).toEqual({ ...ini.decode(line) });
  });
});

describe('sanitizeGitconfig: tokens the key does not give away', () => {
  it.each([
    ['a token in an alias', `[alias]\n\tpr = "!gh pr create --token ${FAKE_GHP}"\n`, 'alias.pr'],
    ['an auth header in an alias', "[alias]\n\tapi = !curl -H 'Authorization: token FAKE' https://api.github.com\n", 'alias.api'],
    ['a bearer token in an alias', '[alias]\n\tapi = !curl -H "Bearer FAKE0123456789abcdefFAKE" https://api.example.com\n', 'alias.api'],
    ['a JWT anywhere', '[custom]\n\tid = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJGQUtFIn0.FAKEsig\n', 'custom.id'],
    ['a token in a subsection URL', '[url "https://dl.cloudsmith.io/FAKEtoken123/org/"]\n\tinsteadOf = https://mirror.example/\n', 'url.https://dl.cloudsmith.io/***/org/.insteadof'],
    ['a secret query in a subsection URL', '[http "https://h.example/?token=FAKE"]\n\tsslVerify = false\n', 'http.https://h.example/?token=***.sslverify'],
    ['a rewrite to a token path', '[url "https://npm.fury.io/acme/"]\n\tinsteadOf = https://npm.fury.io/FAKEtoken/acme/\n', 'url.https://npm.fury.io/acme/.insteadof'],
  ])('drops %s', (_what, given, name) => {
    const r = sanitizeGitconfig('[user]\n\tname = Jane\n' + given);
    expect(r.text).toBe('[user]\n\tname = Jane\n');
    expect(r.dropped).toEqual([name]);
  });

  it.each([
    ['[remote "origin"]\n\turl = https://git.example/o/r.git?private_token=FAKE\n', '[remote "origin"]\n\turl = https://git.example/o/r.git?private_token=REDACTED\n', 'remote.origin.url'],
    ['[http]\n\tproxy = http://proxy.example:3128/?pass=FAKE\n', '[http]\n\tproxy = http://proxy.example:3128/?pass=REDACTED\n', 'http.proxy'],
    [`[alias]\n\tget = !curl https://api.example/${FAKE_OPAQUE}/x\n`, '[alias]\n\tget = !curl https://api.example/REDACTED/x\n', 'alias.get'],
  ])('keeps %j with the token REDACTED', (given, want, name) => {
    const r = sanitizeGitconfig(given);
    expect(r.text).toBe(want);
    expect(r.dropped).toEqual([`${name} (credentials in URL)`]);
  });
});

// ---------------------------------------------------------------------------
// Issue 8, E3: the project's own .git/config

describe('gitConfigSecrets', () => {
  const CHECKOUT = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[remote "origin"]
\turl = https://github.com/acme/app
\tfetch = +refs/heads/*:refs/remotes/origin/*
[gc]
\tauto = 0
[http "https://github.com/"]
\textraheader = AUTHORIZATION: basic RkFLRTpGQUtF
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
`;

  it('names the auth header a CI checkout leaves behind', () => {
    expect(gitConfigSecrets(CHECKOUT)).toEqual(['http.https://github.com/.extraheader']);
  });

  it.each([
    ['a token in the remote URL (GitLab CI)', '[remote "origin"]\n\turl = https://gitlab-ci-token:FAKE@gitlab.com/acme/app.git\n', ['remote.origin.url']],
    ['a token as the user name', `[remote "origin"]\n\turl = https://${FAKE_GHP}@github.com/acme/app.git\n`, ['remote.origin.url']],
    ['a pushurl with a token', '[remote "origin"]\n\turl = git@github.com:acme/app.git\n\tpushurl = https://x:FAKE@github.com/acme/app.git\n', ['remote.origin.pushurl']],
    ['a token rewrite', '[url "https://x-access-token:FAKE@github.com/"]\n\tinsteadOf = https://github.com/\n', ['url.https://***@github.com/.insteadof']],
    ['a token in an alias', `[alias]\n\tship = !git push https://github.com/o/r ${FAKE_GHP}\n`, ['alias.ship']],
    ['a secret by name', '[github]\n\ttoken = FAKE\n', ['github.token']],
    ['a secret query', '[remote "pkg"]\n\turl = https://git.example/r.git?private_token=FAKE\n', ['remote.pkg.url']],
    ['two of them, each once', CHECKOUT + '[remote "origin"]\n\tpushurl = https://u:FAKE@h/r\n\tpushurl = https://u:FAKE2@h/r\n', ['http.https://github.com/.extraheader', 'remote.origin.pushurl']],
  ])('names %s', (_what, given, keys) => {
    const found = gitConfigSecrets(given);
    expect(found).toEqual(keys);
    expect(found.join(' ')).not.toContain('FAKE');
  });

  it.each([
    ['a plain clone', CHECKOUT.replace(/\[http[^]*?extraheader[^\n]*\n/, '')],
    ['persist-credentials: false (an emptied header)', '[http "https://github.com/"]\n\textraheader =\n'],
    ['an ssh remote', '[remote "origin"]\n\turl = ssh://git@github.com/acme/app.git\n'],
    ['a credential helper, include and signing (no credential in the file)', '[credential]\n\thelper = store\n[include]\n\tpath = ../x\n[commit]\n\tgpgSign = true\n'],
    ['lines git rejects', '[core\n\tx = "unclosed\n'],
  ])('names nothing in %s', (_what, given) => {
    expect(gitConfigSecrets(given)).toEqual([]);
  });
});
