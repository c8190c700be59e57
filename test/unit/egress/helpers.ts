/** Loopback servers and clients for the egress tests. Nothing here leaves
 *  127.0.0.0/8. */
import * as http from 'node:http';
import * as net from 'node:net';

/** A TCP echo server on 127.0.0.1 that counts the connections it took. */
export async function echoServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n, close: () => closeServer(server) };
}

/** An HTTP server on 127.0.0.1 that answers with what it was sent. */
export async function httpServer(): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Connection', 'X-Hop');
      res.setHeader('X-Hop', 'dropped');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests: () => n,
    close: () => {
      server.closeAllConnections();
      return closeServer(server);
    },
  };
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((ok) => server.close(() => ok()));
}

/** Connect to the proxy, send `first`, and collect everything until the
 *  proxy closes or `until` matches. */
export function exchange(port: number, first: string | Buffer, until?: RegExp): Promise<{ text: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = () => resolve({ text, socket });
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (until?.test(text)) {
        socket.removeAllListeners('data');
        socket.pause();
        done();
      }
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', reject);
    socket.write(first);
  });
}

/** Read from a socket until `until` matches. */
export function readUntil(socket: net.Socket, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('latin1');
    const onData = (d: string) => {
      text += d;
      if (until.test(text)) {
        socket.removeListener('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.resume();
  });
}

/** Binding (not listening) a socket from libuv directly, so that no Node
 *  handle polls it: the fd is then the egress engine's alone, as the
 *  namespace's init hands it over. The binding handles are kept, never
 *  closed (the engine closes the fd). */
const keep: unknown[] = [];
interface RawHandle {
  bind(address: string, port: number, flags?: number): number;
  getsockname(out: Record<string, unknown>): number;
  fd: number;
}
const binding = (name: string) => (process as unknown as { binding(n: string): Record<string, unknown> }).binding(name);

export function rawTcp(address = '0.0.0.0'): { fd: number; port: number } {
  const tcp = binding('tcp_wrap') as { TCP: new (type: number) => RawHandle; constants: { SERVER: number } };
  const h = new tcp.TCP(tcp.constants.SERVER);
  if (h.bind(address, 0) !== 0) throw new Error('bind failed');
  keep.push(h);
  const out: Record<string, unknown> = {};
  h.getsockname(out);
  return { fd: h.fd, port: out.port as number };
}

export function rawUdp(address = '127.0.0.1'): { fd: number; port: number } {
  const udp = binding('udp_wrap') as { UDP: new () => RawHandle };
  const h = new udp.UDP();
  if (h.bind(address, 0, 0) !== 0) throw new Error('bind failed');
  keep.push(h);
  const out: Record<string, unknown> = {};
  h.getsockname(out);
  return { fd: h.fd, port: out.port as number };
}
