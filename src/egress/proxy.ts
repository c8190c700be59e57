/**
 * The explicit proxy: what HTTPS_PROXY, HTTP_PROXY and ALL_PROXY point at.
 * One port speaks HTTP (CONNECT for TLS, absolute-form for plain HTTP) and
 * SOCKS5, told apart by the first byte (5 is SOCKS; no HTTP method starts
 * with it). Every target goes through the gate, which decides and dials;
 * a refusal is answered at once (403, SOCKS "not allowed"), never left to
 * time out, so the program's error says which flag would have allowed it.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { DialError, type Dialed } from './dial.js';
import type { Interceptor } from './intercept.js';
import * as socks from './socks.js';

/** What the proxy asks of the engine (server.ts). */
export interface Gate {
  /** Check `host:port` against the rules and connect: the upstream socket,
   *  or a DialError (403 when refused, counted in blocked()). `what` is the
   *  request as the log shows it. */
  open(host: string, port: number, via: 'proxy' | 'direct', what: string): Promise<Dialed>;
}

/** Headers that describe one hop, not the message (RFC 9110 §7.6.1), and
 *  the proxy's own: never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The HTTP side of the proxy; sockets reach it through `serve`. */
export function createHttpProxy(gate: Gate, intercept?: Interceptor): http.Server {
  // No request timeout: an upload through the proxy takes as long as it takes.
  const server = http.createServer({ requestTimeout: 0 });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => connect(gate, req, socket, head, intercept));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => forward(gate, req, res, intercept));
  server.on('clientError', (_err, socket: net.Socket) => {
    if (socket.writable) socket.end(rawResponse(400, 'jail egress: not an HTTP request this proxy understands'));
    else socket.destroy();
  });
  return server;
}

/** A new connection on a proxy port: SOCKS5 here, HTTP handed to `httpServer`. */
export function serve(socket: net.Socket, gate: Gate, httpServer: http.Server, intercept?: Interceptor): void {
  // From the first moment: a client that resets before its first byte (or
  // between the handlers below) must not be an uncaught error, which stops
  // the whole engine for the rest of the run.
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    socket.pause();
    if (first[0] === socks.VERSION) {
      serveSocks(socket, first, gate, intercept);
    } else {
      socket.unshift(first);
      httpServer.emit('connection', socket);
      socket.resume();
    }
  });
}

/** Both ways until both sides have ended; either failing ends both. Half
 *  closes pass through (a client may shut down writing and still read). */
export function splice(a: net.Socket, b: net.Socket): void {
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', kill).on('close', kill);
  b.on('error', kill).on('close', kill);
  a.pipe(b);
  b.pipe(a);
}

