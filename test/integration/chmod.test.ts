/**
 * No set-user-ID or set-group-ID bits through the chmod family (issue 8 D3).
 * Landlock does not govern chmod, so root (even with no capabilities) owns
 * and may chmod every system file it can name; a setuid binary planted that
 * way runs later, outside the jail, with root's rights. The filter refuses a
 * mode with S_ISUID or S_ISGID. Judged from outside: the mode on disk is
 * unchanged. Each syscall of the family is reached by a real program:
 * chmod(1) → fchmodat, Python's os.chmod → chmod (x86_64) or fchmodat with
 * dir_fd, Node's fs.fchmodSync → fchmod, ctypes → fchmodat2 and raw registers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IS_ROOT, inFallback, jail, makeWorld, printed, removeWorld, type World, strictJail } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('chmod');
});
afterAll(() => removeWorld(w));

const PY = '/usr/bin/python3';
const mode = (p: string) => fs.statSync(p).mode & 0o7777;
const oct = (m: number) => `0o${m.toString(8)}`;
let serial = 0;

/** A file and a directory owned by `uid` (else by whoever runs the tests), with ordinary modes, under `dir`. */
function targets(dir: string, uid?: number): { file: string; dir: string } {
  const n = serial++;
  const file = path.join(dir, `prog-${n}`);
  const sub = path.join(dir, `shared-${n}`);
  fs.writeFileSync(file, '#!/bin/sh\nid\n');
  fs.chmodSync(file, 0o755);
  fs.mkdirSync(sub);
  fs.chmodSync(sub, 0o775);
  if (uid !== undefined) {
    fs.chownSync(file, uid, uid);
    fs.chownSync(sub, uid, uid);
  }
  return { file, dir: sub };
}

/** A directory granted --rw, writable by nobody too. */
function rwDir(): string {
  const d = fs.mkdtempSync(path.join(w.proj, 'rw-'));
  fs.chmodSync(d, 0o777);
  return d;
}

/** Python: syscall(nr, *args) through ctypes, every argument a full 64-bit register. */
const pySyscall = (nrs: { x86_64: number; aarch64: number }, args: string) =>
  [
    'import ctypes, os, platform, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'libc.syscall.restype = ctypes.c_long',
    `nr = ${JSON.stringify(nrs)}[platform.machine()]`,
    `rc = libc.syscall(ctypes.c_long(nr), ${args})`,
    'e = ctypes.get_errno()',
    'print("rc", rc, "errno", e)',
    'sys.exit(e if rc < 0 else 0)',
  ].join('\n');
const AT_FDCWD = 'ctypes.c_long(-100)';
const cstr = (p: string) => `ctypes.c_char_p(${JSON.stringify(p)}.encode())`;
const reg = (v: bigint | number) => `ctypes.c_long(${BigInt.asIntN(64, BigInt(v))})`;
const FCHMODAT = { x86_64: 268, aarch64: 53 };
const FCHMODAT2 = { x86_64: 452, aarch64: 452 };
const EPERM = 1;

/** Ways to set a special bit: [name, argv for (file, dir), which target, the mode asked for]. */
type Attempt = [name: string, argv: (t: { file: string; dir: string }) => string[], target: 'file' | 'dir'];
const ATTEMPTS: Attempt[] = [
  ['chmod u+s FILE (fchmodat)', (t) => ['chmod', 'u+s', t.file], 'file'],
  ['chmod g+s DIR (fchmodat)', (t) => ['chmod', 'g+s', t.dir], 'dir'],
  ['chmod 4755 FILE', (t) => ['chmod', '4755', t.file], 'file'],
  ['python os.chmod(FILE, 0o4755) (chmod on x86_64)', (t) => [PY, '-c', `import os; os.chmod(${JSON.stringify(t.file)}, 0o4755)`], 'file'],
  [
    'python os.chmod(NAME, 0o2775, dir_fd=…) (fchmodat)',
    (t) => [
      PY,
      '-c',
      `import os; fd = os.open(${JSON.stringify(path.dirname(t.dir))}, os.O_PATH | os.O_DIRECTORY); os.chmod(${JSON.stringify(path.basename(t.dir))}, 0o2775, dir_fd=fd)`,
    ],
    'dir',
  ],
  ['fchmodat2(AT_FDCWD, FILE, 04755, 0)', (t) => [PY, '-c', pySyscall(FCHMODAT2, `${AT_FDCWD}, ${cstr(t.file)}, ${reg(0o4755)}, ${reg(0)}`)], 'file'],
  [
    'fchmodat with garbage in the high half of the mode register',
    (t) => [PY, '-c', pySyscall(FCHMODAT, `${AT_FDCWD}, ${cstr(t.file)}, ${reg((0xdeadbeefn << 32n) | 0o4755n)}`)],
    'file',
  ],
];

strictJail.describe.skipIf(!IS_ROOT)('as root, no setuid or setgid bit on a root-owned file outside every grant', () => {
  it.each(ATTEMPTS)('%s is refused and the mode is unchanged', (_name, argv, which) => {
    const t = targets(w.outside, 0);
    const before = mode(t[which]);
    const r = jail(w, ['--ro', '.', '--', ...argv(t)]);
    expect(oct(mode(t[which])), printed(r)).toBe(oct(before));
    expect(r.status, printed(r)).not.toBe(0);
    // The filter's EPERM; in the namespace layer the file is not there at all.
    // (the filter answers before the path is looked up, so EPERM in both).
    expect(printed(r)).toMatch(inFallback ? /Operation not permitted|PermissionError|errno 1\b/ : /Operation not permitted|PermissionError|errno 1\b|No such file|FileNotFoundError|errno 2\b/);
  });

  it('node fs.fchmodSync(fd, 0o4755) (fchmod) on a root-owned file granted --ro is refused', () => {
    // /usr/bin is in the system base read-only: this is `chmod u+s /usr/bin/bash`.
    const t = targets(w.outside, 0);
    const js = `const fs = require('fs'); fs.fchmodSync(fs.openSync(${JSON.stringify(t.file)}, 'r'), 0o4755)`;
    const r = jail(w, ['--ro', '.', '--ro', t.file, '--', 'node', '-e', js]);
    expect(oct(mode(t.file)), printed(r)).toBe(oct(0o755));
    expect(r.status).not.toBe(0);
    expect(printed(r)).toContain('EPERM');
  });
});

