/**
 * The only caller of the addon: probes the kernel, hands it a compiled plan,
 * and turns its coded errors into messages with hints.
 */
import { ApplyError, CommandError, InternalError } from '../errors.js';
import type { JailPlan } from '../plan.js';
import type { KernelFacts } from '../policy/model.js';
import { printable } from '../text.js';
import { loadAddon, type NativeError, type NativeObserved, type NativePlan, type NativeProbe, type NativeSocket, type NativeStatus, type NativeViewEntry, type TcpOwner, type WatchHandle } from './binding.js';

export interface ProbeResult extends KernelFacts {
  kernel: string;
  /** Why Landlock is missing: 'ENOSYS' (not built in), 'EOPNOTSUPP' (disabled). */
  landlockError: string | null;
  /** The ABI the kernel reports, before any cap. */
  landlockAbiFound: number;
}

/**
 * Kernel facts. `abiCap` (tests, JAIL_LANDLOCK_ABI) can only lower the ABI
 * used, so an older kernel is exercised on a newer one.
 */
/**
 * `namespaces`: auto tries the namespace layer for real (0.35 ms); assume
 * does not, and takes it as there: a run then falls back if spawning it is
 * refused (runPrepared); off (JAIL_NAMESPACES=off) acts as if refused.
 */
export function probe(abiCap?: number, namespaces: 'auto' | 'assume' | 'off' = 'auto'): ProbeResult {
  const p: NativeProbe = loadAddon().probe(namespaces === 'auto');
  const abi = abiCap !== undefined ? Math.min(p.landlockAbi, abiCap) : p.landlockAbi;
  return {
    landlockAbi: abi,
    landlockAbiFound: p.landlockAbi,
    landlockError: p.landlockError,
    seccomp: p.seccomp,
    arch: process.arch,
    kernel: p.release ?? 'unknown',
    namespaces: namespaces === 'off' ? { ok: false, why: 'JAIL_NAMESPACES=off (for testing)' } : namespaces === 'assume' ? { ok: true, assumed: true } : namespacesFact(p),
  };
}

/** The probe's attempt at the namespace layer, in words when it failed. */
/** The probe's real attempt at the namespace layer, in words when it failed
 *  (EPERM at clone: a seccomp profile or AppArmor; ENOSPC:
 *  user.max_user_namespaces=0; EPERM at fsmount: a masked /proc). */
function namespacesFact(p: NativeProbe): { ok: boolean; why?: string } {
  const n = p.namespaces;
  if (!n) return { ok: false, why: 'not tried' };
  if (n.ok) return { ok: true };
  const what = n.step ? `${n.step}: ${n.code ?? 'failed'}` : (n.code ?? 'failed');
  const hints: Record<string, string> = {
    EPERM: 'unprivileged user namespaces are refused (AppArmor\'s restriction on Ubuntu 24.04, a container\'s seccomp profile, or a jail around this one)',
    EACCES: 'unprivileged user namespaces are refused (AppArmor\'s restriction on Ubuntu 24.04, a container\'s seccomp profile, or a jail around this one)',
    ENOSPC: 'user.max_user_namespaces is 0, or the limit is reached',
    EINVAL: 'this kernel lacks a namespace jail needs',
  };
  if (n.step === 'fsmount' || n.step === 'mount') hints.EPERM = 'a fresh /proc is refused here (a container\'s masked /proc)';
  return { ok: false, why: `${what}${n.code && hints[n.code] ? ` (${hints[n.code]})` : ''}` };
}

/**
 * The view as the addon takes it: each run of rules for names in one
 * directory, on one device and with their identities (root's /etc: a rule
 * per entry others may read, 150 or so), as one 'rules' entry. The addon
 * reads one text where it would read as many objects, field by field:
 * a stored run's start-up spends a quarter of a millisecond less there.
 * Nothing else changes: the addon makes the same rules, in the same order.
 */
