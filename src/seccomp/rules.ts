/**
 * What the filter does with each syscall, and why. The filter allows by
 * default and refuses a short list: syscalls that reach outside the jail
 * (other processes, the mount table, namespaces, the kernel itself), file
 * modes that outlive it (setuid and setgid bits), and sockets that Landlock
 * cannot govern. Everything here is data; compile.ts
 * turns it into BPF.
 */
import { ENOSYS, EPERM } from './consts.js';
import { maxSyscall, syscallNumber, type Arch } from './arch/types.js';

export interface SeccompRules {
  /**
   * AF_INET and AF_INET6 sockets.
   * none: no TCP (Landlock cannot govern it on this kernel); udp and
   *   rawSockets still add theirs.
   * tcp-only: SOCK_STREAM with protocol 0 or IPPROTO_TCP, which Landlock
   *   governs (so not IPPROTO_MPTCP, which it does not).
   * all: any type and protocol, except SOCK_RAW and SOCK_PACKET unless
   *   rawSockets.
   */
  inet: 'none' | 'tcp-only' | 'all';
  /** Also SOCK_DGRAM with protocol 0 or IPPROTO_UDP (for DNS). */
  udp: boolean;
  /** socket(AF_UNIX). socketpair() is always allowed. */
  unix: boolean;
  /** listen(): on an unbound TCP socket it binds a port without BIND_TCP. */
  listen: boolean;
  /** SOCK_RAW on AF_INET/AF_INET6, and AF_PACKET. */
  rawSockets: boolean;
  /** shmget, msgget, semget and the rest of System V IPC. */
  sysvIpc: boolean;
  /** Escape hatch: syscalls whose rule is removed (allowed outright). */
  allowSyscalls: readonly string[];
}

/** The argument checks compile.ts knows how to emit. */
export type Check =
  | 'socket'
  | 'ioctl'
  | 'clone'
  | 'personality'
  | 'pid-self'
  | 'setpriority-self'
  | 'ioprio-self'
  /** mode in arg 1 (chmod, fchmod) without S_ISUID or S_ISGID. */
  | 'chmod'
  /** mode in arg 2 (fchmodat, fchmodat2) without S_ISUID or S_ISGID. */
  | 'fchmodat'
  /** flags in arg 3 (sendto, sendmmsg) without MSG_FASTOPEN. */
  | 'sendto'
  /** flags in arg 2 (sendmsg) without MSG_FASTOPEN. */
  | 'sendmsg';

/** What happens to one syscall: an errno by number alone, or an argument check. */
export type Treatment = { kind: 'errno'; errno: number } | { kind: 'check'; check: Check };

/** One line of --print-policy. */
export interface Rule {
  syscall: string;
  action: string;
  reason: string;
}

interface Entry {
  names: readonly string[];
  treatment: Treatment;
  action: string;
  reason: string;
  /** The entry applies unless this returns false. */
  when?: (r: SeccompRules) => boolean;
}

const REFUSE = { kind: 'errno', errno: EPERM } as const;

const SETID_ACTION = 'ERRNO(EPERM) if the mode has S_ISUID or S_ISGID (low 32 bits)';
const SETID_REASON =
  'a set-user-ID or set-group-ID file runs later, outside the jail, with its owner\'s rights (root\'s, for a system binary); ' +
  'Landlock does not govern chmod. Other mode bits, the sticky bit included, are allowed';
const DENY = 'ERRNO(EPERM)';
const FASTOPEN_ACTION = 'ERRNO(EOPNOTSUPP) if the flags have MSG_FASTOPEN (low 32 bits)';
const FASTOPEN_REASON =
  "TCP Fast Open connects an unconnected TCP socket inside sendto/sendmsg, where Landlock's CONNECT_TCP check (made in connect()) " +
  'never runs: it would reach any host and port. EOPNOTSUPP is what a kernel with client TFO off answers, and clients then connect()';

/**
 * The list. Names missing from an arch's table (iopl on aarch64,
 * open_tree_attr before Linux 6.15) are skipped for that arch. socketcall
 * and ipc, the multiplexers of the 32-bit ABIs, do not exist on x86_64 and
 * aarch64 (ipc is listed should an arch have it): those ABIs are killed by
 * the arch check before any of this, so socket() is the only way to a
 * socket.
 */
