/**
 * (arch, rules, syscall, args) → action, through the interpreter, on both
 * arches (libseccomp's and minijail's behaviour tables). Rows name syscalls,
 * so a row for a syscall an arch lacks (iopl on aarch64) is skipped there.
 */
import { describe, expect, it } from 'vitest';
import { ARCHES, aarch64, syscallNumber, x86_64, type Arch } from '../../../src/seccomp/arch/index.js';
import { compileSeccomp, UnknownSyscallError, type SeccompPlan, type SeccompRules } from '../../../src/seccomp/compile.js';
import {
  ADDR_NO_RANDOMIZE,
  AF_ALG,
  AF_BLUETOOTH,
  AF_INET,
  AF_INET6,
  AF_KEY,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  AF_VSOCK,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CLONE_THREAD_FLAGS,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  IOPRIO_WHO_PGRP,
  IOPRIO_WHO_PROCESS,
  IOPRIO_WHO_USER,
  IPPROTO_ICMP,
  IPPROTO_MPTCP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_FASTOPEN,
  NETLINK_AUDIT,
  NETLINK_ROUTE,
  PER_QUERY,
  PRIO_PGRP,
  PRIO_PROCESS,
  PRIO_USER,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_PACKET,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  S_ISGID,
  S_ISUID,
  S_ISVTX,
  TCGETS,
  TIOCLINUX,
  TIOCSETD,
  TIOCSTI,
} from '../../../src/seccomp/consts.js';
import { formatRet } from '../../../src/seccomp/disasm.js';
import { ALLOW, errno, interp, KILL_PROCESS } from '../../../src/seccomp/interp.js';
import { call, DEFAULT_RULES, nr, OPEN_RULES, rules } from './helpers.js';

const DENY = errno(EPERM);
const NOSYS = errno(ENOSYS);
const SIGCHLD = 17;

type Row = [name: string, args: (number | bigint)[] | 'no args', expected: number];

const plans = new Map<string, SeccompPlan>();
function plan(arch: Arch, r: SeccompRules): SeccompPlan {
  const key = `${arch.name} ${JSON.stringify(r)}`;
  let p = plans.get(key);
  if (!p) plans.set(key, (p = compileSeccomp(r, arch)));
  return p;
}

const hex = (v: number | bigint) => (v < 0x1000 ? String(v) : `0x${v.toString(16)}`);
const rowTitle = ([name, args, expected]: Row) =>
  `${name}(${args === 'no args' ? '' : args.map(hex).join(', ')}) → ${formatRet(expected)}`;

/** One it() per row and arch; 'no args' means the filter must not read any. */
function table(title: string, r: SeccompRules, rows: Row[]): void {
  describe(title, () => {
    for (const arch of ARCHES) {
      const present = rows
        .filter(([name]) => syscallNumber(arch, name) !== undefined)
        .map((row) => [`${arch.name}: ${rowTitle(row)}`, ...row] as const);
      it.each(present)('%s', (_, name, args, expected) => {
        const data = args === 'no args' ? call(arch, name) : call(arch, name, ...args);
        expect(formatRet(interp(plan(arch, r), data))).toBe(formatRet(expected));
      });
    }
  });
}

const NO_ARGS = 'no args' as const;

const AT_FDCWD = -100;
const PATH = 0x7ffd_1234_5000n; // a pointer: its bits are no mode
const AT_SYMLINK_NOFOLLOW = 0x100;
/** A mode with `garbage` in the high half of the register. */
const withHigh = (garbage: number, mode: number) => (BigInt(garbage) << 32n) | BigInt(mode);