export function compactRules(view: readonly NativeViewEntry[]): NativeViewEntry[] {
  const out: NativeViewEntry[] = [];
  let group: Array<Extract<NativeViewEntry, { kind: 'rule' }>> = [];
  let dir = '';
  const flush = () => {
    if (group.length === 1) out.push(group[0]!);
    else if (group.length > 1) out.push({ kind: 'rules', path: dir, dev: group[0]!.dev!, rules: group.map((r) => `${r.access} ${r.ino} ${r.path.slice(dir.length + 1)}`).join('\0') });
    group = [];
  };
  for (const e of view) {
    const slash = e.kind === 'rule' ? e.path.lastIndexOf('/') : -1;
    // A name in a directory other than / (whose path/NAME would be //NAME).
    if (e.kind !== 'rule' || e.source !== undefined || e.dev === undefined || e.ino === undefined || slash <= 0 || slash === e.path.length - 1) {
      flush();
      out.push(e);
      continue;
    }
    if (group.length && (e.path.slice(0, slash) !== dir || e.dev !== group[0]!.dev)) flush();
    dir = e.path.slice(0, slash);
    group.push(e);
  }
  flush();
  return out;
}

export interface ExecTarget {
  /** Absolute path for execve. */
  file: string;
  argv: string[];
  env: Record<string, string | undefined>;
}