const ENTRIES: readonly Entry[] = [
  // Other processes.
  {
    names: ['ptrace', 'process_vm_readv', 'process_vm_writev'],
    treatment: REFUSE,
    action: DENY,
    reason: "reads or writes another process's memory and registers",
  },
  { names: ['pidfd_getfd'], treatment: REFUSE, action: DENY, reason: 'copies a file descriptor out of another process' },
  { names: ['process_madvise'], treatment: REFUSE, action: DENY, reason: "acts on another process's memory" },
  {
    names: ['kcmp'],
    treatment: REFUSE,
    action: DENY,
    reason: 'compares the kernel objects of two processes; it takes two pids, so there is no "self only" form',
  },
  {
    names: ['prlimit64', 'sched_setaffinity', 'sched_setscheduler', 'sched_setparam', 'sched_setattr', 'migrate_pages', 'move_pages'],
    treatment: { kind: 'check', check: 'pid-self' },
    action: 'ERRNO(EPERM) unless pid (arg 0) is 0, the caller',
    reason:
      'acts on another process by pid; glibc passes 0 for the caller in the usual cases ' +
      '(pthread_setaffinity_np and pthread_setschedparam pass a thread id, and get EPERM)',
  },
  {
    names: ['setpriority'],
    treatment: { kind: 'check', check: 'setpriority-self' },
    action: 'ERRNO(EPERM) unless which = PRIO_PROCESS and who = 0',
    reason: "acts on other processes by pid, process group or user; nice(1) and glibc's nice() use (PRIO_PROCESS, 0)",
  },
  {
    names: ['ioprio_set'],
    treatment: { kind: 'check', check: 'ioprio-self' },
    action: 'ERRNO(EPERM) unless which = IOPRIO_WHO_PROCESS and who = 0',
    reason: 'acts on other processes by pid, process group or user; ionice(1) running a command uses (IOPRIO_WHO_PROCESS, 0)',
  },

  // The mount table, which Landlock's path rules are written against.
  {
    names: [
      'mount',
      'umount2',
      'pivot_root',
      'move_mount',
      'open_tree',
      'open_tree_attr',
      'fsopen',
      'fsconfig',
      'fsmount',
      'fspick',
      'mount_setattr',
    ],
    treatment: REFUSE,
    action: DENY,
    reason: 'changes or clones mounts',
  },

  // Namespaces: a new user namespace hands out capabilities inside it.
  { names: ['unshare', 'setns'], treatment: REFUSE, action: DENY, reason: 'creates or enters namespaces' },
  {
    names: ['clone'],
    treatment: { kind: 'check', check: 'clone' },
    action: 'ERRNO(EPERM) with any CLONE_NEW* flag',
    reason: 'creates namespaces; threads and fork are allowed',
  },
  {
    names: ['clone3'],
    treatment: { kind: 'errno', errno: ENOSYS },
    action: 'ERRNO(ENOSYS)',
    reason: "its flags are in memory a filter cannot read; ENOSYS makes libc fall back to clone, whose flags it can",
  },

  // The kernel itself.
  {
    names: ['bpf', 'perf_event_open', 'userfaultfd'],
    treatment: REFUSE,
    action: DENY,
    reason: 'a large kernel attack surface that command-line tools do not need',
  },
  {
    names: ['keyctl', 'add_key', 'request_key'],
    treatment: REFUSE,
    action: DENY,
    reason: 'the kernel keyrings are shared with processes outside the jail',
  },
  {
    names: ['kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module'],
    treatment: REFUSE,
    action: DENY,
    reason: 'loads code into the kernel',
  },
  {
    names: ['open_by_handle_at', 'name_to_handle_at'],
    treatment: REFUSE,
    action: DENY,
    reason: 'opens files by handle, around the path-based Landlock rules',
  },
  {
    names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
    treatment: REFUSE,
    action: DENY,
    reason: 'runs operations (socket, open, …) that this filter never sees; programs fall back to ordinary syscalls',
  },
  {
    names: ['acct', 'swapon', 'swapoff', 'reboot', 'syslog', 'iopl', 'ioperm', 'quotactl', 'quotactl_fd', 'vhangup'],
    treatment: REFUSE,
    action: DENY,
    reason: 'system administration',
  },
  { names: ['fanotify_init'], treatment: REFUSE, action: DENY, reason: 'watches file access across a mount or file system' },

  // File modes that outlive the jail. Landlock does not govern chmod, and
  // root (capabilities dropped or not) owns every system file.
  {
    names: ['chmod', 'fchmod'],
    treatment: { kind: 'check', check: 'chmod' },
    action: SETID_ACTION,
    reason: SETID_REASON,
  },
  {
    names: ['fchmodat', 'fchmodat2'],
    treatment: { kind: 'check', check: 'fchmodat' },
    action: SETID_ACTION,
    reason: SETID_REASON,
  },

  // Terminals and personas.
  {
    names: ['ioctl'],
    treatment: { kind: 'check', check: 'ioctl' },
    action: 'ERRNO(EPERM) for TIOCSTI, TIOCLINUX and TIOCSETD (low 32 bits of the request)',
    reason:
      'TIOCSTI and TIOCLINUX push input into the terminal, to be run by the shell after the jailed program exits; ' +
      "TIOCSETD changes the terminal's line discipline, which outlives the program (N_NULL leaves the user's terminal dead)",
  },
  {
    names: ['personality'],
    treatment: { kind: 'check', check: 'personality' },
    action: 'ERRNO(EPERM) unless 0 (PER_LINUX) or 0xffffffff (query)',
    reason: 'other personas weaken protections of the programs it runs (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC)',
  },

  // IPC and the network.
  {
    names: ['shmget', 'shmat', 'shmctl', 'shmdt', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl', 'ipc'],
    treatment: REFUSE,
    action: DENY,
    reason: 'System V IPC objects are shared with processes outside the jail',
    when: (r) => !r.sysvIpc,
  },
  {
    // Landlock refuses the open, but only after mq_open(O_CREAT) has made
    // the queue; mq_unlink meets no Landlock hook at all.
    names: ['mq_open', 'mq_unlink'],
    treatment: REFUSE,
    action: DENY,
    reason: 'POSIX message queues are shared with processes outside the jail (no IPC namespace); the other mq_* calls need a descriptor from mq_open',
  },
  {
    names: ['listen'],
    treatment: REFUSE,
    action: DENY,
    reason: "on an unbound TCP socket listen() binds a port itself, skipping Landlock's bind rules",
    when: (r) => !r.listen,
  },
  {
    names: ['sendto', 'sendmmsg'],
    treatment: { kind: 'check', check: 'sendto' },
    action: FASTOPEN_ACTION,
    reason: FASTOPEN_REASON,
    when: (r) => r.inet === 'tcp-only',
  },
  {
    names: ['sendmsg'],
    treatment: { kind: 'check', check: 'sendmsg' },
    action: FASTOPEN_ACTION,
    reason: FASTOPEN_REASON,
    when: (r) => r.inet === 'tcp-only',
  },
  {
    names: ['socket'],
    treatment: { kind: 'check', check: 'socket' },
    action: 'ERRNO(EPERM) unless listed',
    reason: '', // written from the rules by socketReason()
  },
];

/** The sockets socket() may create, in words. */
export function socketReason(r: SeccompRules): string {
  const inet: string[] = [];
  if (r.inet === 'all') inet.push(r.rawSockets ? 'any type' : 'any type but SOCK_RAW and SOCK_PACKET');
  else {
    if (r.inet === 'tcp-only') inet.push('SOCK_STREAM with protocol 0 or IPPROTO_TCP (governed by Landlock)');
    if (r.udp) inet.push('SOCK_DGRAM with protocol 0 or IPPROTO_UDP');
    if (r.rawSockets) inet.push('SOCK_RAW');
  }
  const allowed = [
    ...(inet.length ? [`AF_INET/AF_INET6: ${inet.join(', ')}`] : []),
    ...(r.unix ? ['AF_UNIX'] : []),
    'AF_NETLINK with NETLINK_ROUTE (interface lists)',
    ...(r.rawSockets ? ['AF_PACKET'] : []),
  ];
  return `allowed: ${allowed.join('; ')}. SOCK_NONBLOCK and SOCK_CLOEXEC are ignored; socketpair() is always allowed`;
}

/** allowSyscalls names a syscall this arch does not have. */
export class UnknownSyscallError extends Error {
  constructor(
    readonly names: readonly string[],
    readonly arch: string,
  ) {
    super(`unknown syscall${names.length > 1 ? 's' : ''} for ${arch}: ${names.join(', ')}`);
    this.name = 'UnknownSyscallError';
  }
}

export interface Decisions {
  /** Syscall number → what happens; numbers not here are allowed. */
  byNr: Map<number, Treatment>;
  /** Numbers above this are not in the table: ERRNO(ENOSYS). */
  maxNr: number;
  rules: Rule[];
}

/** Decides, for `arch`, what the filter does with each syscall. */
export function decide(r: SeccompRules, arch: Arch): Decisions {
  const unknown = r.allowSyscalls.filter((name) => syscallNumber(arch, name) === undefined);
  if (unknown.length) throw new UnknownSyscallError([...new Set(unknown)], arch.name);
  const escaped = new Set(r.allowSyscalls);

  const maxNr = maxSyscall(arch);
  const rules: Rule[] = [
    {
      syscall: '*',
      action: 'KILL_PROCESS',
      reason: `from another ABI than ${arch.name}'s (audit arch not 0x${arch.auditArch.toString(16)}, such as 32-bit code), whose numbers this table does not describe`,
    },
  ];
  if (arch.x32Bit !== undefined) {
    rules.push({
      syscall: `* | 0x${arch.x32Bit.toString(16)}`,
      action: 'KILL_PROCESS',
      reason: 'the x32 ABI: same audit arch, other numbers',
    });
  }
  rules.push({
    syscall: `* > ${maxNr}`,
    action: 'ERRNO(ENOSYS)',
    reason: `newer than the Linux ${arch.kernel.version} table jail was built with; an older kernel answers ENOSYS too, so libc falls back`,
  });

  const byNr = new Map<number, Treatment>();
  const removed: string[] = [];
  for (const entry of ENTRIES) {
    if (entry.when && !entry.when(r)) continue;
    const reason = entry.reason || socketReason(r);
    for (const name of entry.names) {
      const nr = syscallNumber(arch, name);
      if (nr === undefined) continue;
      if (escaped.has(name)) {
        removed.push(name);
        continue;
      }
      byNr.set(nr, entry.treatment);
      rules.push({ syscall: name, action: entry.action, reason });
    }
  }
  for (const name of escaped) {
    rules.push({
      syscall: name,
      action: 'ALLOW',
      reason: removed.includes(name) ? 'in allowSyscalls: its rule is removed' : 'in allowSyscalls (no rule to remove)',
    });
  }
  return { byNr, maxNr, rules };
}
