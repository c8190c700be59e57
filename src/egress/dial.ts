/**
 * Reaching an allowed host: resolve it (the proxy resolves names itself,
 * never the jailed program), refuse addresses that would lead back into
 * this machine, connect within a deadline.
 *
 * DNS rebinding is the reason for the refusal: a name the user allowed can
 * be made, by whoever runs its DNS, to resolve to 127.0.0.1 or to the
 * cloud metadata service at 169.254.169.254, and then the jailed program
 * would reach the supervisor's own host through the proxy. The same goes
 * for any address of this machine's own interfaces (its LAN address, where
 * a server listening on 0.0.0.0 answers too). Private RFC 1918
 * and ULA addresses stay reachable (corporate registries live there); the
 * name `localhost` and IP-literal rules mean what they say.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as os from 'node:os';
import type { HostRule } from './rules.js';

/** Why a connection was not made, as the HTTP status the proxy answers. */
export class DialError extends Error {
  constructor(
    /** 403 refused by policy, 502 unreachable, 504 no answer in time. */
    readonly status: 403 | 502 | 504,
    message: string,
  ) {
    super(message);
  }
}

export type Resolve = (host: string) => Promise<Array<{ address: string; family: number }>>;

export const defaultResolve: Resolve = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/** Loopback, unspecified, link-local and multicast (net.BlockList checks
 *  IPv4-mapped IPv6 addresses against the IPv4 subnets). */
const INTERNAL = new net.BlockList();
for (const [addr, bits] of [['0.0.0.0', 8], ['127.0.0.0', 8], ['169.254.0.0', 16], ['224.0.0.0', 4], ['255.255.255.255', 32]] as const) {
  INTERNAL.addSubnet(addr, bits, 'ipv4');
}
for (const [addr, bits] of [['::', 128], ['::1', 128], ['fe80::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(addr, bits, 'ipv6');

export interface Dialed {
  socket: net.Socket;
  /** The address connected to, for the log. */
  address: string;
}

/**
 * A connected socket to `host:port` under `rule`, or a DialError. `host`
 * is normalised (rules.ts normalizeHost). The deadline covers resolving
 * and connecting; `signal` (the engine closing) abandons the attempt.
 */
export async function dial(host: string, port: number, rule: HostRule, resolve: Resolve, timeoutMs: number, signal: AbortSignal): Promise<Dialed> {
  const deadline = Date.now() + timeoutMs;
  let addresses: string[];
  if (rule.kind !== 'name') {
    addresses = [host];
  } else {
    let found: Array<{ address: string; family: number }>;
    try {
      found = await withDeadline(resolve(host), deadline, signal);
    } catch (e) {
      if (e instanceof DialError) throw e;
      throw new DialError(502, `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const all = found.map((f) => f.address);
    const mine = host === 'localhost' || rule.internal ? null : ownAddresses();
    addresses = mine === null ? all : all.filter((a) => !isInternal(a) && !mine.has(canonical(a)));
    if (addresses.length === 0) {
      if (all.length === 0) throw new DialError(502, `${host} has no address`);
      throw new DialError(403, `${host} resolves to ${all.join(', ')}, an address of this machine or its link; refused`);
    }
  }
  let last: unknown;
  for (const address of addresses) {
    try {
      return { socket: await connect(address, port, deadline, signal), address };
    } catch (e) {
      if (e instanceof DialError) throw e;
      last = e;
    }
  }
  throw new DialError(502, `cannot connect to ${host}:${port}: ${(last as NodeJS.ErrnoException).code ?? String(last)}`);
}

/** This machine's addresses on every interface (its LAN address too: a
 *  server listening on 0.0.0.0 answers there), canonical; read at each
 *  dial, as interfaces come and go. */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) out.add(canonical(i.address));
  return out;
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 compressed. */
function canonical(address: string): string {
  const a = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (net.isIPv6(a)) {
    try {
      return new URL(`http://[${a}]/`).hostname.slice(1, -1);
    } catch {
      return a;
    }
  }
  return a;
}

/** Loopback, unspecified, link-local or multicast. */
export function isInternal(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && INTERNAL.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

function connect(address: string, port: number, deadline: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, allowHalfOpen: true });
    const settle = (e?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', settle);
      if (e) {
        socket.destroy();
        reject(e);
      } else {
        resolve(socket);
      }
    };
    const onConnect = () => settle();
    const onAbort = () => settle(new DialError(502, 'the egress proxy is closing'));
    const timer = setTimeout(() => settle(new DialError(504, `no answer from ${address}:${port} in time`)), Math.max(0, deadline - Date.now()));
    socket.once('connect', onConnect);
    socket.once('error', settle);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort);
  });
}

function withDeadline<T>(p: Promise<T>, deadline: number, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new DialError(502, 'the egress proxy is closing'));
    };
    const timer = setTimeout(() => {
      done();
      reject(new DialError(504, 'no answer from DNS in time'));
    }, Math.max(0, deadline - Date.now()));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort);
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e as Error);
      },
    );
  });
}
