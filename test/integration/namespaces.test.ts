/**
 * The namespace layer (issue 10), judged from outside: what is not granted
 * does not exist. Each attack also runs with the fallback forced
 * (--no-namespaces), where it works: that is what this layer adds, and the
 * proof that the test would see it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, JAIL, NODE, REPO, inNamespaces, jail, lacksAbi, needs, makeWorld, outsideProcess, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('ns');
});
afterAll(() => removeWorld(w));

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];
const gated = (d: string, f: () => void) => inNamespaces('a kernel that allows user namespaces').describe(d, f);

gated('what is not granted does not exist', () => {
  const py = (code: string) => ['/usr/bin/python3', '-c', code];
  for (const [who, asNobody] of users) {
    const it = strictJail.it;
    it(`(${who}) chmod, utime and setxattr leave a file outside every grant, and one under --ro, unchanged`, () => {
      const outside = path.join(w.outside, `meta-${who}.txt`);
      const ro = path.join(w.proj, `ro-${who}.txt`);
      for (const f of [outside, ro]) {
        fs.writeFileSync(f, 'x');
        fs.chmodSync(f, 0o666);
        fs.utimesSync(f, 1_000_000, 1_000_000);
        if (asNobody) fs.chownSync(f, 65534, 65534); // its own files, which it may chmod where it can reach them
      }
      const attack = (f: string) =>
        py(`
import os
for name, op in [('chmod', lambda: os.chmod(${JSON.stringify(f)}, 0o777)), ('utime', lambda: os.utime(${JSON.stringify(f)}, (5, 5))), ('xattr', lambda: os.setxattr(${JSON.stringify(f)}, 'user.planted', b'1'))]:
    try:
        op(); print(name, 'ok')
    except OSError as e:
        print(name, e.errno)
`);
      const r1 = jail(w, ['--ro', '.', '--', ...attack(outside)], { asNobody });
      const r2 = jail(w, ['--ro', '.', '--', ...attack(ro)], { asNobody });
      for (const f of [outside, ro]) {
        expect(fs.statSync(f).mode & 0o777, f).toBe(0o666);
        expect(fs.statSync(f).mtimeMs, f).toBe(1_000_000_000);
      }
      expect(r1.stdout).toMatch(/chmod 2\n/); // ENOENT: not there
      expect(r2.stdout).toMatch(/chmod 30\n/); // EROFS: read-only
      // The fallback: Landlock does not govern chmod.
      const control = jail(w, ['--no-namespaces', '--ro', '.', '--', ...attack(outside)], { asNobody });
      expect(control.stdout).toMatch(/chmod ok/);
      expect(fs.statSync(outside).mode & 0o777).toBe(0o777);
    });

    it(`(${who}) an inotify watch on a directory outside gets nothing`, () => {
      const watch = py(`
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0o4000)
wd = libc.inotify_add_watch(fd, ${JSON.stringify(path.join(w.home, '.ssh'))}.encode(), 0x00000fff)
print('watch', wd if wd >= 0 else -ctypes.get_errno(), flush=True)
`);
      const r = jail(w, ['--ro', '.', '--', ...watch], { asNobody });
      expect(r.stdout).toMatch(/^watch -2\n/); // ENOENT
      const control = jail(w, ['--no-namespaces', '--ro', '.', '--', ...watch], { asNobody });
      expect(control.stdout).toMatch(/^watch [1-9]/);
    });
  }

  // Root's /etc is one bind, which shows what root alone may read too:
  // the view covers each such entry, so the view alone (no Landlock) keeps
  // /etc/shadow unread, and with Landlock it is refused as well.
  needs(IS_ROOT && fs.existsSync('/etc/shadow'), 'runs as root, with an /etc/shadow').it('(root) /etc/shadow is covered in the view: empty without Landlock, refused with it', () => {
    const real = fs.readFileSync('/etc/shadow', 'utf8').split('\n')[0]!;
    expect(real).toMatch(/^root:/);
    const read = ['sh', '-c', 'cat /etc/shadow; echo rc=$?; ls -l /etc/shadow; head -c 5 /etc/passwd'];
    const viewOnly = jail(w, ['--best-effort', '--ro', '.', '--', ...read], { env: { ...w.env, JAIL_LANDLOCK_ABI: '0' } });
    expect(viewOnly.stdout, printed(viewOnly)).toMatch(/rc=0\n-r--r--r-- .* 0 .*\/etc\/shadow\nroot:/);
    expect(printed(viewOnly)).not.toContain(real);
    if (!lacksAbi(6)) {
      const both = jail(w, ['--ro', '.', '--', ...read]);
      expect(both.stdout, printed(both)).toMatch(/rc=1\n/);
      expect(printed(both)).not.toContain(real);
    }
    // The control: granted, the same run shows the real file.
    const control = jail(w, ['--best-effort', '--ro', '.', '--ro', '/etc/shadow', '--', ...read], { env: { ...w.env, JAIL_LANDLOCK_ABI: '0' } });
    expect(printed(control)).toContain(real);
  });

  strictJail.it('a password in the command line of a process outside never reaches the command', () => {
    const secret = `--password=FAKE-${Date.now()}`;
    const outsider = outsideProcess('sh', ['-c', 'sleep 30', 'sh', secret]);
    try {
      // --ro / too: a grant above /proc binds the host's with it, under the jail's own.
      for (const grant of ['.', '/']) {
        const r = jail(w, ['--ro', grant, '--', 'sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "; echo; ls /proc | grep -c "^[0-9]"']);
        expect(r.status, printed(r)).toBe(0);
        expect(printed(r)).not.toContain(secret);
        expect(Number(r.stdout.trim().split('\n').pop())).toBeLessThanOrEqual(5); // init, sh, cat, ls, grep
      }
      const control = jail(w, ['--no-namespaces', '--ro', '.', '--', 'sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "']);
      expect(control.stdout).toContain(secret);
    } finally {
      outsider.stop();
    }
  });

  strictJail.it('--ro / shows no /sys of the host (devices, network interfaces, cgroups) unless /sys is granted by name', () => {
    // What only the host's /sys shows: its network interfaces (the jail's
    // network is a loopback of its own) and the cgroup tree.
    const hostOnly = fs.readdirSync('/sys/class/net').filter((n) => n !== 'lo').map((n) => `/sys/class/net/${n}`);
    hostOnly.push('/sys/fs/cgroup', '/sys/devices', '/sys/kernel');
    const look = ['sh', '-c', `ls -A /sys | wc -l; for p in ${hostOnly.join(' ')}; do test -e $p && echo "seen $p"; done; node -e 'console.log(require("os").cpus().length > 0)'`];
    for (const [, asNobody] of users) {
      const r = jail(w, ['--ro', '/', '--', ...look], { asNobody });
      expect(r.status, printed(r)).toBe(0);
      expect(r.stdout).toBe('0\ntrue\n'); // an empty /sys; node still runs
    }
    // Granted by name, it is the host's; and the fallback's --ro / shows it.
    for (const args of [['--ro', '/', '--ro', '/sys'], ['--no-namespaces', '--ro', '/']]) {
      const control = jail(w, [...args, '--', ...look]);
      for (const p of hostOnly) expect(control.stdout, printed(control)).toContain(`seen ${p}\n`);
    }
  });

  strictJail.it('ps lists only the command’s own processes; it is PID 2, under a small init', () => {
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"']);
    const [pid, count] = r.stdout.trim().split('\n').map(Number);
    expect(r.status, printed(r)).toBe(0);
    expect(pid).toBe(2);
    expect(count).toBeLessThanOrEqual(4); // init, sh, ls, grep
  });

  strictJail.it('uid and gid read as they do outside', () => {
    for (const [, asNobody] of users) {
      const r = jail(w, ['--ro', '.', '--', 'id', '-u'], { asNobody });
      expect(r.stdout.trim()).toBe(asNobody ? '65534' : String(process.getuid?.()));
    }
  });

  strictJail.it('paths come out as they are outside: /bin → usr/bin, nested grants, a single file, the working directory', () => {
    fs.mkdirSync(path.join(w.proj, 'out'), { recursive: true });
    const r = jail(w, ['--ro', '.', '--rw', './out', '--ro', path.join(w.home, '.aws', 'credentials'), '--', 'sh', '-c', 'readlink /bin; pwd; echo hi > out/x && cat out/x; echo no > README.md; test -f ' + path.join(w.home, '.aws', 'credentials') + ' && echo file; test -e ' + path.join(w.home, '.ssh') + ' || echo nossh']);
    expect(r.stdout).toBe(`usr/bin\n${w.proj}\nhi\nfile\nnossh\n`);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(fs.readFileSync(path.join(w.proj, 'out', 'x'), 'utf8')).toBe('hi\n');
  });
});

// --allow-sysv-ipc: System V IPC objects live in an IPC namespace, and
// without one of its own the command reaches every segment, semaphore and
// queue of the machine that its uid may (the user's other programs').
gated('System V IPC is the jail’s own', () => {
  for (const [who, asNobody] of users) {
    strictJail.it(`(${who}) with --allow-sysv-ipc, a segment and a queue outside can be neither read nor removed; IPC inside works`, () => {
      const ts = (args: string[]) =>
        asNobody ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', w.trySyscall, ...args], { encoding: 'utf8' }) : spawnSync(w.trySyscall, args, { encoding: 'utf8' });
      const key = String(0x4a000000 + ((process.pid * 7919 + (asNobody ? 1 : 0)) % 0xffffff));
      const secret = `SHM-SECRET-${Date.now()}`;
      const shm = ts(['shm-create', key, secret]);
      expect(shm.status, shm.stderr).toBe(0);
      const shmid = shm.stdout.trim();
      expect(ts(['msg-create', key]).status).toBe(0);
      try {
        const attack = `${w.trySyscall} shm-read ${key}; echo read=$?; ${w.trySyscall} shm-rm ${key}; echo rm=$?; ${w.trySyscall} shm-rm-id ${shmid}; echo rmid=$?; ${w.trySyscall} msg-rm ${key}; echo msgrm=$?; ipcs -m -q`;
        const r = jail(w, ['--allow-sysv-ipc', '--ro', '.', '--ro', w.trySyscall, '--', 'sh', '-c', attack], { asNobody });
        expect(r.status, printed(r)).toBe(0);
        expect(printed(r)).not.toContain(secret);
        expect(r.stdout).toMatch(/read=2\nrm=2\nrmid=22\nmsgrm=2\n/); // ENOENT, EINVAL: not there
        expect(r.stdout).not.toContain(Number(key).toString(16));
        // From outside: both alive, the segment unchanged.
        expect(ts(['shm-read', key]).stdout).toBe(`${secret}\n`);
        expect(ts(['msg-create', key]).status).toBe(17); // EEXIST: the queue too
        // Inside, two processes share a segment.
        const inside = jail(w, ['--allow-sysv-ipc', '--ro', '.', '--ro', w.trySyscall, '--', 'sh', '-c', `${w.trySyscall} shm-create 4242 shared-inside >/dev/null && ${w.trySyscall} shm-read 4242`], { asNobody });
        expect(inside.stdout, printed(inside)).toBe('shared-inside\n');
        // The control: the fallback (best effort) reaches them; it only reads.
        const control = jail(w, ['--no-namespaces', '--best-effort', '--allow-sysv-ipc', '--ro', '.', '--ro', w.trySyscall, '--', w.trySyscall, 'shm-read', key], { asNobody });
        expect(control.stdout, printed(control)).toContain(secret);
      } finally {
        ts(['shm-rm', key]);
        ts(['msg-rm', key]);
        ts(['shm-rm', '4242']); // none outside, unless inside was not
      }
    });
  }
});

gated('compatibility', () => {
  strictJail.it('UNIX sockets under the granted paths work, as tsx’s IPC needs; the fallback refuses them', () => {
    const script = `
const net = require('net'), path = require('path');
const p = path.join(process.env.TMPDIR, 'ipc.sock');
const srv = net.createServer((c) => c.end('pong')).listen(p, () => {
  net.connect(p).on('data', (d) => { console.log(String(d)); srv.close(); }).on('error', (e) => { console.log(e.code); process.exit(1); });
}).on('error', (e) => { console.log(e.code); process.exit(1); });`;
    const r = jail(w, ['--ro', '.', '--', NODE, '-e', script]);
    expect([r.status, r.stdout.trim()]).toEqual([0, 'pong']);
    expect(jail(w, ['--no-namespaces', '--ro', '.', '--', NODE, '-e', script]).status).not.toBe(0);
  });

  strictJail.it('a tool that clears GIT_CONFIG_GLOBAL still finds the sanitised ~/.gitconfig at its real path', () => {
    fs.writeFileSync(path.join(w.home, '.gitconfig'), '[user]\n\tname = Jailed User\n[credential]\n\thelper = store\n');
    const cmd = ['sh', '-c', 'unset GIT_CONFIG_GLOBAL; git config --global user.name; git config --global credential.helper || echo none'];
    const r = jail(w, ['--ro', '.', '--', ...cmd]);
    expect([r.status, r.stdout]).toEqual([0, 'Jailed User\nnone\n']);
    expect(jail(w, ['--no-namespaces', '--ro', '.', '--', ...cmd]).stdout).not.toContain('Jailed User');
  });

  strictJail.it('a server on localhost works inside, and nothing outside is reachable from it', async () => {
    const net = await import('node:net');
    let got = '';
    const outsideServer = net.createServer((c) => c.on('data', (d) => (got += d)));
    await new Promise<void>((r) => outsideServer.listen(0, '127.0.0.1', r));
    const port = (outsideServer.address() as import('node:net').AddressInfo).port;
    try {
      const script = `
const net = require('net');
const s = net.createServer((c) => c.end('local')).listen(0, '127.0.0.1', () => {
  net.connect(s.address().port, '127.0.0.1').on('data', (d) => {
    console.log(String(d));
    net.connect(${port}, '127.0.0.1', function () { this.end('exfil'); console.log('outside reached'); }).on('error', (e) => { console.log(e.code); s.close(); });
  });
});`;
      const r = spawnSync(NODE, [JAIL, '--ro', '.', '--', NODE, '-e', script], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000 });
      expect(r.stdout).toMatch(/^local\nECONNREFUSED\n$/);
      await new Promise((res) => setTimeout(res, 100));
      expect(got).toBe('');
    } finally {
      outsideServer.close();
    }
  });
});

gated('a jail inside a jail', () => {
  strictJail.it('falls back on its own where the outer jail refuses namespaces, and runs', () => {
    const r = jail(w, ['--ro', '.', '--ro', REPO, '--', NODE, JAIL, '-v', '--ro', '.', '--', 'sh', '-c', 'echo inner']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toBe('inner\n');
    expect(r.stderr).toMatch(/layer: Landlock and seccomp only \(namespaces refused here: /);
    expect(r.stderr).toMatch(/--require-namespaces|open in this layer/);
    const strict = jail(w, ['--ro', '.', '--ro', REPO, '--', NODE, JAIL, '--require-namespaces', '--ro', '.', '--', 'true']);
    expect(strict.status).toBe(125);
  });

  // Prepared for the namespace layer (assumed, not probed), the inner run's
  // listings beside a hidden path hold only the way down; falling back, it
  // lists the rest then (run.ts, withFullListings), or the Landlock layer
  // would refuse to split the grant around the .env (or grant too little).
  strictJail.it('falls back with what is beside a hidden path listed then: the .env stays hidden, what is beside it readable', () => {
    const proj = fs.mkdtempSync(path.join(w.root, 'nested-'));
    fs.mkdirSync(path.join(proj, 'sub'));
    fs.writeFileSync(path.join(proj, 'package.json'), '{}\n');
    fs.writeFileSync(path.join(proj, 'beside.txt'), 'BESIDE\n');
    fs.writeFileSync(path.join(proj, 'sub', 'deeper.txt'), 'DEEPER\n');
    fs.writeFileSync(path.join(proj, '.env'), 'TOKEN=NESTED-SECRET\n');
    // The outer jail shows the .env (--unhide): only the inner one hides it.
    const outer = ['--ro', proj, '--unhide', path.join(proj, '.env'), '--ro', REPO, '--', NODE, JAIL, '-v', '--ro', '.'];
    const cmd = ['--', 'sh', '-c', 'cat beside.txt sub/deeper.txt; cat .env 2>&1; true'];
    const r = jail(w, [...outer, ...cmd], { cwd: proj });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stderr).toMatch(/layer: Landlock and seccomp only \(namespaces refused here: /);
    expect(r.stdout).toMatch(/^BESIDE\nDEEPER\n/);
    expect(r.stdout).not.toContain('NESTED-SECRET');
    const control = jail(w, [...outer, '--unhide', '.env', ...cmd], { cwd: proj });
    expect(control.stdout).toContain('NESTED-SECRET');
  });
});
