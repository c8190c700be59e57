/**
 * The supervisor's egress engine: the only way out of the jail's private
 * network namespace. It serves sockets it is handed (created inside the
 * namespace by its init) or listens itself (the fallback layer, on the
 * host's loopback):
 *
 *   proxy        HTTP CONNECT, absolute-form HTTP and SOCKS5 (proxy.ts)
 *   transparent  raw TCP to 127.100.x.y:PORT, the name from the AddressMap
 *   dns          UDP :53, allowed names → 127.100.x.y (dns.ts)
 *
 * Every target passes one gate: the rules decide, dial.ts connects, and a
 * refusal is counted for the summary the CLI prints after the run.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { printable } from '../text.js';
import { answer } from './dns.js';
import { AddressMap } from './dnsmap.js';
import { defaultResolve, dial, DialError, type Dialed, type Resolve } from './dial.js';
import { createHttpProxy, serve, splice, type Gate } from './proxy.js';
import { allowFlag, matchHost, normalizeHost, type HostRule } from './rules.js';
import { createInterceptor, type InterceptOptions } from './intercept.js';
import type { Admit } from './peer.js';

export interface EgressOptions {
  rules: HostRule[];
  /** Explicit-proxy listeners to serve: an fd of an already-listening TCP socket ({ fd }) or a listen target ({ host: '127.0.0.1', port: 0 }),
   *  with `admit`, which decides each connection before it is served (peer.ts: on the host's loopback, the jailed command's only). */
  proxy: Array<{ fd: number } | { host: string; port: number; admit?: Admit }>;
  /** Transparent listeners (already listening, inside the namespace, bound to 0.0.0.0:PORT): the destination address (socket.localAddress) gives the name through the AddressMap, the port is PORT. */
  transparent: Array<{ fd: number; port: number }>;
  /** UDP sockets (already bound, inside the namespace, 127.0.0.1:53) to answer DNS on. */
  dns: Array<{ fd: number }>;
  /** -v: one line per request/decision. */
  log?: (line: string) => void;
  /** Upstream name resolution; default dns.lookup(host, { all: true }). Tests inject loopback answers. */
  resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>;
  /** --allow-connect: ports on which any host may be reached. */
  anyHostPorts?: Array<{ from: number; to: number }>;
  /** Resolving and connecting upstream, in ms, before a 504; default 20 s. */
  connectTimeout?: number;
  /** --secret: the hosts whose TLS jail terminates, and what it puts in. */
  intercept?: InterceptOptions;
}

export interface Blocked {
  host: string;
  port: number;
  count: number;
  via: 'proxy' | 'dns' | 'direct';
}

