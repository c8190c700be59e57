/**
 * --best-effort on the run's kernel: what the Landlock ABI in use still
 * enforces, judged from outside, and one warning for each thing it leaves
 * out (README, "Kernel requirements"). On a current kernel best effort
 * drops nothing. CI runs them again with JAIL_LANDLOCK_ABI=3 (.ci/run), as
 * on Linux 6.2, where TCP rules and scoping are missing and the syscall
 * filter refuses TCP sockets instead.
 */
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jail, jailAsync, kernel, makeWorld, needs, needsAbi, needsKernelAbi, outsideProcess, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('best-effort');
});
afterAll(() => removeWorld(w));

const ABI = kernel.landlockAbi;
const EPERM = 1;
const EACCES = 13;
const ENOENT = 2;
// The Landlock layer's features by ABI: in the fallback layer, where they
// are all there is (the namespace layer has its own tests).
const BE = ['--best-effort', '--no-namespaces', '--ro', '.'];

/** What best effort leaves out on ABI `abi`, in the order the CLI warns. */
function expectedDrops(abi: number, asked: { connect?: boolean; unixPath?: boolean; logDenials?: boolean }): string[] {
  if (abi === 0) return ['all file system and network confinement'];
  return [
    abi < 3 && 'truncation control',
    abi < 9 && asked.unixPath && 'UNIX socket path control',
    abi < 4 && asked.connect && 'TCP port control',
    abi < 6 && 'signal scoping',
    abi < 6 && 'abstract UNIX socket scoping',
    abi < 7 && asked.logDenials && 'audit logging of denials',
  ].filter((x): x is string => typeof x === 'string');
}

/** The features named by best effort's warnings on stderr. */
const dropped = (stderr: string) =>
  stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => /^jail: warning: --best-effort: running without (.+?)(?: \(needs|: this kernel|$)/.exec(l)?.[1] ?? `unexpected: ${l}`);

