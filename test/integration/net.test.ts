/**
 * The network policy and the seccomp filter, judged from outside: listeners
 * on loopback receive nothing, processes outside are untouched, the
 * terminal gets no injected keystrokes. Every attack has a control run in
 * which the flag that allows it is given, so the test would see a leak.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IS_ROOT, inFallback, jail, makeWorld, outsideProcess, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('net');
});
afterAll(() => removeWorld(w));

const EPERM = 1;
const EACCES = 13;
const ENOENT = 2;
const ECONNREFUSED = 111;
const EOPNOTSUPP = 95;

/** A listener outside the jail that records every byte it receives. */
async function tcpListener() {
  const got: string[] = [];
  const server = net.createServer((s) => s.on('data', (d) => got.push(d.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function udpListener() {
  const got: string[] = [];
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, got, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

async function unixListener(address: string) {
  const got: string[] = [];
  const server = net.createServer((s) => s.on('data', (d) => got.push(d.toString())));
  await new Promise<void>((r) => server.listen(address, r));
  return { got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const settle = () => new Promise((r) => setTimeout(r, 150));

/** Run try-syscall in the jail (async, so listeners in this process can answer). */
function trySys(args: string[], flags: string[] = []): Promise<{ status: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'jail.cjs'), '--ro', '.', ...flags, '--', w.trySyscall, ...args], {
      cwd: w.proj,
      env: w.env,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (status, signal) => resolve({ status, signal, out }));
  });
}

strictJail.describe('UDP', () => {
  it('a UDP listener receives nothing; with --allow-dns it would', async () => {
    const l = await udpListener();
    try {
      const denied = await trySys(['udp-send', String(l.port), 'leak-udp']);
      // Refused by the filter, or (namespace layer) sent into a network of its own.
      expect(denied.status).toBe(inFallback ? EPERM : 0);
      await settle();
      expect(l.got).toEqual([]);
      const control = await trySys(['udp-send', String(l.port), 'control-udp'], ['--allow-dns']);
      expect(control.status).toBe(0);
      await settle();
      expect(l.got).toEqual(['control-udp']);
    } finally {
      await l.close();
    }
  });
});

strictJail.describe('TCP', () => {
  /** A port that is not the listener's, for --allow-connect. */
  const anotherPort = (port: number) => String(port === 65535 ? 1 : port + 1);
  /** The control: where the port is allowed, a plain connect delivers. */
  async function controlDelivers(l: Awaited<ReturnType<typeof tcpListener>>) {
    const control = await trySys(['tcp-connect', String(l.port), 'control-tcp'], ['--allow-connect', String(l.port)]);
    expect(control.status).toBe(0);
    await settle();
    expect(l.got).toEqual(['control-tcp']);
  }

  it('a TCP listener receives nothing unless --allow-connect PORT', async () => {
    const l = await tcpListener();
    try {
      const denied = await trySys(['tcp-connect', String(l.port), 'leak-tcp']);
      expect(denied.status).toBe(inFallback ? EACCES : ECONNREFUSED); // Landlock's CONNECT_TCP, or a network of its own
      const other = await trySys(['tcp-connect', String(l.port), 'leak-tcp'], ['--allow-connect', anotherPort(l.port)]);
      expect(other.status).toBe(EACCES);
      await settle();
      expect(l.got).toEqual([]);
      await controlDelivers(l);
    } finally {
      await l.close();
    }
  });

  it('MPTCP, which Landlock does not govern, is refused', async () => {
    const l = await tcpListener();
    try {
      const denied = await trySys(['mptcp-connect', String(l.port), 'leak-mptcp']);
      if (inFallback) expect(denied.status).toBe(EPERM);
      else expect(denied.status).not.toBe(0); // a network of its own: nothing to connect to
      await settle();
      expect(l.got).toEqual([]);
    } finally {
      await l.close();
    }
  });

  it('TCP Fast Open (sendto, sendmsg, sendmmsg with MSG_FASTOPEN), which connects without connect() and so without Landlock\'s check, is refused', async () => {
    const l = await tcpListener();
    try {
      for (const how of ['sendto', 'sendmsg', 'sendmmsg', 'sendto-high']) {
        const denied = await trySys(['tcp-fastopen', String(l.port), `leak-tfo-${how}`, how]);
        // The answer of a kernel without client TFO, or a network of its own.
        expect([how, denied.status]).toEqual([how, inFallback ? EOPNOTSUPP : ECONNREFUSED]);
        // --allow-connect of another port (the shared network, Landlock's rules).
        const other = await trySys(['tcp-fastopen', String(l.port), `leak-tfo-other-${how}`, how], ['--allow-connect', anotherPort(l.port)]);
        expect([how, other.status]).toEqual([how, EOPNOTSUPP]);
      }
      await settle();
      expect(l.got).toEqual([]);
      // Control: where the port is allowed, a plain connect delivers (TFO stays off).
      await controlDelivers(l);
    } finally {
      await l.close();
    }
  });

  it('bind is denied unless --allow-bind', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    // In a network of its own, binding harms nothing: allowed (a test server works).
    expect((await trySys(['tcp-bind', String(port)])).status).toBe(inFallback ? EACCES : 0);
    expect((await trySys(['tcp-bind', String(port)], ['--allow-bind', String(port)])).status).toBe(0);
  });

  it('listen() on an unbound socket (which would pick a port) is refused under --net none', async () => {
    expect((await trySys(['tcp-listen-unbound'])).status).toBe(inFallback ? EPERM : 0);
    expect((await trySys(['tcp-listen-unbound'], ['--net', 'all'])).status).toBe(0);
  });
});

strictJail.describe('UNIX sockets', () => {
  it('a pathname UNIX listener outside receives nothing unless --allow-unix', async () => {
    const sock = path.join(w.root, 'outside.sock');
    const l = await unixListener(sock);
    try {
      const denied = await trySys(['unix-connect', sock, 'leak-unix']);
      expect(denied.status).toBe(inFallback ? EPERM : ENOENT); // refused, or not in the view
      await settle();
      expect(l.got).toEqual([]);
      const control = await trySys(['unix-connect', sock, 'control-unix'], ['--allow-unix', ...(inFallback ? [] : ['--rw', path.dirname(sock)])]);
      expect(control.status).toBe(0);
      await settle();
      expect(l.got).toEqual(['control-unix']);
    } finally {
      await l.close();
    }
  });

  // --ro / or --ro /tmp shows the user's agent, D-Bus session bus (systemd
  // runs what it is asked, outside any jail) and docker.sock: the namespace
  // layer, which allows UNIX sockets, covers each one it finds.
  it('a pathname UNIX listener outside under a read-only grant receives nothing unless --allow-unix', async () => {
    const dir = fs.mkdtempSync(path.join(w.root, 'ro-sockets-'));
    const sock = path.join(dir, 'agent.sock');
    const l = await unixListener(sock);
    try {
      const denied = await trySys(['unix-connect', sock, 'leak-ro-unix'], ['--ro', dir]);
      expect(denied.status).toBe(inFallback ? EPERM : EACCES); // refused, or an empty file over it
      await settle();
      expect(l.got).toEqual([]);
      const control = await trySys(['unix-connect', sock, 'control-ro-unix'], ['--ro', dir, '--allow-unix']);
      expect(control.status).toBe(0);
      await settle();
      expect(l.got).toEqual(['control-ro-unix']);
    } finally {
      await l.close();
    }
  });

  it('an abstract UNIX listener outside receives nothing, even with --allow-unix (Landlock scope)', async () => {
    const name = `jail-test-${process.pid}-${Date.now()}`;
    const l = await unixListener('\0' + name);
    try {
      const denied = await trySys(['abstract-connect', name, 'leak-abstract'], ['--allow-unix']);
      expect(denied.status).toBe(inFallback ? EPERM : ECONNREFUSED);
      await settle();
      expect(l.got).toEqual([]);
      // Control: unjailed, the same connection delivers.
      expect(spawnSync(w.trySyscall, ['abstract-connect', name, 'control-abstract']).status).toBe(0);
      await settle();
      expect(l.got).toEqual(['control-abstract']);
    } finally {
      await l.close();
    }
  });

  it('socketpair() works (pipes between processes)', async () => {
    expect((await trySys(['socketpair'])).status).toBe(0);
  });
});

strictJail.describe('other processes', () => {
  it('ptrace and process_vm_readv of a process outside fail', async () => {
    const outside = outsideProcess('setpriv', ['--inh-caps=-all', '--bounding-set=-all', 'sleep', '30']);
    try {
      expect((await trySys(['ptrace-attach', String(outside.pid)])).status).toBe(EPERM);
      expect((await trySys(['process-vm-readv', String(outside.pid)])).status).toBe(EPERM);
      expect(outside.alive()).toBe(true);
    } finally {
      outside.stop();
    }
  });

  it('setpriority on another pid is refused; on itself it works', async () => {
    // Same uid, no capabilities: only the filter stands in the way.
    const outside = outsideProcess('setpriv', ['--inh-caps=-all', '--bounding-set=-all', 'sleep', '30']);
    try {
      expect((await trySys(['setpriority', String(outside.pid)])).status).toBe(EPERM);
      expect((await trySys(['setpriority', '0'])).status).toBe(0);
      const nice = fs.readFileSync(`/proc/${outside.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16];
      expect(nice).toBe('0');
    } finally {
      outside.stop();
    }
  });

  it('keyctl cannot read a key added outside', () => {
    const token = `KEY-SECRET-${Date.now()}`;
    const id = spawnSync(w.trySyscall, ['add-key', token], { encoding: 'utf8' }).stdout.trim();
    expect(id).toMatch(/^\d+$/);
    try {
      expect(spawnSync(w.trySyscall, ['keyctl-read', id], { encoding: 'utf8' }).stdout).toBe(token); // control
      const r = jail(w, ['--ro', '.', '--', w.trySyscall, 'keyctl-read', id]);
      expect(r.status).toBe(EPERM);
      expect(printed(r)).not.toContain(token);
    } finally {
      spawnSync(w.trySyscall, ['unlink-key', id]);
    }
  });
});

strictJail.describe('the terminal', () => {
  // `script` gives the shell a pty; TIOCSTI would push "echo INJECTED" into
  // its input, where the `read` after the jailed command would find it.
  const inPty = (cmd: string) =>
    spawnSync('script', ['-qec', `bash -c '${cmd}; read -t 1 line; echo "got=$line"'`, '/dev/null'], {
      cwd: w.proj,
      env: w.env,
      encoding: 'utf8',
      input: '',
      timeout: 10_000,
    });
  it('TIOCSTI injects nothing, even with high bits set in the command word', () => {
    const jailBin = path.join(__dirname, '..', '..', 'bin', 'jail.cjs');
    for (const high of [[], ['high']]) {
      const r = inPty(`${process.execPath} ${jailBin} --ro . -- ${w.trySyscall} tiocsti INJECTED ${high.join(' ')}; echo rc=$?`);
      expect(r.stdout).toMatch(/rc=1\b/);
      expect(r.stdout).toMatch(/got=\s*$/m);
      expect(r.stdout).not.toContain('INJECTED');
    }
    // Control: unjailed, the ioctl succeeds and the terminal echoes what it
    // typed. (Whether `read` then gets the line depends on when script(1)
    // passes on the EOF of its own stdin: under load, before the injection.)
    const control = inPty(`${w.trySyscall} tiocsti INJECTED; echo rc=$?`);
    expect(control.stdout).toMatch(/rc=0\b/);
    expect(control.stdout).toContain('INJECTED');
  });
  it("TIOCSETD cannot leave the user's terminal dead after the run (N_NULL, 27, swallows all it shows)", () => {
    const jailBin = path.join(__dirname, '..', '..', 'bin', 'jail.cjs');
    const setd = `python3 -c "import fcntl, struct; fcntl.ioctl(0, 0x5423, struct.pack(\\"i\\", 27))"`;
    const r = inPty(`${process.execPath} ${jailBin} --ro . -- ${setd}; echo "alive rc=$?"`);
    expect(r.stdout).toMatch(/alive rc=1\b/);
    expect(r.stdout).toContain('PermissionError');
    // Control: unjailed, the terminal shows nothing more.
    const control = inPty(`${setd}; echo "alive rc=$?"`);
    expect(control.stdout).not.toContain('alive');
  });
});

strictJail.describe('namespaces, io_uring, legacy entry points', () => {
  it('unshare -Ur fails', () => {
    const r = jail(w, ['--ro', '.', '--', 'unshare', '-Ur', 'true']);
    expect(r.status).not.toBe(0);
    expect(spawnSync('unshare', ['-Ur', 'true']).status).toBe(0); // control: works unjailed
  });
  it('unshare(CLONE_NEWUSER) is EPERM, clone3 is ENOSYS, io_uring_setup is EPERM', async () => {
    expect((await trySys(['unshare-user'])).status).toBe(EPERM);
    expect((await trySys(['clone3'])).status).toBe(38);
    expect((await trySys(['io-uring-setup'])).status).toBe(EPERM);
    expect((await trySys(['bpf'])).status).toBe(EPERM);
    // Controls: unjailed, the same calls get as far as the bad pointer.
    expect(spawnSync(w.trySyscall, ['io-uring-setup']).status).toBe(14);
    expect(spawnSync(w.trySyscall, ['clone3']).status).toBe(14);
  });
  it.skipIf(process.arch !== 'x64')('a denied syscall through the 32-bit int 0x80 entry kills the process', async () => {
    const r = await trySys(['int80-unshare']);
    expect(r.signal).toBe('SIGSYS');
    expect(spawnSync(w.trySyscall, ['int80-unshare']).status).toBe(0); // control
  });
  it.skipIf(!IS_ROOT)('as root, open_by_handle_at fails', async () => {
    expect((await trySys(['open-by-handle'])).status).toBe(EPERM);
    expect(spawnSync(w.trySyscall, ['open-by-handle']).status).toBe(14); // control: EFAULT unjailed
  });
  it('POSIX message queues outside (shared with the host in the fallback) can be neither removed nor created', async () => {
    const [outside, planted] = [`/jail-mq-out-${process.pid}-${Date.now()}`, `/jail-mq-in-${process.pid}-${Date.now()}`];
    expect(spawnSync(w.trySyscall, ['mq-create', outside]).status).toBe(0); // control: an outside program's queue
    try {
      expect((await trySys(['mq-unlink', outside])).status).toBe(13); // EPERM, which glibc's mq_unlink turns into EACCES
      expect(spawnSync(w.trySyscall, ['mq-exists', outside]).status).toBe(0); // still there
      expect((await trySys(['mq-create', planted])).status).toBe(EPERM);
      expect(spawnSync(w.trySyscall, ['mq-exists', planted]).status).toBe(2); // ENOENT: nothing planted
    } finally {
      spawnSync(w.trySyscall, ['mq-unlink', outside]);
      spawnSync(w.trySyscall, ['mq-unlink', planted]);
    }
  });
  it('SysV shared memory is refused unless --allow-sysv-ipc (in the fallback, which has no IPC namespace of its own, only with --best-effort)', async () => {
    expect((await trySys(['shmget'])).status).toBe(EPERM);
    expect((await trySys(['shmget'], ['--allow-sysv-ipc'])).status).toBe(inFallback ? 125 : 0);
    expect((await trySys(['shmget'], ['--allow-sysv-ipc', '--best-effort'])).status).toBe(0);
  });
  it('--allow-syscall lifts one deny rule, and --print-policy shows it', async () => {
    expect((await trySys(['io-uring-setup'], ['--allow-syscall', 'io_uring_setup'])).status).toBe(14);
    const r = jail(w, ['--allow-syscall', 'io_uring_setup', '--print-policy', '--', 'true']);
    expect(r.stdout).toMatch(/io_uring_setup/);
    const bad = jail(w, ['--allow-syscall', 'no_such_syscall', '--', 'true']);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/no_such_syscall/);
  });
});
