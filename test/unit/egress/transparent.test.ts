/** The namespace side, played on the host's loopback: a DNS server on a
 *  UDP fd answers allowed names with 127.100.x.y, and a transparent
 *  listener on a 0.0.0.0 fd maps the address it was reached at back to the
 *  name (127.0.0.0/8 is all local on Linux). The fds are bound by libuv
 *  directly, as the namespace's init would hand them over. */
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as packet from 'dns-packet';
import * as dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowHost } from '../../../src/egress/rules.js';
import { startEgress, type Egress } from '../../../src/egress/server.js';
import { echoServer, exchange, rawTcp, rawUdp } from './helpers.js';

let echo: Awaited<ReturnType<typeof echoServer>>;
let egress: Egress;
let listener: { fd: number; port: number };
let dnsPort: number;
let resolver: dns.promises.Resolver;
const lines: string[] = [];

beforeAll(async () => {
  echo = await echoServer();
  listener = rawTcp();
  const udp = rawUdp();
  dnsPort = udp.port;
  const rules = [`localhost:${echo.port}`, '*.allowed.test:8080', 'alias.test', 'other.test:9'].map(parseAllowHost);
  egress = startEgress({
    rules,
    proxy: [{ host: '127.0.0.1', port: 0 }],
    // In the namespace the listener is bound to the port it serves; here it
    // is bound to a free port and serves the echo server's.
    transparent: [{ fd: listener.fd, port: echo.port }],
    dns: [{ fd: udp.fd }],
    resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    log: (l) => lines.push(l),
  });
  await egress.ready;
  resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${dnsPort}`]);
});
afterAll(async () => {
  await egress.close();
  await echo.close();
});

/** Connect to the transparent listener at `address`: the bytes echoed, or the error. */
const through = (address: string) =>
  new Promise<{ text: string; code?: string }>((ok) => {
    const s = net.connect(listener.port, address);
    let text = '';
    s.setEncoding('latin1');
    s.on('connect', () => s.write('ping'));
    s.on('data', (d: string) => {
      text += d;
      if (text === 'ping') s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => ok({ text, code: e.code }));
    s.on('close', () => ok({ text }));
  });

describe('DNS', () => {
  it('answers allowed names with stable 127.100.x.y addresses', async () => {
    const a = await resolver.resolve4('localhost', { ttl: true });
    expect(a).toEqual([{ address: '127.100.0.1', ttl: 5 }]);
    expect(await resolver.resolve4('deep.sub.allowed.test')).toEqual(['127.100.0.2']);
    expect(await resolver.resolve4('LOCALHOST')).toEqual(['127.100.0.1']);
    expect(lines).toContain('egress: lookup localhost → 127.100.0.1');
  });

  it('gives allowed names no IPv6 address, and other record types nothing', async () => {
    await expect(resolver.resolve6('alias.test')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolveMx('alias.test')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('answers denied names NXDOMAIN at once and counts them', async () => {
    const t = Date.now();
    await expect(resolver.resolve4('evil.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve6('evil.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('allowed.test')).rejects.toMatchObject({ code: 'ENOTFOUND' }); // the wildcard's own domain
    expect(Date.now() - t).toBeLessThan(1000);
    // One resolver socket asking twice is one lookup.
    expect(egress.blocked()).toContainEqual({ host: 'evil.test', port: 0, count: 1, via: 'dns' });
    expect(egress.blocked()).toContainEqual({ host: 'allowed.test', port: 0, count: 1, via: 'dns' });
    expect(lines).toContain('egress: lookup evil.test (A) blocked');
  });

  it('does not count reverse lookups, and survives garbage', async () => {
    await expect(resolver.reverse('127.100.0.1')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(egress.blocked().some((b) => b.host.endsWith('arpa'))).toBe(false);
    const client = dgram.createSocket('udp4');
    const reply = new Promise<Buffer>((ok) => client.once('message', ok));
    client.send(Buffer.from([0x12, 0x34, 0xff]), dnsPort, '127.0.0.1');
    const r = packet.decode(await reply) as packet.DecodedPacket & { rcode: string };
    expect(r).toMatchObject({ id: 0x1234, type: 'response', rcode: 'FORMERR' });
    client.close();
    expect(await resolver.resolve4('localhost')).toEqual(['127.100.0.1']);
  });
});

describe('transparent listener', () => {
  it('connects a looked-up address to its name upstream and pipes raw bytes', async () => {
    const addr = (await resolver.resolve4('localhost'))[0] as string;
    const before = echo.connections();
    expect(await through(addr)).toEqual({ text: 'ping' });
    expect(echo.connections()).toBe(before + 1);
    expect(lines).toContain(`egress: direct localhost:${echo.port} (${addr}) allowed (127.0.0.1)`);
  });

  it('resets a connection to an address it never handed out, or to a name not allowed on the port', async () => {
    const before = echo.connections();
    expect(await through('127.100.0.77')).toEqual({ text: '', code: 'ECONNRESET' });
    const other = (await resolver.resolve4('other.test'))[0] as string; // allowed on port 9 only
    expect(await through(other)).toEqual({ text: '', code: 'ECONNRESET' });
    expect(echo.connections()).toBe(before);
    expect(egress.blocked()).toContainEqual({ host: '127.100.0.77', port: echo.port, count: 1, via: 'direct' });
    expect(egress.blocked()).toContainEqual({ host: 'other.test', port: echo.port, count: 1, via: 'direct' });
  });
});

describe('proxy targets given as a looked-up address', () => {
  it('stand for their name (a client that resolved through the jail, socks5:// rather than socks5h://)', async () => {
    const addr = (await resolver.resolve4('localhost'))[0] as string;
    const { text, socket } = await exchange(egress.port(), `CONNECT ${addr}:${echo.port} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(lines).toContain(`egress: CONNECT ${addr}:${echo.port} allowed (127.0.0.1)`);
  });
});
