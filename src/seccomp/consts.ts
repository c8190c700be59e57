/**
 * Kernel constants the filter is built from. Values are the kernel's UAPI
 * headers' (linux/seccomp.h, linux/audit.h, linux/filter.h, linux/socket.h,
 * linux/in.h, linux/netlink.h, linux/sched.h, asm-generic/ioctls.h,
 * linux/personality.h, linux/stat.h, asm-generic/errno*.h); they are the same on x86_64
 * and aarch64.
 */

// ── Filter return values (linux/seccomp.h). The action is the high 16 bits,
// data (an errno, a trap code) the low 16. The kernel takes the most severe
// action of all filters; an unknown action is treated as KILL_PROCESS.
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// ── Audit arches (linux/audit.h): EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;

/** x86_64: x32-ABI syscalls are numbered nr | this bit, under AUDIT_ARCH_X86_64. */
export const X32_SYSCALL_BIT = 0x40000000;

// ── Classic BPF opcodes (linux/bpf_common.h), only those the assembler emits.
export const BPF_LD = 0x00;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
/** BPF_MAXINSNS: the kernel refuses longer filters. */
export const BPF_MAXINSNS = 4096;

// ── Address families (linux/socket.h).
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_KEY = 15;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_BLUETOOTH = 31;
export const AF_ALG = 38;
export const AF_VSOCK = 40;

// ── Socket types and type flags (linux/net.h; the flags are O_NONBLOCK and
// O_CLOEXEC, 0x800 and 0x80000 on both arches).
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
/** Obsolete; the kernel turns socket(AF_INET, SOCK_PACKET) into an AF_PACKET socket. */
export const SOCK_PACKET = 10;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;

// ── Protocols (linux/in.h, linux/netlink.h).
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_MPTCP = 262;
export const NETLINK_ROUTE = 0;
export const NETLINK_AUDIT = 9;

// ── clone flags that create namespaces (linux/sched.h).
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEW_ANY =
  CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
/** Ordinary pthread_create() flags, for tests. */
export const CLONE_THREAD_FLAGS = 0x003d0f00;

// ── ioctl requests (asm-generic/ioctls.h).
export const TCGETS = 0x5401;
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
export const TIOCSETD = 0x5423;

// ── personality(2) (linux/personality.h).
export const PER_LINUX = 0;
/** personality(0xffffffff) only reads the current persona. */
export const PER_QUERY = 0xffffffff;
export const ADDR_NO_RANDOMIZE = 0x0040000;

// ── "which" selectors of setpriority(2) and ioprio_set(2).
export const PRIO_PROCESS = 0;
export const PRIO_PGRP = 1;
export const PRIO_USER = 2;
export const IOPRIO_WHO_PROCESS = 1;
export const IOPRIO_WHO_PGRP = 2;
export const IOPRIO_WHO_USER = 3;

// ── File mode bits (linux/stat.h). The chmod family takes a umode_t: the
// kernel keeps the low 16 bits of the register and ignores the rest.
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

// ── send flags (linux/socket.h): sendto/sendmsg with it connect a TCP
// socket themselves (TCP Fast Open), without connect().
export const MSG_FASTOPEN = 0x20000000;

// ── errno values (asm-generic/errno-base.h, errno.h).
export const EPERM = 1;
export const EACCES = 13;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;

/** Names for the errnos above, for the disassembler. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM',
  [EACCES]: 'EACCES',
  [EINVAL]: 'EINVAL',
  [ENOSYS]: 'ENOSYS',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [EAFNOSUPPORT]: 'EAFNOSUPPORT',
};
