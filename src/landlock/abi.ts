/**
 * Landlock's ABI as data: which access rights and flags each ABI version
 * adds. Values are the kernel's uapi ones (include/uapi/linux/landlock.h and
 * Documentation/userspace-api/landlock.rst). Compiling a policy for an older
 * kernel is a lookup in this table, so it is tested without a kernel.
 */

export const FS = {
  EXECUTE: 1n << 0n,
  WRITE_FILE: 1n << 1n,
  READ_FILE: 1n << 2n,
  READ_DIR: 1n << 3n,
  REMOVE_DIR: 1n << 4n,
  REMOVE_FILE: 1n << 5n,
  MAKE_CHAR: 1n << 6n,
  MAKE_DIR: 1n << 7n,
  MAKE_REG: 1n << 8n,
  MAKE_SOCK: 1n << 9n,
  MAKE_FIFO: 1n << 10n,
  MAKE_BLOCK: 1n << 11n,
  MAKE_SYM: 1n << 12n,
  REFER: 1n << 13n, // ABI 2
  TRUNCATE: 1n << 14n, // ABI 3
  IOCTL_DEV: 1n << 15n, // ABI 5
  RESOLVE_UNIX: 1n << 16n, // ABI 9: connect to a pathname UNIX socket
} as const;

export const NET = {
  BIND_TCP: 1n << 0n, // ABI 4
  CONNECT_TCP: 1n << 1n, // ABI 4
  // ABI 10 (UDP): the bit values follow the UDP patch series; a kernel that
  // disagrees rejects the ruleset (EINVAL), which fails closed.
  BIND_UDP: 1n << 2n,
  CONNECT_SEND_UDP: 1n << 3n,
} as const;

export const SCOPE = {
  ABSTRACT_UNIX_SOCKET: 1n << 0n, // ABI 6
  SIGNAL: 1n << 1n, // ABI 6
} as const;

export const RESTRICT = {
  LOG_SAME_EXEC_OFF: 1 << 0, // ABI 7
  LOG_NEW_EXEC_ON: 1 << 1, // ABI 7
  LOG_SUBDOMAINS_OFF: 1 << 2, // ABI 7
  TSYNC: 1 << 3, // ABI 8
} as const;

/** Rights a file (not a directory) may carry; the kernel rejects the rest. */
export const FILE_RIGHTS = FS.EXECUTE | FS.WRITE_FILE | FS.READ_FILE | FS.TRUNCATE | FS.IOCTL_DEV;

export interface AbiRow {
  abi: number;
  linux: string;
  fs: bigint;
  net: bigint;
  scoped: bigint;
  restrictFlags: number;
  adds: string;
}

const V1_FS = (1n << 13n) - 1n; // EXECUTE … MAKE_SYM

/** Cumulative: row N holds everything ABI N handles. */
export const ABI_TABLE: readonly AbiRow[] = [
  { abi: 1, linux: '5.13', fs: V1_FS, net: 0n, scoped: 0n, restrictFlags: 0, adds: 'file system access control' },
  { abi: 2, linux: '5.19', fs: V1_FS | FS.REFER, net: 0n, scoped: 0n, restrictFlags: 0, adds: 'rename and link across directories (REFER)' },
  { abi: 3, linux: '6.2', fs: V1_FS | FS.REFER | FS.TRUNCATE, net: 0n, scoped: 0n, restrictFlags: 0, adds: 'truncation (TRUNCATE)' },
  {
    abi: 4, linux: '6.7', fs: V1_FS | FS.REFER | FS.TRUNCATE, net: NET.BIND_TCP | NET.CONNECT_TCP, scoped: 0n, restrictFlags: 0,
    adds: 'TCP bind and connect',
  },
  {
    abi: 5, linux: '6.10', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, net: NET.BIND_TCP | NET.CONNECT_TCP, scoped: 0n,
    restrictFlags: 0, adds: 'device ioctls (IOCTL_DEV)',
  },
  {
    abi: 6, linux: '6.12', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, net: NET.BIND_TCP | NET.CONNECT_TCP,
    scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL, restrictFlags: 0, adds: 'scoping of signals and abstract UNIX sockets',
  },
  {
    abi: 7, linux: '6.15', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, net: NET.BIND_TCP | NET.CONNECT_TCP,
    scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
    restrictFlags: RESTRICT.LOG_SAME_EXEC_OFF | RESTRICT.LOG_NEW_EXEC_ON | RESTRICT.LOG_SUBDOMAINS_OFF, adds: 'audit log flags',
  },
  {
    abi: 8, linux: '7.0', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, net: NET.BIND_TCP | NET.CONNECT_TCP,
    scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
    restrictFlags: RESTRICT.LOG_SAME_EXEC_OFF | RESTRICT.LOG_NEW_EXEC_ON | RESTRICT.LOG_SUBDOMAINS_OFF | RESTRICT.TSYNC,
    adds: 'restricting every thread (TSYNC)',
  },
  {
    abi: 9, linux: 'after 7.0', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV | FS.RESOLVE_UNIX, net: NET.BIND_TCP | NET.CONNECT_TCP,
    scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
    restrictFlags: RESTRICT.LOG_SAME_EXEC_OFF | RESTRICT.LOG_NEW_EXEC_ON | RESTRICT.LOG_SUBDOMAINS_OFF | RESTRICT.TSYNC,
    adds: 'connecting to pathname UNIX sockets (RESOLVE_UNIX)',
  },
  {
    abi: 10, linux: 'after 7.0', fs: V1_FS | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV | FS.RESOLVE_UNIX,
    net: NET.BIND_TCP | NET.CONNECT_TCP | NET.BIND_UDP | NET.CONNECT_SEND_UDP, scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
    restrictFlags: RESTRICT.LOG_SAME_EXEC_OFF | RESTRICT.LOG_NEW_EXEC_ON | RESTRICT.LOG_SUBDOMAINS_OFF | RESTRICT.TSYNC,
    adds: 'UDP bind and send',
  },
];

export const LATEST_ABI = ABI_TABLE[ABI_TABLE.length - 1]!.abi;

const NONE: AbiRow = { abi: 0, linux: '-', fs: 0n, net: 0n, scoped: 0n, restrictFlags: 0, adds: 'nothing' };

/** The row for a kernel's ABI; kernels newer than the table get its last row. */
export function abiRow(abi: number): AbiRow {
  if (abi <= 0) return NONE;
  return ABI_TABLE[Math.min(abi, LATEST_ABI) - 1]!;
}

/** The first ABI that has every bit of `bits` in the given field. */
export function abiFor(field: 'fs' | 'net' | 'scoped', bits: bigint): AbiRow {
  const row = ABI_TABLE.find((r) => (r[field] & bits) === bits);
  if (!row) throw new Error(`no Landlock ABI has ${field} bits ${bits}`);
  return row;
}

const NAMES: Array<[string, bigint]> = Object.entries(FS).map(([k, v]) => [k.toLowerCase().replace(/_/g, '-'), v]);

/** Human names of fs rights, for --print-policy. */
export function fsRightNames(bits: bigint): string[] {
  return NAMES.filter(([, v]) => (bits & v) !== 0n).map(([k]) => k);
}
