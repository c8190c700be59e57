/** The namespace layer's view and the choice of layer: pure. */
import { describe, expect, it } from 'vitest';
import { UnsupportedKernelError } from '../../../src/errors.js';
import { compile } from '../../../src/plan.js';
import { buildPolicy } from '../../../src/policy/build.js';
import type { KernelFacts } from '../../../src/policy/model.js';
import { interp, ALLOW } from '../../../src/seccomp/interp.js';
import { fakeHost, type Node } from '../fakehost.js';

const x = { file: '\x7fELF', x: true };
const tree: Record<string, Node> = {
  '/usr/bin/true': x,
  '/bin': { link: 'usr/bin' },
  '/lib64': { link: 'usr/lib64' },
  '/usr/lib64/ld.so': 'x',
  '/proc/self': { dir: true },
  '/dev/null': 'x',
  '/dev/tty': 'x',
  '/dev/pts/3': 'x',
  '/etc/passwd': 'x',
  '/work/proj/src/a.ts': 'x',
  '/opt/tool': { link: '/srv/tool' },
  '/srv/tool/bin/t': x,
};
const host = fakeHost(tree, { ttys: ['/dev/pts/3'] });
const ns = (ok: boolean, why?: string): KernelFacts => ({ landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: { ok, ...(why && { why }) } });

describe('the layer', () => {
  it('is the namespace one where the kernel allows it, else the fallback, saying why', () => {
    const p = buildPolicy({ ro: ['.'] }, host);
    expect(compile(p, ns(true))).toMatchObject({ layer: 'namespaces', fallback: null });
    expect(compile(p, ns(false, 'clone: EPERM'))).toMatchObject({ layer: 'landlock', fallback: 'namespaces refused here: clone: EPERM', view: null });
    expect(compile(buildPolicy({ ro: ['.'], namespaces: false }, host), ns(true))).toMatchObject({ layer: 'landlock', fallback: 'turned off (--no-namespaces)' });
  });
  it('--require-namespaces makes the fallback an error naming why', () => {
    const p = buildPolicy({ ro: ['.'], requireNamespaces: true }, host);
    expect(() => compile(p, ns(false, 'clone: EPERM'))).toThrowError(UnsupportedKernelError);
    expect(() => compile(p, ns(false, 'clone: EPERM'))).toThrowError(/cannot build the namespace layer: clone: EPERM/);
    expect(compile(p, ns(true)).layer).toBe('namespaces');
    expect(() => buildPolicy({ namespaces: false, requireNamespaces: true }, host)).toThrowError(/contradict/);
  });
});

