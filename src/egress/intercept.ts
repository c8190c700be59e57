/**
 * --secret's side of the proxy: for a secret's hosts only, jail terminates
 * the command's TLS with a leaf certificate of the run's CA (ca.ts), reads
 * each HTTP/1.1 request, puts the real values where the placeholders stand
 * in its head (rewrite.ts), and sends it on over a new TLS connection to
 * the real host, whose certificate must verify against the system's trust
 * store (Node's, plus the invoking environment's NODE_EXTRA_CA_CERTS), with
 * SNI the host's name. Bodies stream both ways untouched. Every other host
 * stays a raw tunnel (proxy.ts, server.ts).
 *
 * Fail closed: a client that refuses jail's certificate (a pinned one) gets
 * no connection, and the summary names the host; an upstream whose
 * certificate does not verify gets nothing, and the client a 502.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { printable } from '../text.js';
import type { RunCa } from './ca.js';
import { passOn, relay, send, type Gate } from './proxy.js';
import { rewriteHead, type Injection } from './rewrite.js';
import { matchHost, normalizeHost, type HostRule } from './rules.js';

/** A secret as the supervisor holds it: the real value is here only. */
export interface SecretValue extends Injection {
  hosts: HostRule[];
}

export interface InterceptOptions {
  secrets: SecretValue[];
  ca: RunCa;
  /** PEM certificates to verify upstreams with; default Node's root store. */
  trust?: string[];
  log?: (line: string) => void;
}

export interface Interceptor {
  /** Whether connections to host:port are taken here (a secret lists it). */
  wants(host: string, port: number): boolean;
  /** A client connection to host:port, before its TLS handshake (after
   *  CONNECT's 200, or a transparent connection); `head`, bytes already read. */
  take(socket: net.Socket, host: string, port: number, head?: Buffer): void;
  /** A plain-HTTP request's head to host:port (absolute-form through the
   *  proxy), with the secrets listed for it put in: on port 80 only. */
  rewrite(host: string, port: number, url: string, rawHeaders: readonly string[]): { url: string; rawHeaders: string[] };
  /** The summary lines: clients that refused jail's certificate, upstreams
   *  whose certificate did not verify. '' when none. */
  report(): string;
  /** Once the command has ended: wait (briefly) for its connections to
   *  close, so a refusal it sent just before is counted. */
  settle(ms?: number): Promise<void>;
  close(): void;
}

/**
 * What a request on a connection to `c` names other than `c` itself, or
 * null: its target must be in origin form ('/…', or '*'), and every Host
 * header must name c's host and port. The real value goes out only to the
 * host the connection was opened for; a CDN that serves that host routes
 * by the Host header or an absolute-form target, not by the TLS name, and
 * would hand a request naming another host (domain fronting) to that
 * host's origin, value and all.
 */
function otherHost(c: Conn, url: string, raw: readonly string[]): string | null {
  if (!url.startsWith('/') && url !== '*') return `the target ${JSON.stringify(url.slice(0, 100))}`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'host') continue;
    const given = raw[i + 1]!;
    const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(given.trim());
    const port = m?.[2] === undefined ? 443 : Number(m[2]);
    if (!m || normalizeHost(m[1]!)?.host !== c.host || port !== c.port) return `Host ${JSON.stringify(given.slice(0, 100))}`;
  }
  return null;
}

/** The one port where a secret goes out in plain HTTP: the user wrote `HOST:80`. */
const PLAIN_HTTP_PORT = 80;

/** TLS alerts a client sends when it does not trust the certificate. */
const REFUSED = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|DECRYPT_ERROR)/;

interface Conn {
  host: string;
  port: number;
  injections: Injection[];
  requests: number;
}