table('ordinary syscalls are allowed without looking at arguments', DEFAULT_RULES, [
  ['read', NO_ARGS, ALLOW],
  ['write', NO_ARGS, ALLOW],
  ['openat', NO_ARGS, ALLOW],
  ['execve', NO_ARGS, ALLOW],
  ['close', NO_ARGS, ALLOW],
  ['mmap', NO_ARGS, ALLOW],
  ['exit_group', NO_ARGS, ALLOW],
  ['getpid', NO_ARGS, ALLOW],
  ['kill', NO_ARGS, ALLOW],
  ['connect', NO_ARGS, ALLOW],
  ['bind', NO_ARGS, ALLOW],
  ['socketpair', NO_ARGS, ALLOW],
  ['pidfd_open', NO_ARGS, ALLOW],
  ['seccomp', NO_ARGS, ALLOW],
  ['landlock_restrict_self', NO_ARGS, ALLOW],
  ['getpriority', NO_ARGS, ALLOW],
  ['sched_getaffinity', NO_ARGS, ALLOW],
  ['ioprio_get', NO_ARGS, ALLOW],
  ['mseal', NO_ARGS, ALLOW],
  ['fork', NO_ARGS, ALLOW],
  ['vfork', NO_ARGS, ALLOW],
  // Creation modes are not checked (see the chmod table below).
  ['open', NO_ARGS, ALLOW],
  ['creat', NO_ARGS, ALLOW],
  ['openat2', NO_ARGS, ALLOW],
  ['mkdirat', NO_ARGS, ALLOW],
  ['mknod', NO_ARGS, ALLOW],
  ['mknodat', NO_ARGS, ALLOW],
  ['fchown', NO_ARGS, ALLOW],
  ['fchownat', NO_ARGS, ALLOW],
]);

table('syscalls denied by number alone', DEFAULT_RULES, [
  ...(
    [
      'ptrace',
      'process_vm_readv',
      'process_vm_writev',
      'pidfd_getfd',
      'process_madvise',
      'kcmp',
      'mount',
      'umount2',
      'pivot_root',
      'move_mount',
      'open_tree',
      'fsopen',
      'fsconfig',
      'fsmount',
      'fspick',
      'mount_setattr',
      'unshare',
      'setns',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'keyctl',
      'add_key',
      'request_key',
      'kexec_load',
      'kexec_file_load',
      'init_module',
      'finit_module',
      'delete_module',
      'open_by_handle_at',
      'name_to_handle_at',
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
      'acct',
      'swapon',
      'swapoff',
      'reboot',
      'syslog',
      'iopl',
      'ioperm',
      'quotactl',
      'quotactl_fd',
      'vhangup',
      'fanotify_init',
      'listen',
      'shmget',
      'shmat',
      'shmctl',
      'shmdt',
      'msgget',
      'msgsnd',
      'msgrcv',
      'msgctl',
      'semget',
      'semop',
      'semtimedop',
      'semctl',
    ] as const
  ).map((name): Row => [name, NO_ARGS, DENY]),
  // libc falls back to clone(), whose flags the filter can read.
  ['clone3', NO_ARGS, NOSYS],
]);

table('clone: namespaces refused, threads and processes allowed', DEFAULT_RULES, [
  ['clone', [CLONE_NEWUSER], DENY],
  ['clone', [CLONE_NEWNS | SIGCHLD], DENY],
  ['clone', [CLONE_NEWCGROUP], DENY],
  ['clone', [CLONE_NEWUTS], DENY],
  ['clone', [CLONE_NEWIPC], DENY],
  ['clone', [CLONE_NEWPID], DENY],
  ['clone', [CLONE_NEWNET], DENY],
  ['clone', [CLONE_NEWTIME], DENY],
  ['clone', [CLONE_THREAD_FLAGS | CLONE_NEWUSER], DENY],
  ['clone', [0xffffffff_00000000n | BigInt(CLONE_NEWNET)], DENY],
  ['clone', [CLONE_THREAD_FLAGS], ALLOW],
  ['clone', [SIGCHLD], ALLOW],
  ['clone', [0x4000 /* CLONE_VFORK */ | 0x100 /* CLONE_VM */ | SIGCHLD], ALLOW],
  // The kernel reads the low 32 bits only, so a high-half CLONE_NEWUSER is no namespace.
  ['clone', [BigInt(CLONE_NEWUSER) << 32n], ALLOW],
  ['unshare', [0], DENY],
  ['unshare', [CLONE_NEWUSER], DENY],
]);

