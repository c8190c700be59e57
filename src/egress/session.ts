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
import { formatBlocked, formatRefused, startEgress, type Blocked, type Egress } from './server.js';
import type { Admit } from './peer.js';
import type { InterceptOptions, SecretValue } from './intercept.js';
import { makeCa } from './ca.js';
import { CA_BUNDLE_FILE, CA_FILE } from '../policy/inject.js';
import * as fs from 'node:fs';
import * as tls from 'node:tls';

/** Where the system's CA bundle usually is (Debian, Ubuntu, Alpine, Arch). */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

export class EgressSession implements Service {
  private host: Egress | null = null;
  private inside: Egress | null = null;
  private intercept: InterceptOptions | undefined;

  constructor(
    private readonly rules: HostRule[],
    private readonly anyHostPorts: Array<{ from: number; to: number }>,
    private readonly log?: (line: string) => void,
    private readonly report: (text: string) => void = (t) => process.stderr.write(t),
  ) {}

  /** Listen on the host's 127.0.0.1:port, where every local user can
   *  connect: `admit` (peer.ts) says which connections are the jailed
   *  command's. Rejects (EADDRINUSE) when the port is taken. */
  async listenHost(port: number, admit: Admit): Promise<void> {
    const e = startEgress({ rules: this.rules, anyHostPorts: this.anyHostPorts, proxy: [{ host: '127.0.0.1', port, admit }], transparent: [], dns: [], ...this.extra() });
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
      ...this.extra(),
    });
    // Nothing outside the namespace may use the proxy meanwhile (what it
    // refused until now is still said).
    void this.host?.close();
    this.refusedBefore = this.host?.refused() ?? [];
    this.host = null;
  }

  /**
   * --secret: make the run's CA (its key stays in this process) and take
   * TLS for the secrets' hosts from now on. `extraCa` is the invoking
   * environment's NODE_EXTRA_CA_CERTS, trusted for upstreams too. Returns
   * the files for the command's TMPDIR: the CA alone (with the extra CAs,
   * which NODE_EXTRA_CA_CERTS no longer names inside) and the system bundle
   * with it.
   */
  async useSecrets(extraCa: string | undefined): Promise<Array<{ name: string; text: string }>> {
    const ca = await makeCa();
    const extra = extraCa ? readPem(extraCa) : '';
    const system = SYSTEM_BUNDLES.map(readPem).find((t) => t !== '') ?? '';
    this.intercept = { secrets: [], ca, trust: [...tls.rootCertificates, ...(extra ? [extra] : [])] };
    const join = (...parts: string[]) => parts.filter((p) => p !== '').map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
    return [
      { name: CA_FILE, text: join(ca.certPem, extra) },
      { name: CA_BUNDLE_FILE, text: join(system, extra, ca.certPem) },
    ];
  }

  /** The secrets, real values and all (after useSecrets, before listening). */
  setSecrets(secrets: SecretValue[]): void {
    if (this.intercept) this.intercept = { ...this.intercept, secrets };
  }

  private extra(): Partial<Parameters<typeof startEgress>[0]> {
    return { ...(this.log && { log: this.log }), ...(this.intercept && { intercept: this.intercept }) };
  }

  blocked(): Blocked[] {
    return [...(this.host?.blocked() ?? []), ...(this.inside?.blocked() ?? [])];
  }

  private refusedBefore: Array<{ why: string; count: number }> = [];
  private stopped: Promise<void> | null = null;

  /** Close, then say what was blocked; once, however often it is asked. */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      const refused = formatRefused([...this.refusedBefore, ...(this.host?.refused() ?? [])]);
      const text = formatBlocked(this.blocked()) + refused + ((await this.host?.interceptReport()) ?? '') + ((await this.inside?.interceptReport()) ?? '');
      await Promise.all([this.host?.close(), this.inside?.close()]);
      if (text) this.report(text);
    })());
  }
}

/** A PEM file's certificates, '' when it cannot be read. */
function readPem(path: string): string {
  try {
    const text = fs.readFileSync(path, 'utf8');
    return text.includes('-----BEGIN CERTIFICATE-----') ? text : '';
  } catch {
    return '';
  }
}
