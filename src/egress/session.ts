/**
 * The egress proxy for one run, as the supervisor holds it: before the
 * command starts, a listener on the host's 127.0.0.1 (the fallback's way
 * out, and the check that the port is free); once it has started, either
 * that listener (the fallback) or the sockets the namespace layer's init
 * made inside the command's network namespace. When everything jailed has
 * ended, it closes and says what it blocked.
 */
import type { JailPlan } from '../plan.js';
import type { Service } from '../run.js';
import type { HostRule } from './rules.js';
import { formatBlocked, startEgress, type Blocked, type Egress } from './server.js';

export class EgressSession implements Service {
  private host: Egress | null = null;
  private inside: Egress | null = null;

  constructor(
    private readonly rules: HostRule[],
    private readonly anyHostPorts: Array<{ from: number; to: number }>,
    private readonly log?: (line: string) => void,
    private readonly report: (text: string) => void = (t) => process.stderr.write(t),
  ) {}

  /** Listen on the host's 127.0.0.1:port; rejects (EADDRINUSE) when taken. */
  async listenHost(port: number): Promise<void> {
    const e = startEgress({ rules: this.rules, anyHostPorts: this.anyHostPorts, proxy: [{ host: '127.0.0.1', port }], transparent: [], dns: [], ...(this.log && { log: this.log }) });
    try {
      await e.ready;
    } catch (err) {
      await e.close().catch(() => {});
      throw err;
    }
    this.host = e;
  }

  attach(plan: JailPlan, fds: number[]): void {
    const sockets = plan.view?.sockets ?? [];
    if (plan.layer !== 'namespaces' || sockets.length === 0) return; // the host's listener serves
    if (fds.length !== sockets.length) throw new Error(`the namespace layer handed over ${fds.length} socket(s) for ${sockets.length}`);
    const of = (role: string) => sockets.flatMap((s, i) => (s.role === role ? [{ fd: fds[i]!, port: s.port }] : []));
    this.inside = startEgress({
      rules: this.rules,
      anyHostPorts: this.anyHostPorts,
      proxy: of('proxy').map(({ fd }) => ({ fd })),
      transparent: of('transparent'),
      dns: of('dns').map(({ fd }) => ({ fd })),
      ...(this.log && { log: this.log }),
    });
    // Nothing outside the namespace may use the proxy meanwhile.
    void this.host?.close();
    this.host = null;
  }

  blocked(): Blocked[] {
    return [...(this.host?.blocked() ?? []), ...(this.inside?.blocked() ?? [])];
  }

  private stopped: Promise<void> | null = null;

  /** Close, then say what was blocked; once, however often it is asked. */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      const text = formatBlocked(this.blocked());
      await Promise.all([this.host?.close(), this.inside?.close()]);
      if (text) this.report(text);
    })());
  }
}