table('ioctl: TIOCSTI, TIOCLINUX and TIOCSETD refused on any fd, whatever the high half', DEFAULT_RULES, [
  ['ioctl', [0, TIOCSTI], DENY],
  ['ioctl', [1, TIOCLINUX], DENY],
  ['ioctl', [0, TIOCSETD], DENY],
  ['ioctl', [3, 0xffffffff_00005423n], DENY],
  ['ioctl', [0, 0x5424 /* TIOCGETD */], ALLOW],
  ['ioctl', [3, 0xdeadbeef_00005412n], DENY],
  ['ioctl', [3, 0xffffffff_0000541cn], DENY],
  ['ioctl', [0, TCGETS], ALLOW],
  ['ioctl', [0, 0x541b /* FIONREAD */], ALLOW],
  ['ioctl', [0, 0x5413 /* TIOCGWINSZ */], ALLOW],
  ['ioctl', [0, TIOCSTI + 0x10000], ALLOW],
]);

table('socket, default rules (TCP through Landlock only)', DEFAULT_RULES, [
  ['socket', [AF_INET, SOCK_STREAM, 0], ALLOW],
  ['socket', [AF_INET6, SOCK_STREAM, IPPROTO_TCP], ALLOW],
  ['socket', [AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0], ALLOW],
  ['socket', [AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP], ALLOW],
  // Only the low 32 bits are the kernel's int.
  ['socket', [0x1_00000000n | BigInt(AF_INET), SOCK_STREAM, 0], ALLOW],
  ['socket', [AF_INET, SOCK_STREAM | 0x100, 0], DENY],
  ['socket', [AF_INET6, SOCK_STREAM, IPPROTO_MPTCP], DENY],
  ['socket', [AF_INET, SOCK_STREAM, IPPROTO_UDP], DENY],
  ['socket', [AF_INET, SOCK_DGRAM, 0], DENY],
  ['socket', [AF_INET6, SOCK_DGRAM, IPPROTO_UDP], DENY],
  ['socket', [AF_INET, SOCK_RAW, IPPROTO_ICMP], DENY],
  ['socket', [AF_INET, SOCK_SEQPACKET, 0], DENY],
  ['socket', [AF_INET, SOCK_PACKET, 0x0300], DENY],
  ['socket', [AF_PACKET, SOCK_RAW, 0x0300], DENY],
  ['socket', [AF_PACKET, SOCK_DGRAM, 0x0300], DENY],
  ['socket', [AF_UNIX, SOCK_STREAM, 0], DENY],
  ['socket', [AF_NETLINK, SOCK_RAW, NETLINK_ROUTE], ALLOW],
  ['socket', [AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE], ALLOW],
  ['socket', [AF_NETLINK, SOCK_RAW, NETLINK_AUDIT], DENY],
  ['socket', [AF_NETLINK, SOCK_RAW, 15 /* NETLINK_KOBJECT_UEVENT */], DENY],
  ['socket', [AF_BLUETOOTH, SOCK_STREAM, 0], DENY],
  ['socket', [AF_VSOCK, SOCK_STREAM, 0], DENY],
  ['socket', [AF_ALG, SOCK_SEQPACKET, 0], DENY],
  ['socket', [AF_KEY, SOCK_RAW, 2], DENY],
  ['socketpair', [AF_UNIX, SOCK_STREAM, 0], ALLOW],
]);

table('socket with udp (--allow-dns) and unix', rules({ udp: true, unix: true }), [
  ['socket', [AF_INET, SOCK_DGRAM, 0], ALLOW],
  ['socket', [AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP], ALLOW],
  ['socket', [AF_INET, SOCK_DGRAM, IPPROTO_ICMP], DENY],
  ['socket', [AF_INET, SOCK_STREAM, 0], ALLOW],
  ['socket', [AF_INET, SOCK_RAW, IPPROTO_UDP], DENY],
  ['socket', [AF_UNIX, SOCK_STREAM, 0], ALLOW],
  ['socket', [AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0], ALLOW],
  ['socket', [AF_PACKET, SOCK_RAW, 0], DENY],
]);

table("socket with inet 'none' (no Landlock TCP rules) and udp", rules({ inet: 'none', udp: true }), [
  ['socket', [AF_INET, SOCK_STREAM, 0], DENY],
  ['socket', [AF_INET6, SOCK_STREAM, IPPROTO_TCP], DENY],
  ['socket', [AF_INET, SOCK_DGRAM, 0], ALLOW],
  ['socket', [AF_NETLINK, SOCK_RAW, NETLINK_ROUTE], ALLOW],
]);

