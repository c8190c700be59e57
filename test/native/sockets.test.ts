/**
 * Sockets made in the jail's network namespace for the supervisor, and
 * superviseAsync. A miniature supervisor (fixtures/sockets-run.cjs) spawns
 * a plan, serves on the fds it gets and waits with superviseAsync while a
 * timer ticks; it runs as root and as nobody, and is judged from outside:
 * what the command inside got back, what arrived on which socket, what the
 * command itself holds, and that the host's own ports are another matter.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { explain } from '../../src/native/apply.js';
import type { NativeError, NativePlan, NativeSocket, NativeViewEntry } from '../../src/native/binding.js';

const REPO = path.resolve(__dirname, '..', '..');
const RUN = path.join(REPO, 'test', 'native', 'fixtures', 'sockets-run.cjs');
const NODE = process.execPath;

type Who = 'root' | 'nobody';
const WHO: Who[] = ['root', 'nobody'];
const ID: Record<Who, number> = { root: 0, nobody: 65534 };

/** A copy of the package nobody can read (as namespaces.test.ts makes). */
let pkg: string;
beforeAll(() => {
  pkg = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'jail-sockets-'));
  for (const p of ['dist', 'package.json', 'build/Release/jail.node']) fs.cpSync(path.join(REPO, p), path.join(pkg, p), { recursive: true });
  fs.cpSync(RUN, path.join(pkg, 'sockets-run.cjs'));
  spawnSync('chmod', ['-R', 'a+rX', pkg]);
});
afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

/** /usr and what links into it, /dev/null and a fresh /proc: enough for sh and node. */
function view(): NativeViewEntry[] {
  const v: NativeViewEntry[] = [{ kind: 'bind', path: '/usr', readOnly: true, access: 0n }];
  for (const p of ['/bin', '/sbin', '/lib', '/lib64']) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) v.push({ kind: 'symlink', path: p, target: fs.readlinkSync(p) });
    else if (st?.isDirectory()) v.push({ kind: 'bind', path: p, readOnly: true, access: 0n });
  }
  v.push({ kind: 'bind', path: '/dev/null', readOnly: false, device: true, access: 0n }, { kind: 'proc', path: '/proc', access: 0n });
  return v;
}

function plan(who: Who, script: string, sockets: NativeSocket[] | undefined, env: string[] = []): NativePlan {
  return {
    namespaces: { uid: ID[who], gid: ID[who], net: true, cwd: '/', view: view(), ...(sockets && { sockets }) },
    dropCaps: true,
    keepFds: [],
    file: '/bin/sh',
    argv: ['sh', '-c', script],
    envp: ['PATH=/usr/bin:/bin', ...env],
  };
}

const toJson = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));

function runner(who: Who, p: NativePlan, extraEnv: NodeJS.ProcessEnv = {}): [string, string[], NodeJS.ProcessEnv] {
  const env = { PATH: process.env.PATH, NS_PLAN: toJson(p), ...extraEnv };
  if (who === 'root') return [NODE, [RUN], env];
  return ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, path.join(pkg, 'sockets-run.cjs')], { ...env, JAIL_ROOT: pkg }];
}

interface Result {
  fds: number[];
  status: { code: number | null; signal: number | null };
  received: string[];
  ticks: number;
  second: string | null;
}

/** The fixture's own line, and the command's output around it. */
function parse(stdout: string, stderr: string): { result?: Result; failure?: NativeError; out: string } {
  const r = /^result: (.*)$/m.exec(stdout);
  const f = /^jail-error: (.*)$/m.exec(stderr);
  return { result: r ? (JSON.parse(r[1]!) as Result) : undefined, failure: f ? (JSON.parse(f[1]!) as NativeError) : undefined, out: stdout.replace(/^result: .*\n/m, '') };
}

function run(who: Who, p: NativePlan, extraEnv: NodeJS.ProcessEnv = {}) {
  const [cmd, args, env] = runner(who, p, extraEnv);
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 20_000 });
  return { ...parse(r.stdout, r.stderr), status: r.status, stderr: r.stderr };
}

/** The client inside: tcp to 127.0.0.1:8081 and 127.100.0.7:443 (the
 *  0.0.0.0 listener: all of 127/8 is lo), udp to 127.0.0.1:53; prints
 *  what came back. */
const CLIENT = `const net = require('net'), dgram = require('dgram');
const tcp = (host, port, msg) => new Promise((res) => { const c = net.connect(port, host); let got = ''; c.on('connect', () => c.end(msg)); c.on('data', (d) => (got += d)); c.on('close', () => res(got)); c.on('error', (e) => res(e.code)); });
const udp = (msg) => new Promise((res) => { const s = dgram.createSocket('udp4'); s.on('message', (m) => { res(String(m)); s.close(); }); s.send(msg, 53, '127.0.0.1'); });
(async () => console.log(JSON.stringify([await tcp('127.0.0.1', 8081, 'to-8081'), await tcp('127.100.0.7', 443, 'to-443'), await udp('to-53')])))();`;

const SOCKETS: NativeSocket[] = [
  { type: 'tcp', addr: '127.0.0.1', port: 8081 },
  { type: 'udp', addr: '127.0.0.1', port: 53 },
  { type: 'tcp', addr: '0.0.0.0', port: 443 },
];