export function createInterceptor(gate: Gate, opts: InterceptOptions): Interceptor {
  const log = opts.log ?? (() => {});
  const conns = new WeakMap<net.Socket, Conn>();
  const open = new Set<net.Socket>();
  const refused = new Map<string, { count: number; names: Set<string> }>();
  const untrusted = new Map<string, { count: number; why: string }>();
  let closing = false;

  const injectionsFor = (host: string, port: number): Injection[] =>
    opts.secrets.filter((s) => matchHost(s.hosts, host, port) !== null).map(({ name, placeholder, value }) => ({ name, placeholder, value }));
  const shownHost = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}${port === 443 ? '' : `:${port}`}`;

  const server = http.createServer({ requestTimeout: 0 });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const c = conns.get(req.socket);
    if (!c) {
      res.destroy();
      return;
    }
    c.requests++;
    forward(c, req, res);
  });
  server.on('clientError', (_e, socket: net.Socket) => socket.destroy());

  const forward = (c: Conn, req: http.IncomingMessage, res: http.ServerResponse) => {
    const what = `${req.method ?? 'GET'} https://${shownHost(c.host, c.port)}${(req.url ?? '/').split('?')[0]}`;
    const other = otherHost(c, req.url ?? '', req.rawHeaders);
    if (other !== null) {
      log(`egress: ${printable(what)} names ${printable(other)}: not sent`);
      req.resume();
      send(res, 421, `jail egress: this connection is to ${shownHost(c.host, c.port)}; a request naming ${other} is not sent on it`);
      return;
    }
    const rawHeaders = req.rawHeaders.some((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'host') ? req.rawHeaders : [...req.rawHeaders, 'Host', shownHost(c.host, c.port)];
    const head = rewriteHead(req.url ?? '/', rawHeaders, c.injections);
    gate.open(c.host, c.port, 'proxy', what).then(
      (d) => {
        const up = tls.connect({
          socket: d.socket,
          host: c.host,
          ...(normalizeHost(c.host)?.kind === 'name' && { servername: c.host }),
          ALPNProtocols: ['http/1.1'],
          ...(opts.trust && { ca: opts.trust }),
          rejectUnauthorized: true,
        });
        const fail = (e: Error) => {
          up.destroy();
          const code = (e as NodeJS.ErrnoException).code ?? e.message;
          const key = shownHost(c.host, c.port);
          const u = untrusted.get(key);
          if (u) u.count++;
          else untrusted.set(key, { count: 1, why: code });
          log(`egress: ${printable(what)}: ${printable(key)}'s certificate did not verify (${printable(code)}); nothing sent`);
          send(res, 502, `jail egress: ${key}'s certificate did not verify (${code}); the request was not sent`);
          req.resume();
        };
        up.once('error', fail);
        // Nothing is written before the upstream's certificate has verified.
        up.once('secureConnect', () => {
          up.removeListener('error', fail);
          if (res.destroyed) {
            up.destroy();
            return;
          }
          log(`egress: ${printable(what)} with ${head.injected.length ? head.injected.join(', ') : 'no secret'} put in`);
          relay(req, res, up, { path: head.url, headers: passOn(head.rawHeaders, true) }, shownHost(c.host, c.port));
        });
      },
      (e: unknown) => {
        req.resume();
        send(res, (e as { status?: number }).status ?? 502, String((e as Error).message ?? e));
      },
    );
  };

  return {
    wants: (host, port) => opts.secrets.some((s) => matchHost(s.hosts, host, port) !== null),

    rewrite(host, port, url, rawHeaders) {
      const r = rewriteHead(url, rawHeaders, injectionsFor(normalizeHost(host)?.host ?? host, port));
      // In clear text only where the user listed the plain-HTTP port: any
      // other port of a secret's host is TLS everywhere else (CONNECT, the
      // transparent path), and a value sent there in clear text would be
      // read by whoever is on the path, with no certificate checked.
      if (port !== PLAIN_HTTP_PORT) {
        if (r.injected.length) log(`egress: http://${printable(shownHost(host, port))}: plain HTTP, so no secret put in (${r.injected.join(', ')})`);
        return { url, rawHeaders: [...rawHeaders] };
      }
      if (r.injected.length) log(`egress: http://${printable(shownHost(host, port))} with ${r.injected.join(', ')} put in`);
      return r;
    },

    take(socket, given, port, head) {
      const host = normalizeHost(given)?.host ?? given;
      socket.pause();
      if (head?.length) socket.unshift(head);
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      socket.on('error', () => socket.destroy());
      const c: Conn = { host, port, injections: injectionsFor(host, port), requests: 0 };
      opts.ca.leaf(host).then(
        (leaf) => {
          if (socket.destroyed) return;
          const t = new tls.TLSSocket(socket, {
            isServer: true,
            secureContext: tls.createSecureContext({ cert: leaf.cert, key: leaf.key }),
            ALPNProtocols: ['http/1.1'],
          });
          let secure = false;
          let bytes = 0;
          t.on('secure', () => (secure = true));
          t.on('data', (d: Buffer) => (bytes += d.length));
          const refuse = () => {
            const key = shownHost(host, port);
            const r = refused.get(key) ?? { count: 0, names: new Set<string>() };
            r.count++;
            for (const i of c.injections) r.names.add(i.name);
            refused.set(key, r);
            log(`egress: ${printable(key)} refused jail's certificate`);
          };
          t.on('error', (e: NodeJS.ErrnoException) => {
            if (!secure && REFUSED.test(e.code ?? '')) refuse();
            t.destroy();
          });
          // A client that checks the certificate after the handshake (Node)
          // closes without a word: no request, no byte.
          t.on('close', () => {
            if (secure && bytes === 0 && c.requests === 0 && !closing) refuse();
          });
          conns.set(t, c);
          server.emit('connection', t);
        },
        (e: unknown) => {
          log(`egress: no certificate for ${printable(host)}: ${e instanceof Error ? e.message : String(e)}`);
          socket.destroy();
        },
      );
    },

    report() {
      const lines: string[] = [];
      for (const [host, r] of refused) {
        const names = [...r.names].join(', ');
        lines.push(`jail: ${printable(host)} refused jail's certificate (pinned?)${r.count > 1 ? ` ${r.count} times` : ''}: --secret ${names} cannot be used with it`);
      }
      for (const [host, u] of untrusted) {
        lines.push(`jail: ${printable(host)}'s certificate did not verify (${printable(u.why)}): ${u.count} request${u.count === 1 ? '' : 's'} not sent, no secret went out`);
      }
      return lines.map((l) => `${l}\n`).join('');
    },

    async settle(ms = 300) {
      const pending = [...open].map((s) => new Promise<void>((ok) => (s.destroyed ? ok() : s.once('close', () => ok()))));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(pending), new Promise<void>((ok) => (timer = setTimeout(ok, ms)))]);
      clearTimeout(timer);
    },

    close() {
      closing = true;
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