table("socket with inet 'none' and nothing else", rules({ inet: 'none' }), [
  ['socket', [AF_INET, SOCK_STREAM, 0], DENY],
  ['socket', [AF_INET, SOCK_DGRAM, 0], DENY],
  ['socket', [AF_NETLINK, SOCK_RAW, NETLINK_ROUTE], ALLOW],
]);

table("socket with inet 'all'", rules({ inet: 'all' }), [
  ['socket', [AF_INET6, SOCK_STREAM, IPPROTO_MPTCP], ALLOW],
  ['socket', [AF_INET, SOCK_DGRAM, IPPROTO_ICMP], ALLOW],
  ['socket', [AF_INET, SOCK_SEQPACKET, 132 /* SCTP */], ALLOW],
  ['socket', [AF_INET, SOCK_RAW, IPPROTO_ICMP], DENY],
  ['socket', [AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 58], DENY],
  // The kernel makes this an AF_PACKET socket.
  ['socket', [AF_INET, SOCK_PACKET, 0x0300], DENY],
  ['socket', [AF_PACKET, SOCK_RAW, 0], DENY],
  ['socket', [AF_UNIX, SOCK_STREAM, 0], DENY],
]);

table('socket with raw sockets', rules({ rawSockets: true }), [
  ['socket', [AF_INET, SOCK_RAW, IPPROTO_ICMP], ALLOW],
  ['socket', [AF_INET6, SOCK_RAW, 58], ALLOW],
  ['socket', [AF_PACKET, SOCK_RAW, 0x0300], ALLOW],
  ['socket', [AF_INET, SOCK_DGRAM, 0], DENY],
  ['socket', [AF_INET, SOCK_STREAM, 0], ALLOW],
]);

table('everything open', OPEN_RULES, [
  ['socket', [AF_INET, SOCK_RAW, IPPROTO_ICMP], ALLOW],
  ['socket', [AF_PACKET, SOCK_RAW, 0], ALLOW],
  ['socket', [AF_INET, SOCK_PACKET, 0x0300], ALLOW],
  ['socket', [AF_UNIX, SOCK_SEQPACKET, 0], ALLOW],
  ['socket', [AF_BLUETOOTH, SOCK_STREAM, 0], DENY],
  ['listen', NO_ARGS, ALLOW],
  ['shmget', NO_ARGS, ALLOW],
  ['semtimedop', NO_ARGS, ALLOW],
  ['msgrcv', NO_ARGS, ALLOW],
  // Never opened by rules:
  ['ptrace', NO_ARGS, DENY],
  ['clone', [CLONE_NEWUSER], DENY],
  ['clone3', NO_ARGS, NOSYS],
  ['ioctl', [0, TIOCSTI], DENY],
  ['chmod', [PATH, 0o4755], DENY],
  ['fchmodat', [AT_FDCWD, PATH, 0o2775], DENY],
  ['fchmodat', [AT_FDCWD, PATH, 0o755], ALLOW],
]);