async function listen(kind: 'tcp' | 'udp' | 'abstract') {
  const got: string[] = [];
  if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => got.push(String(m)));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    return { at: String(sock.address().port), got, close: () => new Promise<void>((r) => sock.close(() => r())) };
  }
  const server = net.createServer((s) => s.on('data', (d) => got.push(String(d))));
  const name = `jail-best-effort-${process.pid}-${Date.now()}`;
  await new Promise<void>((r) => (kind === 'tcp' ? server.listen(0, '127.0.0.1', r) : server.listen('\0' + name, r)));
  const at = kind === 'tcp' ? String((server.address() as net.AddressInfo).port) : name;
  return { at, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('--best-effort on the run’s kernel', () => {
  it('runs the command and warns once for each feature this ABI lacks, and for nothing else', () => {
    const sock = path.join(w.proj, 'README.md'); // any existing path: the rule is refused or dropped before use
    const r = jail(w, [...BE, '--allow-connect', '443', '--allow-unix', sock, '--log-denials', '--', 'sh', '-c', 'echo ran']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'ran\n']);
    expect(dropped(r.stderr)).toEqual(expectedDrops(ABI, { connect: true, unixPath: true, logDenials: true }));
    const plain = jail(w, [...BE, '--', 'true']);
    expect([plain.status, dropped(plain.stderr)]).toEqual([0, expectedDrops(ABI, {})]);
  });

  needsAbi(1, 'file system rules').it('keeps the secrets in $HOME out of reach; the control with the grant reads them', () => {
    const key = path.join(w.home, '.ssh', 'id_ed25519');
    const denied = jail(w, [...BE, '--', 'cat', key]);
    expect(denied.status).not.toBe(0);
    expect(printed(denied)).not.toContain(w.secrets.ssh);
    const control = jail(w, [...BE, '--ro', w.home, '--', 'cat', key]);
    expect([control.status, control.stdout]).toEqual([0, `${w.secrets.ssh}\n`]);
  });

  needsAbi(1, 'file system rules').it('leaves everything outside --rw unchanged', () => {
    const before = fs.readdirSync(w.outside).sort();
    for (const script of ['echo pwned > keep.txt', 'rm -f keep.txt', 'mkdir planted', 'mv keep.txt moved.txt']) {
      const r = jail(w, [...BE, '--rw', w.proj, '--', 'sh', '-c', `cd ${w.outside} && ${script}`]);
      expect(r.status, script).not.toBe(0);
    }
    expect(fs.readFileSync(path.join(w.outside, 'keep.txt'), 'utf8')).toBe('outside original\n');
    expect(fs.readdirSync(w.outside).sort()).toEqual(before);
  });

  needsAbi(3, 'truncation control').it('a file under --ro cannot be truncated', () => {
    const r = jail(w, [...BE, '--', 'truncate', '-s', '0', 'README.md']);
    expect(r.status).not.toBe(0);
    expect(fs.readFileSync(path.join(w.proj, 'README.md'), 'utf8')).toBe('project readme\n');
  });

  /** rename(2) then link(2) of a/f to b/f inside a fresh --rw directory; prints "ok" or the errno of each. */
  const acrossDirectories = () => {
    const rw = fs.mkdtempSync(path.join(w.proj, 'refer-'));
    fs.mkdirSync(path.join(rw, 'a'));
    fs.mkdirSync(path.join(rw, 'b'));
    fs.writeFileSync(path.join(rw, 'a', 'f'), 'x');
    // Called directly: mv copies when rename fails with EXDEV.
    const py = 'import os\nfor f in (os.rename, os.link):\n  try: f("a/f", "b/f") if f is os.rename else f("b/f", "a/g"); print("ok")\n  except OSError as e: print(e.errno)';
    const r = jail(w, ['--best-effort', '--rw', rw, '--', 'sh', '-c', 'cd "$0" && exec /usr/bin/python3 -c "$1"', rw, py]);
    return { r, rw };
  };

  needsAbi(2, 'REFER: renames across directories').it('renames and links across directories inside --rw', () => {
    const { r, rw } = acrossDirectories();
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'ok\nok\n']);
    expect(fs.readdirSync(path.join(rw, 'a')).sort()).toEqual(['g']);
  });

  needs(ABI === 1, 'only on Landlock ABI 1, which lacks REFER').it('on ABI 1, rename(2) across directories inside --rw fails with EXDEV, as the README says', () => {
    const { r, rw } = acrossDirectories();
    expect([r.status, r.stdout], printed(r)).toEqual([0, '18\n2\n']); // EXDEV; then ENOENT, as b/f never came
    expect(fs.readdirSync(path.join(rw, 'b'))).toEqual([]);
  });

  it('a TCP listener receives nothing: Landlock refuses the connect (ABI 4+), or the syscall filter the socket', async () => {
    const l = await listen('tcp');
    try {
      const r = await jailAsync(w, [...BE, '--', w.trySyscall, 'tcp-connect', l.at, 'leak-tcp']);
      expect(r.status, printed(r)).toBe(ABI >= 4 ? EACCES : EPERM);
      // Control: unjailed, the same connection delivers.
      expect(spawnSync(w.trySyscall, ['tcp-connect', l.at, 'control-tcp']).status).toBe(0);
      await settle();
      expect(l.got).toEqual(['control-tcp']);
    } finally {
      await l.close();
    }
  });

  it('--allow-connect PORT connects on ABI 4+, and fails closed below', async () => {
    const l = await listen('tcp');
    try {
      const r = await jailAsync(w, [...BE, '--allow-connect', l.at, '--', w.trySyscall, 'tcp-connect', l.at, 'allowed']);
      expect(r.status).toBe(ABI >= 4 ? 0 : EPERM);
      await settle();
      expect(l.got).toEqual(ABI >= 4 ? ['allowed'] : []);
    } finally {
      await l.close();
    }
  });

  it('UDP and abstract UNIX listeners receive nothing (the syscall filter, on any ABI)', async () => {
    const udp = await listen('udp');
    const abstract = await listen('abstract');
    try {
      expect((await jailAsync(w, [...BE, '--', w.trySyscall, 'udp-send', udp.at, 'leak-udp'])).status).toBe(EPERM);
      expect((await jailAsync(w, [...BE, '--', w.trySyscall, 'abstract-connect', abstract.at, 'leak-abstract'])).status).toBe(EPERM);
      // Controls: unjailed, both deliver.
      expect(spawnSync(w.trySyscall, ['udp-send', udp.at, 'control-udp']).status).toBe(0);
      expect(spawnSync(w.trySyscall, ['abstract-connect', abstract.at, 'control-abstract']).status).toBe(0);
      await settle();
      expect([udp.got, abstract.got]).toEqual([['control-udp'], ['control-abstract']]);
    } finally {
      await udp.close();
      await abstract.close();
    }
  });

  needsAbi(6, 'signal scoping').it('a process outside survives kill from inside', async () => {
    const outside = outsideProcess('setpriv', ['--inh-caps=-all', '--bounding-set=-all', 'sleep', '30']);
    try {
      expect((await jailAsync(w, [...BE, '--', w.trySyscall, 'kill', String(outside.pid), '9'])).status).toBe(EPERM);
      expect(outside.alive()).toBe(true);
    } finally {
      outside.stop();
    }
  });
});

