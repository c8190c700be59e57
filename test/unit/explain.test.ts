/** jail explain: the compiled plan asked about a path or a port, on a fake host. */
import { describe, expect, it } from 'vitest';
import { explain, type Query } from '../../src/explain.js';
import { compile } from '../../src/plan.js';
import { assemble, type JailRequest } from '../../src/policy/assemble.js';
import type { JailOptions } from '../../src/policy/options.js';
import { fakeHost, SMALL_MACHINE, type Node } from './fakehost.js';

const tree: Record<string, Node> = {
  ...SMALL_MACHINE,
  '/work/proj/dist': { dir: true },
  '/work/proj/.env': 'KEY=1',
  '/work/proj/.git/HEAD': 'ref: refs/heads/main\n',
  '/work/proj/.git/config': '[core]\n',
  '/work/proj/.git/hooks': { dir: true },
  '/work/proj/.git/objects': { dir: true },
  '/work/proj/.git/refs': { dir: true },
  '/work/proj/link': { link: '/home/u' },
  '/home/u/.ssh/id_rsa': 'KEY',
  '/opt/jail/dist/cli.js': 'x',
  '/etc/passwd': 'x',
};
const host = fakeHost(tree, { path: '/usr/bin' });

function ask(options: JailOptions, q: Query, layer: 'namespaces' | 'landlock' = 'namespaces') {
  const req: JailRequest = { options, argv: ['true'], env: { PATH: '/usr/bin', HOME: '/home/u' }, nodeExecPath: '/usr/bin/node' };
  const a = assemble(req, host);
  const plan = compile(a.policy, { landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: layer === 'namespaces' ? { ok: true } : { ok: false, why: 'test' } });
  return explain(plan, a.policy, host, q);
}
// Landlock alone cannot hide .env inside a writable tree (jail refuses): shown.
const RW: JailOptions = { rw: ['.'], unhide: ['.env'] };
const path = (p: string, access: 'read' | 'write' | 'exec' | 'create' = 'read'): Query => ({ path: p, access });