strictJail.describe.skipIf(!IS_ROOT)('as root inside --rw: ordinary modes still change, special bits do not', () => {
  it.each(ATTEMPTS)('%s is refused inside --rw too', (_name, argv, which) => {
    const rw = rwDir();
    const t = targets(rw, 0);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', ...argv(t)]);
    expect(oct(mode(t[which])), printed(r)).toBe(oct(which === 'file' ? 0o755 : 0o775));
    expect(r.status).not.toBe(0);
  });

  // Controls: the same programs and syscalls with ordinary modes work.
  const CONTROLS: Array<[string, (t: { file: string; dir: string }) => string[], 'file' | 'dir', number]> = [
    ['chmod 0644 FILE', (t) => ['chmod', '0644', t.file], 'file', 0o644],
    ['chmod +t DIR (sticky, 01775)', (t) => ['chmod', '+t', t.dir], 'dir', 0o1775],
    ['chmod u-s on a plain file', (t) => ['chmod', 'u-s,o-x', t.file], 'file', 0o754],
    ['python os.chmod(FILE, 0o600) (chmod)', (t) => [PY, '-c', `import os; os.chmod(${JSON.stringify(t.file)}, 0o600)`], 'file', 0o600],
    [
      'python os.chmod(NAME, 0o1777, dir_fd=…) (fchmodat)',
      (t) => [
        PY,
        '-c',
        `import os; fd = os.open(${JSON.stringify(path.dirname(t.dir))}, os.O_PATH | os.O_DIRECTORY); os.chmod(${JSON.stringify(path.basename(t.dir))}, 0o1777, dir_fd=fd)`,
      ],
      'dir',
      0o1777,
    ],
    ['node fs.fchmodSync(fd, 0o640) (fchmod)', (t) => ['node', '-e', `const fs = require('fs'); fs.fchmodSync(fs.openSync(${JSON.stringify(t.file)}, 'r'), 0o640)`], 'file', 0o640],
    ['fchmodat2(AT_FDCWD, FILE, 0700, 0)', (t) => [PY, '-c', pySyscall(FCHMODAT2, `${AT_FDCWD}, ${cstr(t.file)}, ${reg(0o700)}, ${reg(0)}`)], 'file', 0o700],
    // The kernel takes a umode_t: bits above it are ignored, and so are they by the filter.
    [
      'fchmodat with 1 << 32 above mode 0750',
      (t) => [PY, '-c', pySyscall(FCHMODAT, `${AT_FDCWD}, ${cstr(t.file)}, ${reg((1n << 32n) | 0o750n)}`)],
      'file',
      0o750,
    ],
  ];
  it.each(CONTROLS)('%s works', (_name, argv, which, want) => {
    const rw = rwDir();
    const t = targets(rw);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', ...argv(t)]);
    expect(r.status, printed(r)).toBe(0);
    expect(oct(mode(t[which]))).toBe(oct(want));
  });

  it('the refusal is EPERM from the filter, not a failure of the call', () => {
    const rw = rwDir();
    const t = targets(rw);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', PY, '-c', pySyscall(FCHMODAT, `${AT_FDCWD}, ${cstr(t.file)}, ${reg(0o4755)}`)]);
    expect(r.status, printed(r)).toBe(EPERM);
    // Unjailed, the same call succeeds: root owns the file.
    const control = jail(w, ['--ro', '.', '--rw', rw, '--allow-syscall', 'fchmodat', '--', PY, '-c', pySyscall(FCHMODAT, `${AT_FDCWD}, ${cstr(t.file)}, ${reg(0o4755)}`)]);
    expect(control.status, printed(control)).toBe(0);
    expect(oct(mode(t.file))).toBe(oct(0o4755));
  });
});

// Any user may set these bits on its own files; as root the tests run it as nobody.
const owner: [string, boolean, number | undefined] = IS_ROOT ? ['nobody', true, 65534] : ['this user', false, undefined];

strictJail.describe(`as ${owner[0]}, on its own files inside --rw`, () => {
  const [, asNobody, uid] = owner;

  it('chmod u+s is refused', () => {
    const rw = rwDir();
    const t = targets(rw, uid);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', 'chmod', 'u+s', t.file], { asNobody });
    expect(oct(mode(t.file)), printed(r)).toBe(oct(0o755));
    expect(r.status).not.toBe(0);
    expect(printed(r)).toContain('Operation not permitted');
  });

  it('chmod g+s on a directory is refused', () => {
    const rw = rwDir();
    const t = targets(rw, uid);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', 'chmod', 'g+s', t.dir], { asNobody });
    expect(oct(mode(t.dir)), printed(r)).toBe(oct(0o775));
    expect(r.status).not.toBe(0);
  });

  it('control: chmod 0700 works', () => {
    const rw = rwDir();
    const t = targets(rw, uid);
    const r = jail(w, ['--ro', '.', '--rw', rw, '--', 'chmod', '0700', t.file], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    expect(oct(mode(t.file))).toBe(oct(0o700));
  });
});
