/** --secret in the policy: the syntax, placeholders of the value's shape,
 *  the environment holding only placeholders, the hosts allowed, the
 *  project rule, and the agent profiles that use it. */
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { assemble, type JailRequest } from '../../../src/policy/assemble.js';
import { loadConfig, resolveProfile } from '../../../src/policy/config.js';
import { checkApiOptions } from '../../../src/policy/config/validate.js';
import { CA_ENV, parseSecret, placeholderFor } from '../../../src/policy/inject.js';
import { fakeHost, type Node } from '../fakehost.js';

const seq = (n: number) => {
  // Deterministic "random" bytes: enough to check shapes.
  let k = 7;
  return Uint8Array.from({ length: n }, () => (k = (k * 131 + 17) & 0xff));
};
const zeros = (n: number) => new Uint8Array(n);

function policyError(f: () => unknown): PolicyError {
  try {
    f();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

describe('placeholderFor', () => {
  it.each([
    ['sk-ant-api03-AbCdEf0123456789_xyzXYZ-0123456789abcdefABCDEF', 'sk-ant-api03-'],
    ['sk-proj-abcdefghijklmnopqrstuvwxyz0123456789', 'sk-proj-'],
    ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_'],
    ['github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz0123456789', 'github_pat_'],
    ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-'],
    ['0123456789abcdef0123456789abcdef', ''],
  ])('%s keeps %j, its length and each character class', (real, prefix) => {
    const p = placeholderFor(real, seq);
    expect(p.startsWith(prefix)).toBe(true);
    expect(p).toHaveLength(real.length);
    expect(p).not.toBe(real);
    for (let i = prefix.length; i < real.length; i++) {
      const cls = (c: string) => (/[a-z]/.test(c) ? 'a' : /[A-Z]/.test(c) ? 'A' : /\d/.test(c) ? '0' : c);
      expect(cls(p[i]!), `${i}`).toBe(cls(real[i]!));
    }
  });
  it('a prefix that leaves too little to draw is dropped', () => {
    expect(placeholderFor('sk-abc', zeros)).toBe('aa-aaa');
  });
  it('differs from run to run', () => {
    const real = 'sk-ant-api03-' + 'a'.repeat(40);
    const r = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    expect(placeholderFor(real, r)).not.toBe(placeholderFor(real, r));
  });
});

describe('parseSecret', () => {
  it('reads a name and hosts', () => {
    const s = parseSecret('API_KEY@api.example.com,*.example.net:8443');
    expect(s.name).toBe('API_KEY');
    expect(s.hosts.map((h) => [h.host, h.wildcard, h.port])).toEqual([
      ['api.example.com', false, 443],
      ['example.net', true, 8443],
    ]);
  });
  it.each([
    ['API_KEY', /no host given/],
    ['1KEY@x.com', /not a variable name/],
    ['KEY@', /an empty host/],
    ['KEY@a.com,,b.com', /an empty host/],
    ['KEY@https://a.com', /--secret "KEY@https:\/\/a.com": host/],
    ['KEY@*.com', /--secret/],
  ])('%s is refused', (given, message) => {
    expect(policyError(() => parseSecret(given)).message).toMatch(message);
  });
  it('is checked in config files and the API like any option', () => {
    expect(() => checkApiOptions({ secret: ['K@a.example'] })).not.toThrow();
    expect(policyError(() => checkApiOptions({ secret: ['K'] })).message).toMatch(/option "secret": --secret "K": no host given/);
  });
});

const x = { file: '\x7fELF', x: true };
const tree: Record<string, Node> = {
  '/usr/bin/true': x,
  '/usr/bin/node': x,
  '/work/proj/package.json': '{}',
  '/etc/resolv.conf': 'nameserver 10.0.0.2\n',
};
const REAL = 'sk-ant-api03-REALVALUEREALVALUE0123456789abcdefghij';
const host = (extra: Record<string, Node> = {}) => fakeHost({ ...tree, ...extra }, { path: '/usr/bin' });
const req = (over: Partial<JailRequest> = {}): JailRequest => ({
  options: { ro: ['.'], secret: ['API_KEY@api.example.com'] },
  argv: ['true'],
  env: { PATH: '/usr/bin', HOME: '/home/u', API_KEY: REAL, COPY: `x${REAL}` },
  nodeExecPath: '/usr/bin/node',
  egressPort: () => 24567,
  randomBytes: seq,
  ...over,
});

describe('--secret in the policy', () => {
  it('gives the command a placeholder, never the value, and allows the hosts', () => {
    const a = assemble(req(), host());
    expect(a.env.API_KEY).toMatch(/^sk-ant-api03-/);
    expect(a.env.API_KEY).not.toBe(REAL);
    expect(Object.values(a.env).some((v) => v.includes(REAL))).toBe(false);
    expect(a.droppedEnv).toContain('COPY');
    expect(a.policy.net.hosts.map((h) => h.host)).toEqual(['api.example.com']);
    expect(a.policy.secrets).toEqual([expect.objectContaining({ name: 'API_KEY', placeholder: a.env.API_KEY })]);
    expect(JSON.stringify(a.policy)).not.toContain(REAL);
    for (const [k, file] of Object.entries(CA_ENV)) expect(a.env[k]).toBe(`${a.tmpDir}/${file}`);
    expect(a.policy.egress).not.toBeNull();
  });
  it('wins over --env NAME and --env-all', () => {
    const a = assemble(req({ options: { ro: ['.'], secret: ['API_KEY@api.example.com'], envAll: true, env: ['API_KEY'] } }), host());
    expect(a.env.API_KEY).not.toBe(REAL);
    expect(Object.values(a.env).some((v) => v.includes(REAL))).toBe(false);
  });
  it('refuses a flag whose variable is not set, --net all and --no-private-tmp', () => {
    expect(policyError(() => assemble(req({ env: { PATH: '/usr/bin', HOME: '/home/u' } }), host())).message).toMatch(/API_KEY is not set in this environment/);
    expect(policyError(() => assemble(req({ options: { ro: ['.'], secret: ['API_KEY@a.example'], net: 'all' } }), host())).message).toMatch(/--net all/);
    expect(policyError(() => assemble(req({ options: { ro: ['.'], secret: ['API_KEY@a.example'], privateTmp: false } }), host())).message).toMatch(/private TMPDIR/);
  });
  it('refuses a value with too few letters and digits for a placeholder to differ from it (the command would see the value)', () => {
    for (const value of ['!!!!-----::::', 'ab', 'p@ss-w0rd!']) {
      const e = policyError(() => assemble(req({ env: { PATH: '/usr/bin', HOME: '/home/u', API_KEY: value } }), host()));
      expect(e.message).toMatch(/API_KEY has too few letters and digits/);
      expect(e.message + (e.hint ?? '')).not.toContain(value);
    }
    expect(assemble(req({ env: { PATH: '/usr/bin', HOME: '/home/u', API_KEY: 'abcd-1234-EFGH' } }), host()).env.API_KEY).not.toBe('abcd-1234-EFGH');
  });
  it("a profile's secret whose variable is unset is left out with a note", () => {
    const a = assemble(req({ options: { profile: 'claude' }, env: { PATH: '/usr/bin', HOME: '/home/u' } }), host());
    expect(a.warnings.join('\n')).toMatch(/--secret ANTHROPIC_API_KEY@api.anthropic.com \(from the profile\) left out/);
    expect(a.env.ANTHROPIC_API_KEY).toBeUndefined();
    expect(a.policy.secrets ?? []).toEqual([]);
    expect(a.policy.net.hosts.map((h) => h.host)).toEqual(['api.anthropic.com']);
  });
  it("a project's config may not set it; the user's may", () => {
    const files = (where: string) => ({ ...tree, '/work/proj/package.json': '{}', [where]: JSON.stringify({ profiles: { p: { secret: ['API_KEY@evil.example'] } } }) });
    const ctx = (where: string) => {
      const h = fakeHost(files(where), { path: '/usr/bin' });
      return { host: h, nodePrefix: '/usr', npmCache: '/home/u/.npm' };
    };
    expect(policyError(() => resolveProfile(loadConfig(ctx('/work/proj/jail.config.json')), 'p')).message).toMatch(/a project's config may not set "secret"/);
    const c = loadConfig(ctx('/home/u/.config/jail/config.json'));
    expect(resolveProfile(c, 'p').options.secret).toEqual(['API_KEY@evil.example']);
  });
});

describe('agent profiles', () => {
  const home = '/home/u';
  const files = { ...tree, [`${home}/.claude/.credentials.json`]: '{}', [`${home}/.claude.json`]: '{}', [`${home}/.codex/auth.json`]: '{}', [`${home}/.codex/config.toml`]: '' };
  it.each([
    ['claude', 'ANTHROPIC_API_KEY', 'api.anthropic.com', [`${home}/.claude`, `${home}/.claude.json`], `${home}/.claude/.credentials.json`],
    ['codex', 'OPENAI_API_KEY', 'api.openai.com', [`${home}/.codex`], `${home}/.codex/auth.json`],
  ])('%s: the project and its state read-write, its credentials hidden, its key a placeholder', (profile, name, api, state, creds) => {
    const a = assemble(req({ options: { profile }, env: { PATH: '/usr/bin', HOME: home, [name]: REAL } }), host(files));
    const rw = a.policy.grants.filter((g) => g.access === 'rw').map((g) => g.path);
    expect(rw).toEqual(expect.arrayContaining(['/work/proj', ...state]));
    expect(a.policy.hidden.map((h) => h.path)).toContain(creds);
    expect(a.env[name]).toBeDefined();
    expect(a.env[name]).not.toBe(REAL);
    expect(a.policy.secrets?.map((s) => [s.name, s.hosts.map((h) => h.host)])).toEqual([[name, [api]]]);
    expect(a.policy.net.hosts.map((h) => h.host)).toEqual([api]);
    expect(a.options.toolchains).toBe(true);
    expect(a.options.npmCache).toBe(true);
    expect(rw.some((p) => p === home)).toBe(false);
    expect(a.policy.grants.some((g) => g.path.startsWith(`${home}/.ssh`))).toBe(false);
  });
});