describe.each(WHO)('as %s', (who) => {
  it('the command reaches the sockets, which hold nothing of the host\'s 127.0.0.1:8081, and holds none of them itself', async () => {
    // The host's own 127.0.0.1:8081, taken before and held throughout.
    const hostGot: string[] = [];
    const host = net.createServer((c) => c.on('data', (d) => hostGot.push(String(d))).end('host'));
    await new Promise<void>((r) => host.listen(8081, '127.0.0.1', r));
    onTestFinished(() => void host.close());

    // The command's own fds, then the client, then it waits for our word.
    const script = 'for f in /proc/$$/fd/*; do echo "fd ${f##*/} $(readlink $f)"; done; node -e "$CLIENT"; read done';
    const [cmd, args, env] = runner(who, plan(who, script, SOCKETS, [`CLIENT=${CLIENT}`]));
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stdout = '', stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => (stdout += d).includes(']\n') && resolve()));

    // Meanwhile (the jail's 127.0.0.1:8081 is listening) the host's is the host's.
    const fromHost = await new Promise<string>((resolve) => {
      let got = '';
      net.connect(8081, '127.0.0.1').on('data', (d) => (got += d)).on('close', () => resolve(got)).end('from-test');
    });
    child.stdin.end('done\n');
    await new Promise((r) => child.on('close', r));

    const { result, out } = parse(stdout, stderr);
    expect(stderr).toBe('');
    const lines = out.trim().split('\n');
    const fds = lines.filter((l) => l.startsWith('fd '));
    // stdio: socket pairs here (libuv's pipes), then the glob's own directory fd
    expect(fds.filter((l) => /^fd [012] socket:/.test(l))).toHaveLength(3);
    expect(fds.filter((l) => !/^fd [012] /.test(l) && l.includes('socket:'))).toEqual([]);
    expect(JSON.parse(lines[lines.length - 1]!)).toEqual(['got:to-8081', 'got:to-443', 'got:to-53']);
    expect(result!.received).toEqual(['0:to-8081', '1:to-53', '2:to-443']);
    expect(result!.fds).toHaveLength(3);
    expect(result!.status).toEqual({ code: 0, signal: null });
    expect([fromHost, hostGot]).toEqual(['host', ['from-test']]);
  });

  it('two sockets on one address and port: EADDRINUSE at bind, step network, named; nothing ran', () => {
    const twice: NativeSocket[] = [{ type: 'udp', addr: '::1', port: 5353 }, { type: 'tcp', addr: '127.0.0.1', port: 9000 }, { type: 'tcp', addr: '127.0.0.1', port: 9000 }];
    const r = run(who, plan(who, 'echo ran', twice));
    expect(r.failure).toMatchObject({ code: 'EADDRINUSE', step: 'network', syscall: 'bind', path: 'tcp 127.0.0.1:9000' });
    expect([r.status, r.out]).toEqual([125, '']);
  });

  it('superviseAsync: the command\'s exit status or signal, while the event loop runs', () => {
    const exit = run(who, plan(who, 'sleep 0.3; exit 3', undefined));
    expect(exit.result).toMatchObject({ status: { code: 3, signal: null }, fds: [] });
    expect(exit.result!.ticks).toBeGreaterThanOrEqual(10); // every 10 ms for 300
    const killed = run(who, plan(who, 'sleep 0.3; kill -TERM $$', undefined));
    expect(killed.result).toMatchObject({ status: { code: null, signal: 15 } });
    expect(killed.result!.ticks).toBeGreaterThanOrEqual(10);
  });

  it('spawn() meanwhile is refused (EBUSY): the supervised child is still this one\'s', () => {
    const r = run(who, plan(who, 'sleep 0.1; exit 5', undefined), { NS_SECOND: '1' });
    expect(r.result).toMatchObject({ status: { code: 5, signal: null }, second: 'EBUSY' });
  });
});

describe('malformed sockets', () => {
  const call = (sockets: string, net = true) => {
    const p = `{ dropCaps: false, keepFds: [], file: '/bin/true', argv: ['true'], envp: [], namespaces: { uid: 0, gid: 0, net: ${net}, cwd: '/', view: [], sockets: ${sockets} } }`;
    const r = spawnSync(NODE, ['-e', `const a = require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'binding.js'))}).loadAddon();
try { a.spawn(${p}) } catch (e) { process.stdout.write(JSON.stringify({ thrown: e.constructor.name, message: e.message })) }`], { encoding: 'utf8' });
    return JSON.parse(r.stdout) as { thrown: string; message: string };
  };
  it.each([
    ['plan.namespaces.sockets needs net: the sockets are made in the jail\'s own network namespace', "[{ type: 'tcp', addr: '127.0.0.1', port: 1 }]", false],
    ['plan.namespaces.sockets must be an array', '7', true],
    ['plan.namespaces.sockets[0].type must be tcp or udp', "[{ type: 'sctp', addr: '127.0.0.1', port: 1 }]", true],
    ['plan.namespaces.sockets[0].addr must be an IPv4 or IPv6 address', "[{ type: 'tcp', addr: 'localhost', port: 1 }]", true],
    ['plan.namespaces.sockets[0].port must be an integer from 1 to 65535', "[{ type: 'udp', addr: '::', port: 0 }]", true],
    ['plan.namespaces.sockets must hold at most 16', `Array(17).fill({ type: 'tcp', addr: '::1', port: 1 })`, true],
  ])('a TypeError that names the field: %s', (message, sockets, withNet) => {
    expect(call(sockets, withNet)).toEqual({ thrown: 'TypeError', message });
  });
});

describe('apply.ts words a socket that cannot be made', () => {
  it('names it, with a hint for a port taken twice', () => {
    const e = explain({ message: '', name: 'Error', step: 'network', syscall: 'bind', code: 'EADDRINUSE', errno: -98, path: 'tcp 0.0.0.0:443' }, { file: '/bin/true', argv: ['true'], env: {} }) as Error & { hint?: string };
    expect([e.message, e.hint]).toEqual(['cannot apply the jail: step network failed: bind tcp 0.0.0.0:443: EADDRINUSE.', "two sockets of the jail's own network take the same address and port."]);
  });
});