export function toNativePlan(plan: JailPlan, target: ExecTarget): NativePlan {
  const ll = plan.landlock;
  return {
    landlock: ll
      ? {
          attrSize: ll.attrSize,
          handledFs: ll.handledFs,
          handledNet: ll.handledNet,
          scoped: ll.scoped,
          restrictFlags: ll.restrictFlags,
          // The namespace layer adds each path rule from its view entry
          // (native/view.c) and ignores these: not converted twice.
          paths: plan.view ? [] : ll.paths.map((r) => ({ path: r.path, access: r.access, ...(r.dev !== undefined && r.ino !== undefined && { dev: r.dev, ino: r.ino }), ...(r.optional && { optional: true }) })),
          ports: ll.ports,
        }
      : undefined,
    seccomp: plan.seccomp?.bytes,
    ...(plan.observer && { observer: { filter: plan.observer.bytes, calls: plan.observer.calls.map(({ nr, paths, deref }) => ({ nr, paths, ...(deref !== undefined && { deref }) })) } }),
    ...(plan.view && {
      namespaces: { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, net: plan.view.net, cwd: plan.view.cwd, view: compactRules(plan.view.entries) },
    }),
    dropCaps: plan.dropCaps,
    keepFds: plan.keepFds,
    file: target.file,
    argv: target.argv,
    envp: Object.entries(target.env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`),
  };
}

/**
 * Confine this process and exec the command in its place. Never returns:
 * throws CommandError (126/127) when execve fails, ApplyError otherwise.
 * After a throw, this process may be partly confined: exit, don't carry on.
 */
export function execInPlace(plan: JailPlan, target: ExecTarget): never {
  const native = toNativePlan(plan, target);
  explaining(target, () => loadAddon().exec(native));
  throw new InternalError('the addon returned from exec');
}

/**
 * Fork a child that confines itself and execs the command, and supervise it
 * from outside the jail. Returns how it ended; throws like execInPlace when
 * a step (or the exec) failed in the child, before anything ran.
 */
export function spawnSupervised(plan: JailPlan, target: ExecTarget): NativeStatus {
  return loadAddon().supervise(spawnJailed(plan, target).pid);
}

/**
 * Fork a child that confines itself and execs the command; its pid once
 * the exec happened, for superviseAsync (or the addon's supervise). With
 * `sockets` (the namespace layer with its own network only), the init
 * makes them in the jail's network namespace and fds are this process's
 * copies, in that order (O_CLOEXEC), for net.Server#listen({ fd }) or
 * dgram's bind({ fd }); ours to close. Throws like spawnSupervised.
 */
export function spawnJailed(plan: JailPlan, target: ExecTarget, sockets: NativeSocket[] = socketsOf(plan)): { pid: number; fds: number[] } {
  return spawnNative(jailedNative(plan, target, sockets), target);
}

/** What spawnJailed hands the addon (the CLI stores it: src/planstore.ts). */
export function jailedNative(plan: JailPlan, target: ExecTarget, sockets: NativeSocket[] = socketsOf(plan)): NativePlan {
  const native = toNativePlan(plan, target);
  if (sockets.length > 0 && !native.namespaces) throw new TypeError('spawnJailed: sockets need the namespace layer with a network of its own (plan.view.net)');
  if (native.namespaces) native.namespaces.sockets = sockets;
  return native;
}

/**
 * spawnNative in two halves, for a caller that checks something while the
 * command is made ready: startNative, then finishNative(true) returns what
 * spawnNative does (or throws it); finishNative(false) ends the ready
 * command, which ran nothing, and returns the signals that came meanwhile.
 * Started `gated`, the command's file system is not looked at until
 * openView() (the caller makes the private TMPDIR meanwhile), and the
 * view's rule entries are added by addViewRules(), once the caller has
 * checked what it had to, before finishNative(true).
 */
export function startNative(native: NativePlan, target: ExecTarget, gated = false): void {
  explaining(target, () => loadAddon().spawnStart(native, gated));
}

export function openView(): void {
  loadAddon().spawnView();
}

export function addViewRules(target: ExecTarget): void {
  explaining(target, () => loadAddon().spawnRules());
}

export function finishNative(go: true, target: ExecTarget): { pid: number; fds: number[] };
export function finishNative(go: false, target: ExecTarget): number;
export function finishNative(go: boolean, target: ExecTarget): { pid: number; fds: number[] } | number {
  return explaining(target, () => loadAddon().spawnFinish(go));
}

/** spawnJailed of a plan already converted (jailedNative). */
export function spawnNative(native: NativePlan, target: ExecTarget): { pid: number; fds: number[] } {
  return explaining(target, () => loadAddon().spawn(native));
}

/** `call`'s result, or what failed in it put in the words of explain(). */
function explaining<T>(target: ExecTarget, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw explain(e as NativeError, target);
  }
}

/** A child of spawnChild: its pid (the init's in the namespace layer), and
 *  what watchChild needs. */
export interface ChildHandle {
  pid: number;
  fds: number[];
  pidfd: number;
  report: number;
}

/**
 * spawnJailed for the library: one child among many, nothing process-wide.
 * stdio: the fds that become its 0, 1 and 2; cwd: where it starts (the
 * namespace layer's is plan.view.cwd). Throws like spawnJailed.
 */
export function spawnChild(plan: JailPlan, target: ExecTarget, stdio: [number, number, number], cwd: string | undefined): ChildHandle {
  const native = toNativePlan(plan, target);
  if (native.namespaces) native.namespaces.sockets = socketsOf(plan);
  return explaining(target, () => loadAddon().spawnChild(native, stdio, cwd));
}

/**
 * spawnChild in two halves, for a caller that checks something while the
 * command is made ready (src/inproc.ts: a kept plan's answers): the
 * returned finish(true) lets it run and returns what spawnChild does (or
 * throws it); finish(false) ends it, having run nothing. null when it
 * could not be started ahead (a worker thread, no warm init, the
 * Landlock-only layer): then spawnChild, once checked, does it all.
 * Throws like spawnChild (nothing ran).
 */
export function startChild(plan: JailPlan, target: ExecTarget, stdio: [number, number, number], cwd: string | undefined): ((go: boolean) => ChildHandle | null) | null {
  if (!plan.view) return null;
  const native = toNativePlan(plan, target);
  if (native.namespaces) native.namespaces.sockets = socketsOf(plan);
  const addon = loadAddon();
  if (!explaining(target, () => addon.spawnChildStart(native, stdio, cwd))) return null;
  return (go) => {
    if (go) return explaining(target, () => addon.spawnChildFinish());
    addon.spawnChildCancel();
    return null;
  };
}

/** How the child of spawnChild ended, polled on the event loop; `ref`
 *  says whether that poll keeps the loop alive (ChildProcess's ref() and
 *  unref()). */
export function watchChild(child: ChildHandle): { ended: Promise<NativeStatus>; ref: (on: boolean) => void } {
  let handle: WatchHandle | undefined;
  const ended = new Promise<NativeStatus>((resolve, reject) => {
    handle = loadAddon().watchChild(child.pid, child.pidfd, child.report, (err, status) => (err ? reject(err) : resolve(status!)));
  });
  return { ended, ref: (on) => loadAddon().refChild(handle!, on) };
}

/** pipe2(O_CLOEXEC): [read end, write end]. */
export function pipe(): [number, number] {
  return loadAddon().pipe();
}

/** Close a descriptor pipe() or spawnChild made (see the addon's close). */
export function closeFd(fd: number): void {
  loadAddon().close(fd);
}

/** Who holds the other end of a TCP connection to this process: the
 *  socket with the ends `peer` (its own) and `self`, looked up by sock_diag
 *  in this network namespace (the egress proxy's check of a connection). */
export function tcpOwner(peer: { address: string; port: number }, self: { address: string; port: number }): TcpOwner | null {
  return loadAddon().tcpOwner(peer.address, peer.port, self.address, self.port);
}

/**
 * Wait for the child spawnJailed started, as supervise does (signals sent
 * to this process are passed on; what it left running is ended and
 * reaped), on a thread of libuv's pool: the event loop runs meanwhile. A
 * second spawnJailed fails with EBUSY until this has settled.
 */
export function superviseAsync(pid: number): Promise<NativeStatus> {
  return new Promise((resolve, reject) => loadAddon().superviseAsync(pid, (err, status) => (err ? reject(err) : resolve(status))));
}

/** Wait for the child spawnJailed started, blocking (the CLI's plain run). */
export function supervise(pid: number): NativeStatus {
  return loadAddon().supervise(pid);
}

/** What the observer recorded (--report-denials), once supervise returned. */
export function takeObserved(): { calls: NativeObserved[]; dropped: number } {
  return loadAddon().takeObserved();
}

/** The sockets the plan's view asks the init for (--allow-host). */
function socketsOf(plan: JailPlan): NativeSocket[] {
  return (plan.view?.sockets ?? []).map(({ type, addr, port }) => ({ type, addr, port }));
}

/** Die of the command's signal, so our parent sees what the command did. */
export function reraise(signal: number): void {
  loadAddon().reraise(signal);
}

/**
 * A private TMPDIR's lock (native/rmtree.c): its run holds it from the
 * moment it is made until it is removed. makeLockedDir makes the directory
 * (0700; EEXIST when the name is taken) and returns the lock's descriptor,
 * in one call to the addon (node:fs would compile its mkdir in every run);
 * a sweep of what killed runs left removes a directory only when
 * dirLocked() says no process holds it. Both throw when `dir` cannot be
 * made or opened.
 */
export function makeLockedDir(dir: string): number {
  return loadAddon().makeDir(dir);
}

/** A new file (not one that is there, nor through a link), 0600. */
export function writeNewFile(file: string, text: string): void {
  loadAddon().writeNew(file, text);
}

export function dirLocked(dir: string): boolean {
  return loadAddon().dirLocked(dir);
}

/** Gives up a makeLockedDir() descriptor. */
export function unlockDir(fd: number): void {
  try {
    loadAddon().close(fd);
  } catch {
    // closed: the lock is gone either way
  }
}

/**
 * Remove the private TMPDIR: a tree the command could write, so removed
 * without following any symlink in it, however deep. Returns null, or why
 * it could not, in a few words ("unlinkat: Permission denied (EACCES)").
 */
export function removeTree(dir: string): string | null {
  try {
    loadAddon().rmtree(dir);
    return null;
  } catch (e) {
    const n = e as NativeError;
    if (n.code === 'ESTALE') return `${n.syscall}: the tree changed while it was being removed (ESTALE)`;
    if (n.code === 'EXDEV') return `${n.syscall}: a file system is mounted in it (EXDEV)`;
    return typeof n.code === 'string' ? `${n.message} (${n.code})` : String(e);
  }
}

/** Where the namespace layer was refused or failed; nothing ran. */
const NO_NAMESPACES = 'pass --no-namespaces to use the Landlock-only layer.';

/**
 * Whether a failed spawn is the namespace layer being refused here (what the
 * probe would have found): then nothing ran, and the run may fall back. A
 * view that fails otherwise (a path changed: ESTALE, ELOOP) is no such case.
 */
export function layerRefused(e: unknown): string | null {
  if (!(e instanceof ApplyError)) return null;
  const maskedProc = e.step === 'view' && (e.syscall === 'fsmount' || e.syscall === 'fsconfig') && e.code === 'EPERM';
  return e.step === 'namespaces' || maskedProc ? `${e.syscall}${e.path ? ` ${e.path}` : ''}: ${e.code}` : null;
}

function namespaceFailure(e: NativeError): ApplyError | null {
  if (e.step !== 'view' && e.step !== 'namespaces') return null;
  const at = `${e.syscall}${e.path ? ` ${printable(e.path)}` : ''}`;
  const refused = e.code === 'EPERM' || e.code === 'EACCES' || e.code === 'ENOSPC' || e.code === 'EUSERS';
  if (e.step === 'namespaces') {
    const why = e.code === 'ENOSPC' || e.code === 'EUSERS' ? ' (user.max_user_namespaces is reached or 0)' : refused ? ' (a seccomp profile, AppArmor, or a sysctl refuses user namespaces here)' : '';
    return new ApplyError(`cannot create the jail's namespaces: ${at}: ${e.code}${why}; nothing ran.`, e.step, e.syscall, e.code, e.path, NO_NAMESPACES);
  }
  const hint =
    e.code === 'EPERM' && (e.syscall === 'fsmount' || e.syscall === 'fsconfig')
      ? `this system refuses a fresh ${e.path ?? 'mount'} (a container's masked /proc does); ${NO_NAMESPACES}`
      : e.code === 'EROFS'
        ? `a mount point is missing inside a read-only grant; grant it, or ${NO_NAMESPACES}`
        : e.syscall === 'chdir'
          ? 'the working directory is not in the view; run jail from a granted directory.'
          : NO_NAMESPACES;
  return new ApplyError(`cannot build the jail's view: ${at}: ${e.code}; nothing ran.`, e.step, e.syscall, e.code, e.path, hint);
}

/** A coded error from the addon as the jail's own error, worded, with a
 *  hint; anything else as it is. */
export function explain(e: NativeError, target: ExecTarget): Error {
  if (typeof e.step !== 'string') return e;
  if (e.step === 'exec') {
    const name = printable(target.argv[0] ?? target.file);
    // jail found the file before it started: what exec cannot find inside
    // is what the file needs, its loader or its #! interpreter.
    if (e.code === 'ENOENT') {
      return new CommandError(
        `jail: ${name}: No such file or directory inside the jail: it exists, so what is missing there is its dynamic loader, a library, or its #! interpreter (not granted).\n` +
          '  hint: with --no-system, grant them (--ro /usr, and /lib* where they are not links into /usr), or drop --no-system; --print-policy shows what is granted.',
        127,
      );
    }
    const why = e.code === 'EACCES' ? 'Permission denied (inside the jail)' : e.code === 'ENOEXEC' ? 'Exec format error' : e.message;
    return new CommandError(`jail: ${name}: ${why}`, 126);
  }
  const checkedOpen = e.syscall === 'openat2' || e.syscall === 'open';
  if ((e.step === 'landlock-ruleset' || (e.step === 'view' && checkedOpen)) && (e.code === 'ESTALE' || e.code === 'ELOOP')) {
    return new ApplyError(
      `${printable(e.path ?? '')} changed after jail checked it (it is now a symlink or another file); nothing ran.`,
      e.step,
      e.syscall,
      e.code,
      e.path,
      'run again; if it keeps happening, something is rewriting the path.',
    );
  }
  const opened = e.syscall === 'openat2' || e.syscall === 'open';
  if (e.step === 'spawn' && e.code === 'EBUSY') {
    return new ApplyError(
      'cannot supervise the command: this process already has child processes, and the supervisor ends every child of its process once the command exits.',
      e.step,
      e.syscall,
      e.code,
      e.path,
      'run the jail in a process of its own: the jail command, or spawn() from the library.',
    );
  }
  const layer = namespaceFailure(e);
  if (layer) return layer;
  const hints: Record<string, string> = {
    'landlock-ruleset': opened ? 'the path changed after the policy was built; run again.' : 'check the kernel log (dmesg) for Landlock errors.',
    capabilities: 'pass --keep-caps to keep the capabilities instead.',
    seccomp: 'the kernel refused the syscall filter; pass --best-effort to run without it.',
    ...(e.code === 'EADDRINUSE' && { network: 'two sockets of the jail\'s own network take the same address and port.' }),
  };
  return new ApplyError(
    `cannot apply the jail: step ${e.step} failed: ${e.syscall}${e.path ? ` ${e.path}` : ''}: ${e.code}.`,
    e.step,
    e.syscall,
    e.code,
    e.path,
    hints[e.step],
  );
}
