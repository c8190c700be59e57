/** The explicit proxy on loopback: CONNECT, absolute-form HTTP and SOCKS5
 *  reach allowed targets only; refusals are immediate, counted and name
 *  the flag; names that resolve back into this machine are refused. */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowHost } from '../../../src/egress/rules.js';
import { formatBlocked, startEgress, type Egress } from '../../../src/egress/server.js';
import { echoServer, exchange, httpServer, readUntil } from './helpers.js';

let echo: Awaited<ReturnType<typeof echoServer>>;
let web: Awaited<ReturnType<typeof httpServer>>;
let egress: Egress;
let closedPort: number;
const lines: string[] = [];

/** Every test name resolves to 127.0.0.1: the point is what the proxy
 *  does with that. */
const resolve = (host: string) =>
  ['allowed.test', 'evil.test', 'localhost'].includes(host) ? Promise.resolve([{ address: '127.0.0.1', family: 4 }]) : Promise.reject(Object.assign(new Error('no'), { code: 'ENOTFOUND' }));

beforeAll(async () => {
  echo = await echoServer();
  web = await httpServer();
  const probe = net.createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  const rules = [
    `localhost:${echo.port}`,
    `localhost:${web.port}`,
    `localhost:${closedPort}`,
    `allowed.test:${echo.port}`,
    `127.0.0.1:${echo.port}`,
  ].map(parseAllowHost);
  egress = startEgress({ rules, proxy: [{ host: '127.0.0.1', port: 0 }], transparent: [], dns: [], resolve, log: (l) => lines.push(l) });
  await egress.ready;
});
afterAll(async () => {
  await egress.close();
  await echo.close();
  await web.close();
});