describe('the view', () => {
  const view = (opts: Parameters<typeof buildPolicy>[0]) => compile(buildPolicy(opts, host), ns(true)).view!;
  it('binds each grant at its own path, parents first; the base’s symlinks are made again', () => {
    const v = view({ ro: ['.'], rw: ['./src'] });
    const shown = v.entries.map((e) => `${e.kind} ${e.path}${e.kind === 'bind' ? (e.readOnly ? ' ro' : ' rw') : ''}${e.kind === 'symlink' ? ` -> ${e.target}` : ''}`);
    expect(shown).toEqual(
      expect.arrayContaining(['bind /usr ro', 'bind /etc ro', 'proc /proc', 'symlink /bin -> usr/bin', 'symlink /lib64 -> usr/lib64', 'bind /dev/null rw', 'devpts /dev/pts', 'symlink /dev/ptmx -> pts/ptmx', 'bind /work/proj ro', 'bind /work/proj/src rw']),
    );
    const at = (p: string) => shown.findIndex((s) => s.split(' ')[1] === p);
    expect(at('/work/proj')).toBeLessThan(at('/work/proj/src'));
    expect(at('/dev/null')).toBeLessThan(at('/dev/pts'));
    expect(shown.some((s) => s.includes('/dev/pts/3'))).toBe(false); // the new devpts, not the host's terminals by name
  });
  it('a grant above /sys (--ro /) gets an empty tmpfs over it; /sys granted by name is the host’s, a path inside it is bound onto the tmpfs', () => {
    const sys = fakeHost({ ...tree, '/sys/class/net/eth0': 'x', '/sys/devices/system/cpu/online': 'x' });
    const v = (opts: Parameters<typeof buildPolicy>[0]) => compile(buildPolicy(opts, sys), ns(true)).view!.entries.filter((e) => e.path === '/sys' || e.path.startsWith('/sys/'));
    expect(v({ ro: ['/'] })).toEqual([{ kind: 'tmpfs', path: '/sys', access: 0n }]);
    expect(v({ ro: ['.'] })).toEqual([]); // no grant: no /sys at all
    expect(v({ ro: ['/', '/sys'] }).some((e) => e.kind === 'tmpfs')).toBe(false);
    expect(v({ ro: ['/sys'] })).toEqual([expect.objectContaining({ kind: 'bind', path: '/sys' })]);
    const inside = v({ ro: ['/', '/sys/devices/system/cpu'] });
    expect(inside.map((e) => `${e.kind} ${e.path}`)).toEqual(['tmpfs /sys', 'bind /sys/devices/system/cpu']);
    expect(inside[1]).toMatchObject({ readOnly: true });
  });
  it('a path given through a symlink appears where it was given', () => {
    const v = view({ ro: ['/opt/tool'] });
    expect(v.entries).toContainEqual({ kind: 'symlink', path: '/opt/tool', target: '/srv/tool' });
    expect(v.entries.some((e) => e.kind === 'bind' && e.path === '/srv/tool')).toBe(true);
  });
  it('inside a bind of the same kind, a grant is a rule without a mount of its own (root’s /etc: one bind)', () => {
    const root = fakeHost({ ...tree, '/etc/shadow': { file: 'x', mode: 0o600 } }, { uid: 0 });
    const v = compile(buildPolicy({ ro: ['/work/proj'] }, root), ns(true)).view!;
    expect(v.entries.find((e) => e.path === '/etc')).toMatchObject({ kind: 'bind', readOnly: true });
    expect(v.entries.find((e) => e.path === '/etc/passwd')).toMatchObject({ kind: 'rule' });
    // The one bind shows shadow too: an empty read-only file covers it.
    expect(v.entries.filter((e) => e.path === '/etc/shadow')).toEqual([{ kind: 'empty', path: '/etc/shadow', isDir: false, access: 0n }]);
  });
  it('covers what root’s /etc left out (a file, a directory), unless a grant reaches it', () => {
    const root = fakeHost({ ...tree, '/etc/shadow': { file: 'x', mode: 0o600 }, '/etc/ssl/private': { dir: true, mode: 0o700 }, '/etc/ssl/private/key.pem': { file: 'x', mode: 0o600 }, '/etc/ssl/certs/a.pem': 'x' }, { uid: 0 });
    const covers = (opts: Parameters<typeof buildPolicy>[0]) =>
      compile(buildPolicy(opts, root), ns(true)).view!.entries.filter((e) => e.kind === 'empty').map((e) => [e.path, e.kind === 'empty' && e.isDir]);
    expect(covers({ ro: ['/work/proj'] })).toEqual([['/etc/shadow', false], ['/etc/ssl/private', true]]);
    expect(covers({ ro: ['/work/proj', '/etc/shadow'] })).toEqual([['/etc/ssl/private', true]]);
    expect(covers({ ro: ['/work/proj', '/etc/ssl'] })).toEqual([['/etc/shadow', false]]);
    expect(covers({ ro: ['/'] })).toEqual([]); // no listing: / is bound whole, as granted
    const withoutLandlock = compile(buildPolicy({ ro: ['/work/proj'] }, root), { ...ns(true), landlockAbi: 0 }, { bestEffort: true }).view!;
    expect(withoutLandlock.entries).toContainEqual({ kind: 'empty', path: '/etc/shadow', isDir: false, access: 0n });
  });
  it('holds the working directory, made empty when it is not granted', () => {
    expect(view({ ro: ['/srv/tool'] }).entries).toContainEqual({ kind: 'dir', path: '/work/proj' });
    expect(view({ ro: ['.'] }).entries.some((e) => e.kind === 'dir')).toBe(false);
  });
  it('has a network of its own exactly when the policy needs none; then UNIX sockets and listen() are allowed', () => {
    expect(view({ ro: ['.'] }).net).toBe(true);
    expect(view({ ro: ['.'], allowConnect: ['443'] }).net).toBe(false);
    expect(view({ ro: ['.'], net: 'all' }).net).toBe(false);
    const inNs = compile(buildPolicy({ ro: ['.'] }, host), ns(true)).seccomp!;
    const fallback = compile(buildPolicy({ ro: ['.'] }, host), ns(false, 'x')).seccomp!;
    const unix = { nr: 41, arch: 0xc000003e, args: [1n, 1n, 0n, 0n, 0n, 0n] }; // socket(AF_UNIX, SOCK_STREAM)
    expect(interp(inNs.program, unix)).toEqual(ALLOW);
    expect(interp(fallback.program, unix)).not.toEqual(ALLOW);
    // Landlock governs no ports there: a server on localhost inside works;
    // with a port asked for, the host's network and Landlock's port rules.
    expect(compile(buildPolicy({ ro: ['.'] }, host), ns(true)).landlock!.handledNet).toBe(0n);
    expect(compile(buildPolicy({ ro: ['.'], allowConnect: ['443'] }, host), ns(true)).landlock!.handledNet).not.toBe(0n);
    expect(compile(buildPolicy({ ro: ['.'] }, host), ns(false, 'x')).landlock!.handledNet).not.toBe(0n);
  });
});

describe("npm's cache (--npm-cache)", () => {
  const cacheHost = fakeHost({ ...tree, '/home/u/.npm/_cacache/index-v5/x': 'x' });
  const policy = () => {
    const p = buildPolicy({ ro: ['.'], npmCache: true }, cacheHost, { npmCache: '/home/u/.npm' });
    return { ...p, npmCache: { ...p.npmCache!, layerDir: '/tmp/jail-1-0123456789ab' } };
  };
  it('is an overlay with read-write rights in the namespace layer, never a writable bind of the real cache', () => {
    const v = compile(policy(), ns(true)).view!;
    const at = v.entries.filter((e) => e.path === '/home/u/.npm');
    expect(at).toEqual([expect.objectContaining({ kind: 'overlay', path: '/home/u/.npm', layer: '/tmp/jail-1-0123456789ab' })]);
    expect((at[0] as { access: bigint }).access & 0x2n).toBe(0x2n); // write-file, on the overlay only
  });
  it('is a read-only grant in the fallback', () => {
    const plan = compile(policy(), ns(false, 'clone: EPERM'));
    expect(plan.view).toBeNull();
    const rule = plan.landlock!.paths.find((r) => r.path === '/home/u/.npm')!;
    expect(rule.access & 0x2n).toBe(0n);
  });
  it('is absent when off, and plainly read-write when --rw covers it', () => {
    expect(buildPolicy({ ro: ['.'] }, cacheHost, { npmCache: '/home/u/.npm' }).npmCache).toBeNull();
    const p = buildPolicy({ rw: ['/home/u/.npm'], npmCache: true }, cacheHost, { npmCache: '/home/u/.npm' });
    expect(p.npmCache).toBeNull();
    expect(p.grants.filter((g) => g.path === '/home/u/.npm').map((g) => g.access)).toEqual(['rw']);
  });
});
