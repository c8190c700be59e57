/** --allow-host in the policy: the proxy's variables, jail's resolv.conf,
 *  and what each layer is given to keep the command to the proxy. */
import { describe, expect, it } from 'vitest';
import { FS, NET } from '../../../src/landlock/abi.js';
import { compile } from '../../../src/plan.js';
import { assemble, type JailRequest } from '../../../src/policy/assemble.js';
import { buildPolicy } from '../../../src/policy/build.js';
import { fakeHost, type Node } from '../fakehost.js';

const x = { file: '\x7fELF', x: true };
const tree: Record<string, Node> = {
  '/usr/bin/true': x,
  '/usr/bin/node': x,
  '/work/proj/package.json': '{}',
  '/home/u/.gitconfig': '[user]\n\tname = U\n[http]\n\tproxy = http://corp:3128\n',
  '/etc/resolv.conf': 'nameserver 10.0.0.2\n',
  '/etc/passwd': 'x',
};
const host = (extra: Record<string, Node> = {}) => fakeHost({ ...tree, ...extra }, { path: '/usr/bin' });
const req = (over: Partial<JailRequest> = {}): JailRequest => ({
  options: { ro: ['.'], allowHost: ['registry.npmjs.org', '*.example.com:8443'] },
  argv: ['true'],
  env: { PATH: '/usr/bin', HOME: '/home/u', NO_PROXY: '*', no_proxy: '*', HTTPS_PROXY: 'http://corp:3128' },
  nodeExecPath: '/usr/bin/node',
  egressPort: () => 24567,
  ...over,
});
const facts = (ns: boolean) => ({ landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: { ok: ns } });

describe('--allow-host in the policy', () => {
  it('points every proxy variable at the proxy and clears NO_PROXY', () => {
    const a = assemble(req(), host());
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'npm_config_proxy', 'npm_config_https_proxy']) {
      expect(a.env[k], k).toBe('http://127.0.0.1:24567');
    }
    expect(a.env.NO_PROXY).toBeUndefined();
    expect(a.env.no_proxy).toBeUndefined();
    expect(a.env.NODE_USE_ENV_PROXY).toBe('1');
  });
  it("sets git's http.proxy after the user's own", () => {
    const a = assemble(req(), host());
    const git = a.files.find((f) => f.name === 'gitconfig')!.text;
    expect(git.lastIndexOf('proxy = http://127.0.0.1:24567')).toBeGreaterThan(git.indexOf('corp:3128') === -1 ? -2 : git.indexOf('corp:3128'));
  });
  it('writes a gitconfig with the proxy when the user has none', () => {
    const t = { ...tree };
    delete t['/home/u/.gitconfig'];
    const a = assemble(req(), fakeHost(t, { path: '/usr/bin' }));
    expect(a.files.find((f) => f.name === 'gitconfig')?.text).toContain('proxy = http://127.0.0.1:24567');
    expect(a.env.GIT_CONFIG_GLOBAL).toBe(`${a.tmpDir}/gitconfig`);
  });
  it('keeps a proxy variable the user set with --env NAME=VALUE', () => {
    const a = assemble(req({ options: { ro: ['.'], allowHost: ['a.example'], env: ['HTTPS_PROXY=http://mine:1'] } }), host());
    expect(a.env.HTTPS_PROXY).toBe('http://mine:1');
    expect(a.env.HTTP_PROXY).toBe('http://127.0.0.1:24567');
  });
  it("shows jail's resolv.conf and hands the namespace layer its sockets", () => {
    const a = assemble(req(), host());
    expect(a.files.find((f) => f.name === 'resolv.conf')?.text).toContain('nameserver 127.0.0.1');
    expect(a.policy.egress).toEqual({ port: 24567, resolvConf: { path: '/etc/resolv.conf', source: `${a.tmpDir}/resolv.conf` }, transparentPorts: [443, 8443] });
    const plan = compile(a.policy, facts(true));
    expect(plan.view!.net).toBe(true);
    expect(plan.view!.sockets).toEqual([
      { type: 'tcp', addr: '127.0.0.1', port: 24567, role: 'proxy' },
      { type: 'udp', addr: '127.0.0.1', port: 53, role: 'dns' },
      { type: 'tcp', addr: '0.0.0.0', port: 443, role: 'transparent' },
      { type: 'tcp', addr: '0.0.0.0', port: 8443, role: 'transparent' },
    ]);
    const rc = plan.view!.entries.filter((e) => e.path === '/etc/resolv.conf');
    expect(rc.at(-1)).toMatchObject({ kind: 'bind', source: `${a.tmpDir}/resolv.conf`, readOnly: true });
    // Nothing outside is reachable: Landlock needs no port rule for it.
    expect(plan.landlock!.ports).toEqual([]);
  });
  it('in the fallback, allows TCP connect to the proxy port only', () => {
    const plan = compile(assemble(req(), host()).policy, facts(false));
    expect(plan.view).toBeNull();
    expect(plan.landlock!.ports).toEqual([{ port: 24567, access: NET.CONNECT_TCP }]);
    expect(plan.landlock!.handledNet & NET.CONNECT_TCP).toBe(NET.CONNECT_TCP);
    expect(FS.READ_FILE).toBeTruthy();
  });
  it('keeps the network namespace private (a supertest server on loopback works) unless a port rule needs the real network', () => {
    expect(compile(assemble(req(), host()).policy, facts(true)).view!.net).toBe(true);
    const withPort = assemble(req({ options: { ro: ['.'], allowHost: ['a.example'], allowConnect: ['22'] } }), host());
    const plan = compile(withPort.policy, facts(true));
    expect(plan.view!.net).toBe(false);
    expect(plan.view!.sockets).toEqual([]);
    expect(plan.landlock!.ports.map((p) => p.port).sort()).toEqual([22, 24567]);
  });
  it('asks for no port, and changes nothing, without --allow-host', () => {
    let asked = false;
    const a = assemble(req({ options: { ro: ['.'] }, egressPort: () => ((asked = true), 1) }), host());
    expect([asked, a.policy.egress, a.env.HTTPS_PROXY]).toEqual([false, null, 'http://corp:3128']);
  });
  it('says so when it cannot show its resolv.conf (no private TMPDIR)', () => {
    const a = assemble(req({ options: { ro: ['.'], allowHost: ['a.example'], privateTmp: false } }), host());
    expect(a.policy.egress?.resolvConf).toBeNull();
    expect(a.warnings.join('\n')).toMatch(/--allow-host: jail cannot show its own resolv.conf here \(no private TMPDIR/);
  });
  it('refuses --allow-host with --net all', () => {
    expect(() => buildPolicy({ allowHost: ['a.example'], net: 'all' }, host())).toThrowError(/changes nothing with --net all/);
  });
});