const connect = (target: string) => exchange(egress.port(), `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, /\r\n\r\n/);

describe('CONNECT', () => {
  it('tunnels to an allowed target', async () => {
    const { text, socket } = await connect(`localhost:${echo.port}`);
    expect(text).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
    socket.write('ping');
    expect(await readUntil(socket, /ping/)).toBe('ping');
    socket.destroy();
    expect(lines).toContain(`egress: CONNECT localhost:${echo.port} allowed (127.0.0.1)`);
  });

  it('answers 403 naming the flag, and never reaches a denied target', async () => {
    const before = echo.connections();
    const { text } = await exchange(egress.port(), `CONNECT evil.test:${echo.port} HTTP/1.1\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(text).toContain(`\r\n\r\nblocked by jail: allow with --allow-host evil.test:${echo.port}\n`);
    expect(echo.connections()).toBe(before);
  });

  it('refuses an allowed name that resolves to loopback (DNS rebinding); localhost and IP rules mean what they say', async () => {
    const before = echo.connections();
    const { text } = await exchange(egress.port(), `CONNECT allowed.test:${echo.port} HTTP/1.1\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
    expect(text).toContain('blocked by jail: allowed.test resolves to 127.0.0.1');
    expect(echo.connections()).toBe(before);

    const ip = await connect(`127.0.0.1:${echo.port}`);
    expect(ip.text).toMatch(/^HTTP\/1\.1 200 /);
    ip.socket.destroy();
    const v6Shape = await exchange(egress.port(), `CONNECT [::1]:${echo.port} HTTP/1.1\r\n\r\n`);
    expect(v6Shape.text).toContain(`allow with --allow-host [::1]:${echo.port}`);
  });

  it('answers 502 at once for an allowed target that refuses connections', async () => {
    const { text } = await exchange(egress.port(), `CONNECT localhost:${closedPort} HTTP/1.1\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(text).toContain('ECONNREFUSED');
  });

  it('answers 400 to a CONNECT without a port', async () => {
    const { text } = await exchange(egress.port(), 'CONNECT localhost HTTP/1.1\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('absolute-form HTTP', () => {
  const get = (path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET', body?: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((ok, fail) => {
      const req = http.request({ host: '127.0.0.1', port: egress.port(), method, path, headers, agent: false }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      });
      req.on('error', fail);
      req.end(body);
    });

  it('forwards in origin form without proxy or hop-by-hop headers, both ways', async () => {
    const r = await get(`http://localhost:${web.port}/a/../b?q=1`, {
      'Proxy-Authorization': 'Basic c2VjcmV0',
      'Proxy-Connection': 'keep-alive',
      Connection: 'keep-alive, X-Private',
      'X-Private': 'hop',
      'X-Kept': 'yes',
    });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/a/../b?q=1');
    expect(seen.headers.host).toBe(`localhost:${web.port}`);
    expect(seen.headers['x-kept']).toBe('yes');
    expect(seen.headers).not.toHaveProperty('proxy-authorization');
    expect(seen.headers).not.toHaveProperty('proxy-connection');
    expect(seen.headers).not.toHaveProperty('x-private');
    expect(r.headers).not.toHaveProperty('x-hop');
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('streams a request body', async () => {
    const r = await get(`http://localhost:${web.port}/up`, { 'Content-Type': 'text/plain' }, 'POST', 'x'.repeat(100_000));
    expect((JSON.parse(r.body) as { body: string }).body).toHaveLength(100_000);
  });

  it('refuses a denied host with 403 and never reaches it', async () => {
    const before = web.requests();
    const r = await get(`http://evil.test:${web.port}/`);
    expect(r.status).toBe(403);
    expect(r.body).toBe(`blocked by jail: allow with --allow-host evil.test:${web.port}\n`);
    expect(web.requests()).toBe(before);
  });

  it('answers origin-form and https:// requests with 400', async () => {
    expect((await get('/x')).status).toBe(400);
    const r = await get('https://localhost/x');
    expect(r.status).toBe(400);
    expect(r.body).toContain('CONNECT');
  });
});

describe('SOCKS5', () => {
  /** Greeting, request and `early` bytes in one write, as curl does. */
  const socks = async (addr: Buffer, port: number, early = '') => {
    const req = Buffer.concat([Buffer.from([5, 1, 0]), Buffer.from([5, 1, 0]), addr, Buffer.from([port >> 8, port & 0xff]), Buffer.from(early)]);
    const socket = net.connect(egress.port(), '127.0.0.1');
    socket.write(req);
    const got: Buffer[] = [];
    await new Promise<void>((ok) => {
      socket.on('data', (d: Buffer) => {
        got.push(d);
        if (Buffer.concat(got).length >= 12) ok();
      });
      socket.on('close', () => ok());
    });
    socket.removeAllListeners('data');
    return { socket, bytes: Buffer.concat(got) };
  };
  const domain = (name: string) => Buffer.concat([Buffer.from([3, name.length]), Buffer.from(name)]);

  it('connects a domain target, sending what followed the request', async () => {
    const { socket, bytes } = await socks(domain('localhost'), echo.port, 'early ');
    expect([...bytes.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
    socket.write('hello');
    expect(bytes.subarray(12).toString() + (await readUntil(socket, /hello/))).toBe('early hello');
    socket.destroy();
  });

  it('connects an IPv4 target under an IP rule; refuses a denied one with "not allowed"', async () => {
    const ok = await socks(Buffer.from([1, 127, 0, 0, 1]), echo.port);
    expect([...ok.bytes.subarray(2, 4)]).toEqual([5, 0]);
    ok.socket.destroy();
    const before = echo.connections();
    const no = await socks(domain('evil.test'), echo.port);
    expect([...no.bytes.subarray(2, 4)]).toEqual([5, 2]);
    expect(echo.connections()).toBe(before);
  });
});

describe('blocked() and formatBlocked', () => {
  it('counts each refused target once per attempt', () => {
    const b = egress.blocked();
    expect(b).toContainEqual({ host: 'evil.test', port: echo.port, count: 2, via: 'proxy' }); // CONNECT and SOCKS
    expect(b).toContainEqual({ host: 'evil.test', port: web.port, count: 1, via: 'proxy' });
    expect(b).toContainEqual({ host: 'allowed.test', port: echo.port, count: 1, via: 'proxy' });
    expect(b).toContainEqual({ host: '::1', port: echo.port, count: 1, via: 'proxy' });
    expect(b.some((x) => x.host === 'localhost')).toBe(false);
  });

  it('says how to allow each, merging ways and pluralising', () => {
    const text = formatBlocked([
      { host: 'evil.example', port: 443, count: 2, via: 'proxy' },
      { host: 'evil.example', port: 443, count: 1, via: 'direct' },
      { host: 'evil.example', port: 0, count: 2, via: 'dns' },
      { host: 'other.example', port: 8080, count: 1, via: 'proxy' },
      { host: '::1', port: 80, count: 1, via: 'direct' },
    ]);
    expect(text).toBe(
      'jail: blocked 3 connections to evil.example:443 (allow with --allow-host evil.example)\n' +
        'jail: blocked 2 lookups of evil.example (allow with --allow-host evil.example)\n' +
        'jail: blocked 1 connection to other.example:8080 (allow with --allow-host other.example:8080)\n' +
        'jail: blocked 1 connection to [::1]:80 (allow with --allow-host [::1]:80)\n',
    );
    expect(formatBlocked([])).toBe('');
    const many = formatBlocked(Array.from({ length: 15 }, (_, i) => ({ host: `h${i}.example`, port: 443, count: 1, via: 'proxy' as const })));
    expect(many.split('\n')).toHaveLength(12);
    expect(many).toMatch(/jail: … and 5 more\n$/);
    expect(formatBlocked([{ host: 'e\x1b[2Jvil', port: 0, count: 1, via: 'dns' }])).not.toContain('\x1b');
  });
});

describe('timeouts and closing', () => {
  it('answers 504 when resolving or connecting takes too long', async () => {
    const e = startEgress({
      rules: [parseAllowHost('slow.test')],
      proxy: [{ host: '127.0.0.1', port: 0 }],
      transparent: [],
      dns: [],
      resolve: () => new Promise(() => {}),
      connectTimeout: 100,
    });
    await e.ready;
    const { text } = await exchange(e.port(), 'CONNECT slow.test:443 HTTP/1.1\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 504 /);
    await e.close();
  });

  it('close() ends open tunnels and pending dials', async () => {
    const e = startEgress({
      rules: [parseAllowHost(`localhost:${echo.port}`), parseAllowHost('slow.test')],
      proxy: [{ host: '127.0.0.1', port: 0 }],
      transparent: [],
      dns: [],
      resolve: (h) => (h === 'localhost' ? resolve(h) : new Promise(() => {})),
    });
    await e.ready;
    const open = await exchange(e.port(), `CONNECT localhost:${echo.port} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
    const pending = exchange(e.port(), 'CONNECT slow.test:443 HTTP/1.1\r\n\r\n');
    const idle = net.connect(e.port(), '127.0.0.1');
    await new Promise((ok) => idle.once('connect', ok));
    await new Promise((ok) => setTimeout(ok, 50));
    const closedOpen = new Promise((ok) => open.socket.once('close', ok));
    const closedIdle = new Promise((ok) => idle.once('close', ok));
    open.socket.resume();
    await e.close();
    await closedOpen;
    await closedIdle;
    expect((await pending).text).toMatch(/^(HTTP\/1\.1 502 |)/);
  });
});

describe('--allow-connect ports', () => {
  it('lets any host through on a port --allow-connect names, loopback included (the command could connect there directly)', async () => {
    const e = startEgress({ rules: [], anyHostPorts: [{ from: echo.port, to: echo.port }], proxy: [{ host: '127.0.0.1', port: 0 }], transparent: [], dns: [], resolve });
    try {
      await e.ready;
      const ok = await exchange(e.port(), `CONNECT evil.test:${echo.port} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
      expect(ok.text).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
      ok.socket.destroy();
      const other = await exchange(e.port(), `CONNECT evil.test:${web.port} HTTP/1.1\r\n\r\n`);
      expect(other.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    } finally {
      await e.close();
    }
  });
});