table('chmod family: no setuid or setgid bit, on the low 32 bits of mode', DEFAULT_RULES, [
  ['chmod', [PATH, 0o755], ALLOW],
  ['chmod', [PATH, 0o644], ALLOW],
  ['chmod', [PATH, 0], ALLOW],
  ['chmod', [PATH, 0o4755], DENY],
  ['chmod', [PATH, 0o2775], DENY],
  ['chmod', [PATH, 0o6755], DENY],
  ['chmod', [PATH, S_ISUID], DENY],
  ['chmod', [PATH, S_ISGID], DENY],
  ['chmod', [PATH, 0o1777], ALLOW], // sticky
  ['chmod', [PATH, S_ISVTX], ALLOW],
  // The kernel keeps a umode_t (16 bits): garbage above is ignored, by both.
  ['chmod', [PATH, withHigh(0xdeadbeef, 0o755)], ALLOW],
  ['chmod', [PATH, withHigh(1, 0o755)], ALLOW],
  ['chmod', [PATH, withHigh(0xffffffff, 0)], ALLOW],
  ['chmod', [PATH, withHigh(0xdeadbeef, 0o4755)], DENY],
  ['chmod', [PATH, withHigh(0xffffffff, S_ISGID)], DENY],
  ['chmod', [PATH, 0x00ff_0000 | 0o755], ALLOW],
  ['chmod', [PATH, 0x00ff_0000 | 0o4755], DENY],
  ['chmod', [0x7ffd_0000_0c00n /* path pointer with bits 10, 11 */, 0o644], ALLOW],
  ['fchmod', [3, 0o755], ALLOW],
  ['fchmod', [3, 0o1777], ALLOW],
  ['fchmod', [3, 0o4755], DENY],
  ['fchmod', [3, 0o2775], DENY],
  ['fchmod', [0xc00 /* an fd with bits 10, 11 */, 0o640], ALLOW],
  ['fchmod', [3, withHigh(0xdeadbeef, 0o640)], ALLOW],
  ['fchmod', [3, withHigh(0xdeadbeef, 0o4755)], DENY],
  ['fchmodat', [AT_FDCWD, PATH, 0o755], ALLOW],
  ['fchmodat', [AT_FDCWD, PATH, 0o1777], ALLOW],
  ['fchmodat', [AT_FDCWD, PATH, 0o4755], DENY],
  ['fchmodat', [AT_FDCWD, PATH, 0o2775], DENY],
  ['fchmodat', [AT_FDCWD, 0o6000, 0o755], ALLOW], // arg 1 is the path, not the mode
  ['fchmodat', [AT_FDCWD, PATH, withHigh(0xdeadbeef, 0o755)], ALLOW],
  ['fchmodat', [AT_FDCWD, PATH, withHigh(0xdeadbeef, 0o4755)], DENY],
  ['fchmodat2', [AT_FDCWD, PATH, 0o755, 0], ALLOW],
  ['fchmodat2', [AT_FDCWD, PATH, 0o1777, AT_SYMLINK_NOFOLLOW], ALLOW],
  ['fchmodat2', [AT_FDCWD, PATH, 0o4755, 0], DENY],
  ['fchmodat2', [AT_FDCWD, PATH, 0o2775, AT_SYMLINK_NOFOLLOW], DENY],
  ['fchmodat2', [AT_FDCWD, PATH, 0o644, 0o6000 /* flags are no mode */], ALLOW],
  ['fchmodat2', [AT_FDCWD, PATH, withHigh(0xffffffff, 0o644), 0], ALLOW],
  ['fchmodat2', [AT_FDCWD, PATH, withHigh(0xffffffff, 0o2644), 0], DENY],
  // Not the chmod family: clearing bits by chown, creation modes (see README).
  ['fchownat', NO_ARGS, ALLOW],
  ['mknodat', NO_ARGS, ALLOW],
]);

// TCP Fast Open connects inside sendto/sendmsg, where Landlock's
// CONNECT_TCP check (in connect()) never runs.
const NOTSUPP = errno(EOPNOTSUPP);
const MSG_NOSIGNAL = 0x4000;
table('send flags: no MSG_FASTOPEN where Landlock governs TCP, on the low 32 bits', DEFAULT_RULES, [
  ['sendto', [3, PATH, 9, 0, 0, 0], ALLOW],
  ['sendto', [3, PATH, 9, MSG_NOSIGNAL, 0, 0], ALLOW],
  ['sendto', [3, PATH, 9, MSG_FASTOPEN, PATH, 16], NOTSUPP],
  ['sendto', [3, PATH, 9, MSG_FASTOPEN | MSG_NOSIGNAL, PATH, 16], NOTSUPP],
  ['sendto', [3, PATH, 9, withHigh(0xffffffff, MSG_FASTOPEN), PATH, 16], NOTSUPP],
  ['sendto', [3, PATH, 9, withHigh(MSG_FASTOPEN, 0), PATH, 16], ALLOW],
  ['sendmsg', [3, PATH, 0], ALLOW],
  ['sendmsg', [3, PATH, MSG_FASTOPEN], NOTSUPP],
  ['sendmsg', [3, PATH, withHigh(0xdeadbeef, MSG_FASTOPEN)], NOTSUPP],
  ['sendmmsg', [3, PATH, 1, 0], ALLOW],
  ['sendmmsg', [3, PATH, 1, MSG_FASTOPEN], NOTSUPP],
  ['sendmsg', [MSG_FASTOPEN /* an fd or a pointer with the bit is no flag */, PATH | BigInt(MSG_FASTOPEN), 0], ALLOW],
]);
table('send flags: anything where TCP reaches nothing Landlock must govern (its own network, --net all)', OPEN_RULES, [
  ['sendto', NO_ARGS, ALLOW],
  ['sendmsg', NO_ARGS, ALLOW],
  ['sendmmsg', NO_ARGS, ALLOW],
]);

