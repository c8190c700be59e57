import { describe, expect, it } from 'vitest';
import { logDenialsLine, type AuditFacts } from '../../../src/cli/audit.js';

const NETLINK_HEAD = 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n';
const sock = (eth: number, pid: number) => `00000000bbcc9802 ${eth}   ${pid}          00000000 0        0        0     2        0        4\n`;
const facts = (over: Partial<AuditFacts>): AuditFacts => ({ abi: 7, cmdline: 'quiet', netlink: NETLINK_HEAD + sock(9, 0) + sock(0, 0), auditctl: null, comm: (p) => (p === 812 ? 'auditd\n' : null), ...over });

describe('jail doctor: whether --log-denials records can be read', () => {
  it.each<[string, Partial<AuditFacts>, RegExp]>([
    ['below ABI 7', { abi: 6 }, /^--log-denials records: none: audit log flags need Landlock ABI 7/],
    ['audit=0 at boot', { cmdline: 'ro audit=0 quiet' }, /none: audit is off at boot/],
    ['auditctl: disabled', { auditctl: 'enabled 0\nfailure 1\npid 0\n' }, /none: audit is disabled \(auditctl -s: enabled 0\)/],
    ['auditctl: a daemon', { auditctl: 'enabled 1\nfailure 1\npid 812\n' }, /readable: the audit daemon \(auditd, pid 812\)/],
    ['auditctl: enabled, no daemon', { auditctl: 'enabled 1\nfailure 1\npid 0\n' }, /in the kernel log only/],
    ['no auditctl, only the kernel socket', {}, /^--log-denials records: unknown whether the kernel writes them .*no process reads the audit log/],
    ['no auditctl, a process holds an audit socket', { netlink: NETLINK_HEAD + sock(9, 0) + sock(9, 812) }, /unknown whether audit is enabled .*auditd \(pid 812\) holds an audit socket/],
    ['nothing readable', { netlink: null }, /unknown: \/proc\/net\/netlink cannot be read/],
  ])('%s', (_, over, want) => {
    expect(logDenialsLine(facts(over))).toMatch(want);
  });

  it("a process name (any process's own, set with prctl) is printed escaped", () => {
    const comm = () => '\x1b]52;c;eA==\x07\x1b[2Kauditd\n';
    for (const over of [{ auditctl: 'enabled 1\npid 812\n' }, { netlink: NETLINK_HEAD + sock(9, 812) }]) {
      const line = logDenialsLine(facts({ ...over, comm }));
      expect(line).toContain('\\x1b]52;c;eA==\\x07\\x1b[2Kauditd');
      expect(line).not.toContain('\x1b');
    }
  });
});