export interface Egress {
  /** Every listener is serving. fd listeners accept as soon as the event
   *  loop runs (the kernel queues connections until then). */
  ready: Promise<void>;
  /** The port of the first proxy listener (after ready). */
  port(): number;
  blocked(): Blocked[];
  /** Connections `admit` refused, by why. */
  refused(): Array<{ why: string; count: number }>;
  /** --secret's summary lines (intercept.ts), once the command's
   *  connections have closed; '' when none. */
  interceptReport(): Promise<string>;
  /** Stops listening and destroys open connections. */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT = 20_000;
const SUMMARY_LINES = 10;
const MAX_BLOCKED = 10_000;

export function startEgress(opts: EgressOptions): Egress {
  const rules = opts.rules;
  const log = opts.log ?? (() => {});
  const resolve: Resolve = opts.resolve ?? defaultResolve;
  const timeout = opts.connectTimeout ?? CONNECT_TIMEOUT;
  const map = new AddressMap();
  const closing = new AbortController();
  const sockets = new Set<net.Socket>();
  const counts = new Map<string, Blocked>();
  const refused = new Map<string, number>();

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  // A program asking for a million made-up names must not grow this
  // process without bound: past MAX_BLOCKED distinct targets, the rest are
  // counted together under one line.
  const block = (host: string, port: number, via: Blocked['via']) => {
    let key = `${via} ${host} ${port}`;
    if (!counts.has(key) && counts.size >= MAX_BLOCKED) {
      key = `${via} (others) 0`;
      [host, port] = ['(other targets)', 0];
    }
    const b = counts.get(key);
    if (b) b.count++;
    else counts.set(key, { host, port, count: 1, via });
  };

  // --allow-connect PORT lets the command reach any host on PORT
  // directly; through the proxy (where the proxy variables send it) too.
  const anyHost = (n: NonNullable<ReturnType<typeof normalizeHost>>, port: number): HostRule | null =>
    (opts.anyHostPorts ?? []).some((r) => r.from <= port && port <= r.to) ? { host: n.host, wildcard: false, port, kind: n.kind, given: `--allow-connect ${port}`, internal: true } : null;

  const gate: Gate = {
    async open(given, port, via, what) {
      const n = normalizeHost(given);
      // A client that resolved through our DNS and then asked the proxy
      // for the address (socks5://, not socks5h://) means the name.
      const host = (n?.kind === 'ipv4' ? map.nameFor(n.host) : undefined) ?? n?.host ?? given;
      const rule = n === null ? null : (matchHost(rules, host, port) ?? anyHost(n, port));
      if (rule === null) {
        block(host, port, via);
        log(`egress: ${printable(what)} blocked`);
        throw new DialError(403, `blocked by jail: allow with ${allowFlag(host, port)}`);
      }
      let d: Dialed;
      try {
        d = await dial(host, port, rule, resolve, timeout, closing.signal);
      } catch (e) {
        const err = e instanceof DialError ? e : new DialError(502, String(e));
        log(`egress: ${printable(what)} ${err.status === 403 ? 'refused' : 'failed'}: ${printable(err.message)}`);
        if (err.status !== 403) throw err;
        block(host, port, via);
        throw new DialError(403, `blocked by jail: ${err.message}`);
      }
      track(d.socket);
      log(`egress: ${printable(what)} allowed (${d.address})`);
      return d;
    },
  };

  const intercept = opts.intercept && createInterceptor(gate, { ...opts.intercept, log });
  const httpProxy = createHttpProxy(gate, intercept);
  const servers: net.Server[] = [];
  const udps: dgram.Socket[] = [];
  const listening: Array<Promise<void>> = [];
  const whenListening = (emitter: net.Server | dgram.Socket) =>
    listening.push(
      new Promise<void>((ok, fail) => {
        emitter.once('listening', ok);
        emitter.once('error', fail);
      }),
    );

  for (const target of opts.proxy) {
    const admit = 'admit' in target ? target.admit : undefined;
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      // Decided before a byte is read: refused, the connection is reset.
      const why = admit?.(socket) ?? null;
      if (why !== null) {
        socket.on('error', () => {});
        socket.resetAndDestroy();
        if (refused.size < SUMMARY_LINES || refused.has(why)) refused.set(why, (refused.get(why) ?? 0) + 1);
        log(`egress: connection from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} refused: not the jailed command's (${why})`);
        return;
      }
      track(socket);
      serve(socket, gate, httpProxy, intercept);
    });
    whenListening(server);
    server.listen('fd' in target ? { fd: target.fd } : { host: target.host, port: target.port });
    servers.push(server);
  }

  for (const { fd, port } of opts.transparent) {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      track(socket);
      socket.on('error', () => socket.destroy());
      const local = (socket.localAddress ?? '').replace(/^::ffff:/i, '');
      // The namespace's own loopback stands for the host's: with
      // --allow-host localhost:5432, a test reaches the database on the
      // host at the address it would use outside.
      const name = map.nameFor(local) ?? (local === '127.0.0.1' || local === '::1' ? 'localhost' : undefined);
      if (name === undefined) {
        // Not an address the DNS server handed out: nothing to map it to.
        block(local, port, 'direct');
        log(`egress: direct ${local}:${port} blocked (no name)`);
        socket.resetAndDestroy();
        return;
      }
      if (intercept?.wants(name, port)) {
        intercept.take(socket, name, port);
        return;
      }
      gate.open(name, port, 'direct', `direct ${name}:${port} (${local})`).then(
        (up) => (socket.destroyed ? up.socket.destroy() : splice(socket, up.socket)),
        () => socket.resetAndDestroy(),
      );
    });
    whenListening(server);
    server.listen({ fd });
    servers.push(server);
  }

  const otherOnly = new Set<string>();
  for (const { fd } of opts.dns) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, from) => {
      let a: ReturnType<typeof answer>;
      try {
        a = answer(msg, rules, map);
      } catch (e) {
        // The address table full (a program asking for 65 000 names under
        // an allowed wildcard): no answer, and the run goes on.
        log(`egress: lookup not answered: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      if (a.name !== undefined && a.refused) {
        // A lookup asks for A and AAAA (getent, glibc, c-ares): counted by
        // its A. A name asked for only in other types counts once, the
        // first time; its first A later is that same lookup.
        const name = a.name.toLowerCase().replace(/\.$/, '');
        const isA = a.type === 'A' || a.type === 'ANY';
        if (isA && !otherOnly.delete(name)) block(name, 0, 'dns');
        else if (!isA && !counts.has(`dns ${name} 0`)) {
          if (otherOnly.size < MAX_BLOCKED) otherOnly.add(name);
          block(name, 0, 'dns');
        }
        log(`egress: lookup ${printable(a.name)} (${a.type ?? '?'}) blocked`);
      } else if (a.address !== undefined) {
        log(`egress: lookup ${printable(a.name ?? '')} → ${a.address}`);
      }
      if (a.reply) udp.send(a.reply, from.port, from.address);
    });
    whenListening(udp);
    udp.bind({ fd });
    udps.push(udp);
  }

  const ready = Promise.all(listening).then(() => {
    // From now on a listener's error is a line in the log, not a crash.
    for (const e of [...servers, ...udps]) e.on('error', (err: Error) => log(`egress: ${err.message}`));
  });
  // The caller awaits ready; until it does, a failure must not be unhandled.
  ready.catch(() => {});

  return {
    ready,
    port() {
      const a = servers[0]?.address();
      return typeof a === 'object' && a !== null ? a.port : 0;
    },
    blocked: () => [...counts.values()].map((b) => ({ ...b })),
    refused: () => [...refused].map(([why, count]) => ({ why, count })),
    interceptReport: async () => {
      if (!intercept) return '';
      await intercept.settle();
      return intercept.report();
    },
    async close() {
      closing.abort();
      const closed = servers.map((s) => new Promise<void>((ok) => s.close(() => ok())));
      for (const s of sockets) s.destroy();
      for (const u of udps) {
        closed.push(new Promise<void>((ok) => u.close(() => ok())));
      }
      httpProxy.close(() => {});
      intercept?.close();
      await Promise.all(closed);
    },
  };
}

/**
 * The summary after a run, one line per host (connections merged across
 * the ways they were tried), most often blocked first:
 *
 *   jail: blocked 3 connections to evil.example:443 (allow with --allow-host evil.example)
 *   jail: blocked 2 lookups of evil.example (allow with --allow-host evil.example)
 *
 * '' when nothing was blocked.
 */
export function formatBlocked(list: Blocked[]): string {
  const merged = new Map<string, Blocked>();
  for (const b of list) {
    const key = b.via === 'dns' ? `dns ${b.host}` : `tcp ${b.host} ${b.port}`;
    const m = merged.get(key);
    if (m) m.count += b.count;
    else merged.set(key, { ...b });
  }
  const lines = [...merged.values()]
    .sort((a, b) => b.count - a.count)
    .map((b) => {
      const n = (what: string) => `${b.count} ${what}${b.count === 1 ? '' : 's'}`;
      if (b.via === 'dns') return `jail: blocked ${n('lookup')} of ${printable(b.host)} (allow with ${printable(allowFlag(b.host, 443))})`;
      const shown = net.isIPv6(b.host) ? `[${b.host}]` : b.host;
      return `jail: blocked ${n('connection')} to ${printable(shown)}:${b.port} (allow with ${printable(allowFlag(b.host, b.port))})`;
    });
  if (lines.length > SUMMARY_LINES + 1) lines.splice(SUMMARY_LINES, Infinity, `jail: … and ${lines.length - SUMMARY_LINES} more`);
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * Connections to the proxy from outside the jail, refused: a line after
 * the run, since someone tried (or a client of the command's own was
 * gone before it could be checked).
 *
 *   jail: warning: the egress proxy refused 3 connections not from the jailed command (3 from uid 65534)
 */
export function formatRefused(list: Array<{ why: string; count: number }>): string {
  const n = list.reduce((a, r) => a + r.count, 0);
  if (n === 0) return '';
  const whys = list.map((r) => `${r.count} ${printable(r.why)}`).join(', ');
  return `jail: warning: the egress proxy refused ${n} connection${n === 1 ? '' : 's'} not from the jailed command (${whys})\n`;
}