table('personality: Linux, or a query', DEFAULT_RULES, [
  ['personality', [0], ALLOW],
  ['personality', [PER_QUERY], ALLOW],
  ['personality', [0xffffffff_ffffffffn], ALLOW],
  ['personality', [ADDR_NO_RANDOMIZE], DENY],
  ['personality', [0x0008 /* PER_LINUX32 */], DENY],
  ['personality', [0x0400000 /* READ_IMPLIES_EXEC */], DENY],
]);

table('syscalls on other processes: only the caller, pid 0', DEFAULT_RULES, [
  ['setpriority', [PRIO_PROCESS, 0, 10], ALLOW],
  ['setpriority', [PRIO_PROCESS, 1234, 10], DENY],
  ['setpriority', [PRIO_PGRP, 0, 10], DENY],
  ['setpriority', [PRIO_USER, 0, 10], DENY],
  ['setpriority', [PRIO_PROCESS, 0xffffffff_00000000n, 10], ALLOW],
  ['prlimit64', [0, 7, 0, 0], ALLOW],
  ['prlimit64', [1234, 7, 0, 0], DENY],
  ['prlimit64', [1, 7], DENY],
  ['sched_setaffinity', [0, 128, 0], ALLOW],
  ['sched_setaffinity', [4321, 128, 0], DENY],
  ['sched_setscheduler', [0, 0, 0], ALLOW],
  ['sched_setscheduler', [1, 0, 0], DENY],
  ['sched_setparam', [0, 0], ALLOW],
  ['sched_setparam', [77, 0], DENY],
  ['sched_setattr', [0, 0, 0], ALLOW],
  ['sched_setattr', [77, 0, 0], DENY],
  ['migrate_pages', [0], ALLOW],
  ['migrate_pages', [77], DENY],
  ['move_pages', [0], ALLOW],
  ['move_pages', [77], DENY],
  ['ioprio_set', [IOPRIO_WHO_PROCESS, 0, 0x6000], ALLOW],
  ['ioprio_set', [IOPRIO_WHO_PROCESS, 99, 0x6000], DENY],
  ['ioprio_set', [IOPRIO_WHO_PGRP, 0, 0x6000], DENY],
  ['ioprio_set', [IOPRIO_WHO_USER, 0, 0x6000], DENY],
  ['kcmp', [0, 0, 0, 0, 0], DENY],
]);

table('allowSyscalls removes a rule', rules({ allowSyscalls: ['ptrace', 'personality', 'clone3', 'listen', 'socket', 'fchmodat'] }), [
  ['ptrace', NO_ARGS, ALLOW],
  ['fchmodat', NO_ARGS, ALLOW],
  ['fchmodat2', [AT_FDCWD, PATH, 0o4755, 0], DENY],
  ['personality', NO_ARGS, ALLOW],
  ['clone3', NO_ARGS, ALLOW],
  ['listen', NO_ARGS, ALLOW],
  ['socket', NO_ARGS, ALLOW],
  ['mount', NO_ARGS, DENY],
  ['clone', [CLONE_NEWUSER], DENY],
]);