/** CONNECT host:port: a tunnel, for TLS. */
function connect(gate: Gate, req: http.IncomingMessage, socket: net.Socket, head: Buffer, intercept?: Interceptor): void {
  const m = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(req.url ?? '');
  const port = Number(m?.[2]);
  if (!m?.[1] || !(port >= 1 && port <= 65535)) {
    socket.end(rawResponse(400, 'jail egress: CONNECT takes host:port'));
    return;
  }
  if (intercept?.wants(m[1], port)) {
    // A --secret host: jail speaks TLS with the client, and dials for
    // each request (intercept.ts).
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    intercept.take(socket, m[1], port, head);
    return;
  }
  socket.on('error', () => socket.destroy());
  gate.open(m[1], port, 'proxy', `CONNECT ${m[1]}:${port}`).then(
    (up) => {
      if (socket.destroyed) {
        up.socket.destroy();
        return;
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.socket.write(head);
      splice(socket, up.socket);
    },
    (e: unknown) => {
      const { status, text } = failure(e);
      if (!socket.destroyed) socket.end(rawResponse(status, text));
    },
  );
}

/** GET http://host:port/path: forwarded in origin form, body and answer streamed. */
function forward(gate: Gate, req: http.IncomingMessage, res: http.ServerResponse, intercept?: Interceptor): void {
  const given = req.url ?? '';
  const authority = /^http:\/\/([^/?#]*)/i.exec(given);
  let url: URL | undefined;
  try {
    url = authority ? new URL(given) : undefined;
  } catch {
    // Answered below.
  }
  if (!authority || url === undefined || url.hostname === '') {
    const why = /^https:/i.test(given)
      ? 'https:// URLs go through CONNECT (set HTTPS_PROXY, not HTTP_PROXY, to this proxy)'
      : 'this is a proxy: send absolute-form requests (GET http://host/path) or CONNECT host:port';
    send(res, 400, `jail egress: ${why}`);
    return;
  }
  const port = Number(url.port || 80);
  // The path as the client sent it: URL would normalise "/a/../b" and escapes.
  const rest = given.slice(authority[0].length);
  let path = rest.startsWith('/') ? rest : `/${rest}`;
  let raw = req.rawHeaders;
  if (intercept?.wants(url.hostname, port)) ({ url: path, rawHeaders: raw } = intercept.rewrite(url.hostname, port, path, raw));
  gate.open(url.hostname, port, 'proxy', `${req.method ?? 'GET'} http://${url.host}${path}`).then(
    (up) => {
      if (res.destroyed) {
        up.socket.destroy();
        return;
      }
      relay(req, res, up.socket, { path, headers: [...passOn(raw), 'Host', url.host] }, url.host);
    },
    (e: unknown) => {
      const { status, text } = failure(e);
      req.resume();
      send(res, status, text);
    },
  );
}

/** A SOCKS5 client: greeting, one CONNECT request, then a tunnel. */
function serveSocks(socket: net.Socket, first: Buffer, gate: Gate, intercept?: Interceptor): void {
  let buf = first;
  let greeted = false;
  const step = () => {
    if (!greeted) {
      const g = socks.parseGreeting(buf);
      if (g === null) return;
      if (g.reply[1] !== 0x00) {
        socket.end(g.reply);
        return;
      }
      socket.write(g.reply);
      buf = buf.subarray(g.length);
      greeted = true;
    }
    const r = socks.parseRequest(buf);
    if (r === null) return;
    socket.removeListener('data', onData);
    socket.pause();
    if ('error' in r) {
      socket.end(socks.reply(r.error));
      return;
    }
    const early = buf.subarray(r.length);
    if (intercept?.wants(r.host, r.port)) {
      socket.write(socks.reply(socks.REP.ok));
      intercept.take(socket, r.host, r.port, early);
      return;
    }
    const shown = r.host.includes(':') ? `[${r.host}]` : r.host;
    gate.open(r.host, r.port, 'proxy', `SOCKS ${shown}:${r.port}`).then(
      (up) => {
        if (socket.destroyed) {
          up.socket.destroy();
          return;
        }
        socket.write(socks.reply(socks.REP.ok));
        if (early.length > 0) up.socket.write(early);
        splice(socket, up.socket);
      },
      (e: unknown) => {
        const status = e instanceof DialError ? e.status : 502;
        const rep = status === 403 ? socks.REP.notAllowed : status === 504 ? socks.REP.ttlExpired : socks.REP.hostUnreachable;
        if (!socket.destroyed) socket.end(socks.reply(rep));
      },
    );
  };
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    // A greeting and a request fit in 600 bytes: more is no SOCKS client.
    if (buf.length > 1024) socket.destroy();
    else step();
  };
  socket.on('error', () => socket.destroy());
  socket.on('data', onData);
  socket.resume();
  step();
}

/** Raw headers without the hop-by-hop ones, those the Connection header
 *  names, and Proxy-*; Host too unless `keepHost` (a request that stays in
 *  origin form to the same host). */
export function passOn(raw: readonly string[], keepHost = false): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'connection') for (const t of (raw[i + 1] ?? '').split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower.startsWith('proxy-') || (lower === 'host' && !keepHost)) continue;
    out.push(k, raw[i + 1]!);
  }
  return out;
}

/**
 * One request to the upstream over `socket` (connected, checked by the
 * gate), its answer streamed back to `res`; a failure before the answer's
 * head is a 502 naming `shown`, after it the client's connection ends.
 */
export function relay(req: http.IncomingMessage, res: http.ServerResponse, socket: net.Socket, out: { path: string; headers: string[] }, shown: string): void {
  const upReq = http.request({ method: req.method, path: out.path, headers: out.headers, setHost: false, createConnection: () => socket });
  upReq.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, passOn(upRes.rawHeaders));
    upRes.pipe(res);
    upRes.on('error', () => res.destroy());
  });
  upReq.on('error', (e) => send(res, 502, `jail egress: ${shown}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  req.pipe(upReq);
}

function failure(e: unknown): { status: number; text: string } {
  if (e instanceof DialError) return { status: e.status, text: e.status === 403 ? e.message : `jail egress: ${e.message}` };
  return { status: 502, text: `jail egress: ${String(e)}` };
}

/** A short plain-text answer of jail's own; once an answer has begun,
 *  the connection ends instead. */
export function send(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

function rawResponse(status: number, text: string): string {
  const body = `${text}\n`;
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
