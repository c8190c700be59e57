/** `jail doctor` on the audit log: pure, from what doctor read. */
import { printable } from '../text.js';

/** What doctor knows about the audit log, read or run beforehand. */
export interface AuditFacts {
  abi: number;
  /** /proc/cmdline, /proc/net/netlink, `auditctl -s`: null when unreadable. */
  cmdline: string | null;
  netlink: string | null;
  auditctl: string | null;
  comm: (pid: number) => string | null;
}

/** A process's name: any process sets its own (prctl PR_SET_NAME). */
const name = (a: AuditFacts, pid: number) => printable(a.comm(pid)?.trim() || '?');

const NETLINK_AUDIT = 9;

/**
 * Whether --log-denials records reach anyone. Landlock writes them only
 * while audit is enabled; a daemon (auditd, journald) reads them from an
 * audit netlink socket; with audit enabled and no daemon the kernel prints
 * them to its log, rate-limited. What cannot be told is said to be
 * unknown, never guessed.
 */
export function logDenialsLine(a: AuditFacts): string {
  const head = '--log-denials records: ';
  if (a.abi < 7) return `${head}none: audit log flags need Landlock ABI 7 (Linux 6.15); the jail has ABI ${a.abi}`;
  if (a.cmdline !== null && /(^|\s)audit=(0|off)(\s|$)/.test(a.cmdline)) return `${head}none: audit is off at boot (audit=0 on the kernel command line)`;
  const st = a.auditctl === null ? null : { enabled: /^enabled (\d+)/m.exec(a.auditctl)?.[1], pid: /^pid (\d+)/m.exec(a.auditctl)?.[1] };
  if (st?.enabled === '0') return `${head}none: audit is disabled (auditctl -s: enabled 0), so the kernel writes none; auditctl -e 1, or start auditd`;
  const pid = st?.pid !== undefined && st.pid !== '0' ? Number(st.pid) : null;
  if (pid !== null) return `${head}readable: the audit daemon (${name(a, pid)}, pid ${pid}) receives them (ausearch -m 1423)`;
  // Which processes hold an audit socket: the kernel's own has port id 0.
  const holders =
    a.netlink === null
      ? null
      : a.netlink
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => Number(f[1]) === NETLINK_AUDIT && Number(f[2]) > 0)
          .map((f) => Number(f[2]));
  if (st !== null && st.enabled !== undefined) {
    // Enabled, and no daemon registered with the kernel.
    return `${head}in the kernel log only (dmesg, rate-limited): audit is enabled and no audit daemon is registered`;
  }
  if (holders === null) return `${head}unknown: /proc/net/netlink cannot be read here, and auditctl -s gave nothing`;
  if (holders.length === 0) return `${head}unknown whether the kernel writes them (auditctl -s gave nothing); no process reads the audit log, so at most the kernel log (dmesg) has them`;
  return `${head}unknown whether audit is enabled (auditctl -s gave nothing); ${holders.map((p) => `${name(a, p)} (pid ${p})`).join(', ')} holds an audit socket and may read them`;
}