describe('other ABIs', () => {
  const onX86 = compileSeccomp(DEFAULT_RULES, x86_64);
  const onArm = compileSeccomp(DEFAULT_RULES, aarch64);

  it('x86_64 kills x32 syscalls (nr | 0x40000000, same audit arch)', () => {
    for (const name of ['read', 'write', 'ptrace', 'socket']) {
      expect(interp(onX86, { nr: nr(x86_64, name) | 0x40000000, arch: AUDIT_ARCH_X86_64, args: [] })).toBe(KILL_PROCESS);
    }
    expect(interp(onX86, { nr: 0x40000000 + 520 /* x32 execve */, arch: AUDIT_ARCH_X86_64 })).toBe(KILL_PROCESS);
    expect(interp(onX86, { nr: 0x7fffffff, arch: AUDIT_ARCH_X86_64 })).toBe(KILL_PROCESS);
  });

  it('kills i386 (int 0x80) on x86_64, and arm on aarch64', () => {
    for (const n of [0, 1, 11 /* i386 execve */, 102 /* i386 socketcall */, 117 /* i386 ipc */]) {
      expect(interp(onX86, { nr: n, arch: AUDIT_ARCH_I386 })).toBe(KILL_PROCESS);
      expect(interp(onArm, { nr: n, arch: AUDIT_ARCH_ARM })).toBe(KILL_PROCESS);
    }
  });

  it("kills each arch's syscalls under the other's filter", () => {
    expect(interp(onArm, call(x86_64, 'read'))).toBe(KILL_PROCESS);
    expect(interp(onX86, call(aarch64, 'read'))).toBe(KILL_PROCESS);
    expect(interp(onX86, { nr: 0, arch: AUDIT_ARCH_AARCH64 })).toBe(KILL_PROCESS);
  });

  it('answers ENOSYS above the table, as an older kernel would', () => {
    for (const [plan, arch] of [
      [onX86, x86_64],
      [onArm, aarch64],
    ] as const) {
      const max = Math.max(...Object.values(arch.syscalls));
      expect(interp(plan, { nr: max, arch: arch.auditArch })).toBe(ALLOW);
      expect(interp(plan, { nr: max + 1, arch: arch.auditArch })).toBe(NOSYS);
      expect(interp(plan, { nr: 467 /* open_tree_attr, Linux 6.15 */, arch: arch.auditArch })).toBe(NOSYS);
      expect(interp(plan, { nr: 0x3fffffff, arch: arch.auditArch })).toBe(NOSYS);
    }
    // No x32 on aarch64: bit 30 is just a large number.
    expect(interp(onArm, { nr: 0x40000000 | 63, arch: AUDIT_ARCH_AARCH64 })).toBe(NOSYS);
  });

  it('allows numbers in the gaps of the table (the kernel answers ENOSYS itself)', () => {
    expect(interp(onX86, { nr: 400, arch: AUDIT_ARCH_X86_64 })).toBe(ALLOW);
    expect(interp(onArm, { nr: 300, arch: AUDIT_ARCH_AARCH64 })).toBe(ALLOW);
  });

  it('lets nr -1 through: a tracer skipping a syscall, which runs nothing', () => {
    expect(interp(onX86, { nr: -1, arch: AUDIT_ARCH_X86_64 })).toBe(ALLOW);
    expect(interp(onArm, { nr: -1, arch: AUDIT_ARCH_AARCH64 })).toBe(ALLOW);
  });
});

describe('allowSyscalls', () => {
  it('throws UnknownSyscallError naming every unknown syscall', () => {
    let error: unknown;
    try {
      compileSeccomp(rules({ allowSyscalls: ['ptrace', 'nosuch', 'frobnicate', 'nosuch'] }), x86_64);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownSyscallError);
    expect(error).toMatchObject({ names: ['nosuch', 'frobnicate'], arch: 'x86_64' });
    expect(String(error)).toContain('unknown syscalls for x86_64: nosuch, frobnicate');
  });

  it('knows each arch has its own table', () => {
    expect(() => compileSeccomp(rules({ allowSyscalls: ['iopl'] }), aarch64)).toThrow(/unknown syscall for aarch64: iopl/);
    expect(() => compileSeccomp(rules({ allowSyscalls: ['iopl'] }), x86_64)).not.toThrow();
  });

  it('is not fooled by prototype keys', () => {
    expect(() => compileSeccomp(rules({ allowSyscalls: ['constructor'] }), x86_64)).toThrow(UnknownSyscallError);
    expect(() => compileSeccomp(rules({ allowSyscalls: ['__proto__'] }), aarch64)).toThrow(UnknownSyscallError);
  });

  it('lists what it removed among the rules', () => {
    const p = compileSeccomp(rules({ allowSyscalls: ['ptrace', 'read'] }), x86_64);
    expect(p.rules.filter((r) => r.syscall === 'ptrace')).toEqual([
      { syscall: 'ptrace', action: 'ALLOW', reason: 'in allowSyscalls: its rule is removed' },
    ]);
    expect(p.rules.find((r) => r.syscall === 'read')?.reason).toMatch(/no rule to remove/);
  });
});