describe.each(['namespaces', 'landlock'] as const)('jail explain, %s layer', (layer) => {
  it('allows what a rule grants, naming the rule and where it came from', () => {
    const r = ask({ ro: ['.'] }, path('/work/proj/src/a.js'), layer);
    expect(r.allowed).toBe(true);
    expect(r.verdict).toBe('read /work/proj/src/a.js: allowed');
    // The fallback splits the grant around the hidden .env: a rule per entry.
    expect(r.why).toEqual([layer === 'namespaces' ? 'by /work/proj (--ro .)' : 'by /work/proj/src (--ro .)']);
  });
  it('denies a write under a read-only grant, and names the flag that would allow it', () => {
    const r = ask({ ro: ['.'] }, path('/work/proj/src/a.js', 'write'), layer);
    expect(r.allowed).toBe(false);
    expect(r.why.at(-1)).toBe('to allow it: --rw /work/proj/src/a.js (or --rw /work/proj/src)');
  });
  it('rights are the union over the rules above the path', () => {
    expect(ask({ ro: ['.'], rw: ['dist'] }, path('/work/proj/dist/out.js', 'create'), layer)).toMatchObject({ allowed: true, why: ['by /work/proj/dist (--rw dist)'] });
    expect(ask({ ro: ['.'] }, path('/work/proj/dist/out.js', 'create'), layer).why.at(-1)).toBe('to allow it: --rw /work/proj/dist');
  });
  it('a path under no grant: not in the view, or no rule', () => {
    const r = ask({ ro: ['.'] }, path('/home/u/.ssh/id_rsa'), layer);
    expect(r.allowed).toBe(false);
    expect(r.why[0]).toBe(layer === 'namespaces' ? 'not in the view: in the namespace layer it does not exist for the command.' : 'no rule grants it or a directory above it.');
    expect(r.why.at(-1)).toBe('to allow it: --ro /home/u/.ssh/id_rsa');
  });
  it('follows symlinks to where the kernel would land', () => {
    const r = ask({ ro: ['.'] }, path('/work/proj/link/.ssh/id_rsa'), layer);
    expect([r.allowed, r.verdict]).toEqual([false, 'read /work/proj/link/.ssh/id_rsa (/home/u/.ssh/id_rsa): denied']);
  });
  it('protected paths: read-only inside a writable tree, and which --unprotect lifts it', () => {
    const r = ask(RW, path('/work/proj/.git/hooks/pre-commit', 'create'), layer);
    expect(r.allowed).toBe(false);
    expect(r.why[0]).toMatch(layer === 'namespaces' ? /^read-only: protected \(git hooks\); --unprotect \/work\/proj\/\.git\/hooks lifts it\.$/ : /^protected \(git hooks\): this layer lets the write happen and restores the path when the command ends; --unprotect \/work\/proj\/\.git\/hooks lifts it\.$/);
    expect(ask({ ...RW, unprotect: ['.git/hooks'] }, path('/work/proj/.git/hooks/pre-commit', 'create'), layer).allowed).toBe(true);
  });
  it('a new .git inside a writable tree is a protected new name', () => {
    expect(ask(RW, path('/work/proj/sub/.git', 'create'), layer).why[0]).toMatch(/protected \(a new git repository/);
    expect(ask(RW, path('/work/proj/sub/x', 'create'), layer).allowed).toBe(true);
  });
  it('hidden paths', () => {
    const r = ask({ ro: ['.'] }, path('/work/proj/.env'), layer);
    const how = layer === 'namespaces' ? 'the command sees it empty' : 'reading it gives EACCES';
    expect([r.allowed, r.why]).toEqual([false, [`hidden (a .env file): ${how}; --unhide /work/proj/.env shows it.`]]);
  });
  it('create of a path that exists, and read of one that does not', () => {
    expect(ask(RW, path('/work/proj/src/a.js', 'create'), layer).why).toEqual(['it exists already; to change it, ask about write.']);
    expect(ask(RW, path('/work/proj/nosuch'), layer).why).toEqual(['it does not exist.']);
  });
  it('exec needs the execute right: the system base has it, a --rw tree too', () => {
    expect(ask({ ro: ['.'] }, path('/usr/bin/node', 'exec'), layer).allowed).toBe(true);
    expect(ask({ ro: ['.'] }, path('/etc/passwd', 'write'), layer).allowed).toBe(false);
  });
});

describe('jail explain --connect', () => {
  const connect = (port: number): Query => ({ connect: { host: 'example.com', port } });
  it('--net none: denied unless --allow-host names the host or --allow-connect the port', () => {
    expect(ask({ ro: ['.'] }, connect(443))).toMatchObject({ allowed: false, why: ['the command has a network namespace of its own, loopback only: nothing outside is reachable.', 'to allow it: --allow-host example.com'] });
    expect(ask({ ro: ['.'] }, connect(8443), 'landlock').why[1]).toBe("to allow it: --allow-host example.com:8443 (only that host, through jail's proxy), or --allow-connect 8443 (any host on that port)");
    expect(ask({ ro: ['.'], allowHost: ['*.com'.replace('*.', '*.example.')] }, connect(443))).toMatchObject({ allowed: false });
    expect(ask({ ro: ['.'], allowHost: ['example.com'] }, connect(443))).toMatchObject({ allowed: true });
    expect(ask({ ro: ['.'], allowHost: ['example.com'] }, connect(443)).why[0]).toMatch(/^by --allow-host example.com, through jail's egress proxy: the command's only way out/);
    expect(ask({ ro: ['.'], allowHost: ['example.com'] }, connect(80))).toMatchObject({ allowed: false });
    expect(ask({ ro: ['.'] }, connect(443), 'landlock')).toMatchObject({ allowed: false });
    expect(ask({ ro: ['.'], allowConnect: ['400-500'] }, connect(443), 'landlock')).toMatchObject({ allowed: true, why: ['by --allow-connect 400-500.'] });
    expect(ask({ ro: ['.'], allowConnect: [443] }, connect(80))).toMatchObject({ allowed: false });
  });
  it('--net all: allowed', () => {
    expect(ask({ ro: ['.'], net: 'all' }, connect(22)).allowed).toBe(true);
  });
});