describe('what the fallback cannot keep private', () => {
  strictJail.it('--allow-sysv-ipc: refused with exit 125, naming the IPC namespace and --best-effort', () => {
    const strict = jail(w, ['--no-namespaces', '--allow-sysv-ipc', '--ro', '.', '--', 'sh', '-c', 'echo ran']);
    expect([strict.status, strict.stdout]).toEqual([125, '']);
    expect(strict.stderr).toMatch(/^jail: cannot keep --allow-sysv-ipc to the jail's own objects without the namespace layer \(turned off \(--no-namespaces\)\): System V shared memory, semaphores and message queues are the machine's: .*\n {2}hint: .*user namespaces.*--best-effort/);
  });
  it('--allow-sysv-ipc with --best-effort runs, warning that the machine’s objects are reachable', () => {
    const r = jail(w, ['--no-namespaces', '--best-effort', '--allow-sysv-ipc', '--ro', '.', '--', 'sh', '-c', 'echo ran']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'ran\n']);
    expect(r.stderr).toMatch(/^jail: warning: --best-effort: running without an IPC namespace of its own for --allow-sysv-ipc \(no namespace layer: turned off \(--no-namespaces\)\): System V shared memory, semaphores and message queues are the machine's/m);
  });
});

describe('features newer than the kernel, without --best-effort', () => {
  const withAbi = (abi: number) => ({ env: { ...w.env, JAIL_LANDLOCK_ABI: String(abi) } });

  needsKernelAbi(6, 'simulates ABI 6').it('ABI 6 refuses --log-denials with exit 125, naming it; best effort runs without it', () => {
    const strict = jail(w, ['--log-denials', '--ro', '.', '--', 'true'], withAbi(6));
    expect(strict.status).toBe(125);
    expect(strict.stderr).toMatch(/cannot enforce --log-denials: this kernel has Landlock ABI 6; audit logging of denials needs ABI 7 \(Linux 6\.15\)\./);
    const r = jail(w, ['--best-effort', '--log-denials', '--ro', '.', '--', 'true'], withAbi(6));
    expect([r.status, dropped(r.stderr)]).toEqual([0, ['audit logging of denials']]);
  });

  needsAbi(7, 'audit log flags').it('--log-denials runs the command', () => {
    const r = jail(w, ['--log-denials', '--ro', '.', '--', 'sh', '-c', 'echo ran']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'ran\n', '']);
  });

  needsKernelAbi(6, 'simulates ABI 6 to 8').it('below ABI 9, best effort with --allow-unix PATH says what each layer does instead, and does it', async () => {
    const sock = path.join(w.proj, `outside-${process.pid}.sock`);
    const server = net.createServer((c) => c.end('hello from outside\n'));
    await new Promise<void>((r) => server.listen(sock, r));
    const connect = ['python3', '-c', `import socket\ntry:\n  s = socket.socket(socket.AF_UNIX); s.connect(${JSON.stringify(sock)}); print(s.recv(64).decode().strip())\nexcept OSError as e: print('errno', e.errno)`];
    const run = (args: string[]) => jailAsync(w, ['--best-effort', '--allow-unix', sock, ...args, '--', ...connect], withAbi(Math.min(8, kernel.landlockAbiFound)));
    const line = (stderr: string) => /^jail: warning: --best-effort: running without UNIX socket path control .*$/m.exec(stderr)?.[0] ?? '';
    try {
      const fallback = await run(['--no-namespaces', '--rw', '.']);
      expect(line(fallback.stderr)).toMatch(/; UNIX sockets are refused instead \(socketpair still works\), .*outside-\d+\.sock included$/);
      expect(fallback.stdout).toBe(`errno ${EPERM}\n`); // socket() itself
      if (kernel.namespaces.ok) {
        // PATH is reached where a grant shows it, a read-only one too (named,
        // it is not covered as other sockets of processes outside are);
        // without a grant it is not there.
        for (const [grant, out] of [['--ro', 'hello from outside\n'], ['--rw', 'hello from outside\n'], ['--ro', `errno ${ENOENT}\n`]] as const) {
          const r = await run(out.startsWith('errno') ? [grant, 'src'] : [grant, '.']);
          expect(line(r.stderr)).toMatch(/; the view decides instead: UNIX sockets work under the granted paths, as without --allow-unix \(under a read-only grant a socket of a process outside is covered, but not .*outside-\d+\.sock\), and .*outside-\d+\.sock only where a grant shows it$/);
          expect(r.stdout, `${grant}: ${printed(r)}`).toBe(out);
        }
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  needsKernelAbi(6, 'simulates ABI 6 to 8').it('below ABI 9, --allow-unix PATH is refused with exit 125, naming it', () => {
    const r = jail(w, ['--allow-unix', path.join(w.proj, 'README.md'), '--ro', '.', '--', 'true'], withAbi(Math.min(8, kernel.landlockAbiFound)));
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/cannot enforce --allow-unix PATH: this kernel has Landlock ABI [678]; UNIX socket path control needs ABI 9/);
  });
});
