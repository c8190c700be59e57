/** `jail doctor`: what this machine lets the jail enforce. */
import fs = require('node:fs');
import { ABI_TABLE, LATEST_ABI } from '../landlock/abi.js';
import { probe } from '../native/apply.js';
import { compile } from '../plan.js';
import { buildPolicy } from '../policy/build.js';
import type { Host } from '../policy/host.js';
import { findArch } from '../seccomp/arch/index.js';
import { logDenialsLine } from './audit.js';
import { FALLBACK_OPEN } from './report.js';

const read = (p: string) => {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return null;
  }
};

export function doctor(abiCap?: number, namespaces: 'auto' | 'off' = 'auto'): string {
  const f = probe(abiCap, namespaces);
  const out: string[] = [];
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  out.push(`kernel: Linux ${f.kernel} (${process.arch})`);
  if (f.landlockAbi === 0) {
    out.push(`Landlock: none (${f.landlockError === 'EOPNOTSUPP' ? 'built in but disabled: add landlock to the lsm= boot parameter' : 'not built into this kernel'})`);
  } else {
    out.push(`Landlock: ABI ${f.landlockAbi}${f.landlockAbiFound !== f.landlockAbi ? ` (capped from ${f.landlockAbiFound} by JAIL_LANDLOCK_ABI)` : ''}`);
    for (const row of ABI_TABLE) {
      const has = row.abi <= f.landlockAbi;
      out.push(`  ${has ? '+' : '-'} ABI ${String(row.abi).padEnd(2)} (Linux ${row.linux}): ${row.adds}`);
    }
    if (f.landlockAbiFound > LATEST_ABI) out.push(`  (this kernel has ABI ${f.landlockAbiFound}; jail knows up to ${LATEST_ABI})`);
  }
  const arch = findArch(process.arch);
  out.push(`seccomp filters: ${yes(f.seccomp)}${arch ? `; syscall table from Linux ${arch.kernel.version}` : `; no syscall table for ${process.arch}`}`);
  const userns = read('/proc/sys/kernel/unprivileged_userns_clone');
  const maxns = read('/proc/sys/user/max_user_namespaces');
  out.push(`namespace layer (user, mount, PID, IPC namespaces): ${f.namespaces?.ok ? 'yes: only granted paths exist for the command' : `no: ${f.namespaces?.why}`}`);
  if (!f.namespaces?.ok) {
    out.push(`  the fallback (Landlock and seccomp alone) leaves open:`);
    for (const o of FALLBACK_OPEN) out.push(`  - ${o}`);
  }
  out.push(`  kernel.unprivileged_userns_clone: ${userns ?? '(absent)'}, user.max_user_namespaces: ${maxns ?? '?'}`);
  out.push(`TTY: stdin ${yes(!!process.stdin.isTTY)}, stdout ${yes(!!process.stdout.isTTY)}`);
  const tiocsti = read('/proc/sys/dev/tty/legacy_tiocsti');
  if (tiocsti !== null) out.push(`dev.tty.legacy_tiocsti: ${tiocsti}${tiocsti === '1' ? ' (keystroke injection possible; jail refuses TIOCSTI)' : ''}`);
  out.push(`running as: ${process.getuid?.() === 0 ? 'root (the command gets no capabilities, and root-only /etc files stay hidden)' : `uid ${process.getuid?.()}`}`);

  out.push(logDenialsLine({ abi: f.landlockAbi, cmdline: read('/proc/cmdline'), netlink: read('/proc/net/netlink'), auditctl: auditctlStatus(), comm: (pid) => read(`/proc/${pid}/comm`) }));

  // What best effort would leave out of the defaults and of a port rule.
  const policy = buildPolicy({ allowConnect: ['443'], privateTmp: false }, NO_FILES);
  const dropped = compile(policy, f, { bestEffort: true }).dropped;
  out.push(`--best-effort would drop: ${dropped.length ? '' : 'nothing (every default protection is enforceable here)'}`);
  for (const d of dropped) out.push(`  - ${d}`);
  return out.join('\n') + '\n';
}

/** Doctor compiles a policy only to see what the kernel cannot enforce;
 *  paths play no part, so the host has none. */
const NO_FILES: Host = {
  cwd: '/',
  home: '/nonexistent',
  uid: 1,
  path: '',
  realpath: () => null,
  stat: () => null,
  identify: () => null,
  readdir: () => [],
  scanTree: () => null,
  readlink: () => null,
  readHead: () => null,
  executable: () => false,
  readText: () => null,
  ttys: [],
  self: [],
  tmpdir: '/tmp',
  tempName: () => 'jail-doctor',
};

/** `auditctl -s`, when it is installed and answers (as root); null else. */
function auditctlStatus(): string | null {
  // Required here: child_process only for doctor (start-up, see lazy-child-process.ts).
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (!fs.existsSync(`${dir}/auditctl`)) continue;
    const r = spawnSync(`${dir}/auditctl`, ['-s'], { encoding: 'utf8', timeout: 2000 });
    return r.status === 0 ? r.stdout : null;
  }
  return null;
}
