/** The addresses an allowed name may not resolve to (DNS rebinding), and
 *  the SOCKS5 parser on partial input. */
import * as net from 'node:net';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { isInternal } from '../../../src/egress/dial.js';
import { parseAllowHost } from '../../../src/egress/rules.js';
import { startEgress } from '../../../src/egress/server.js';
import { exchange } from './helpers.js';
import { parseGreeting, parseRequest, REP } from '../../../src/egress/socks.js';

describe('isInternal', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.100.0.1', true],
    ['0.0.0.0', true],
    ['169.254.169.254', true], // cloud metadata
    ['224.0.0.251', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:a9fe:a9fe', true],
    ['10.0.0.1', false], // RFC 1918: corporate registries
    ['192.168.1.1', false],
    ['172.16.0.1', false],
    ['fd00::1', false],
    ['104.16.0.1', false],
    ['2606:4700::1', false],
  ])('%s → %s', (address, internal) => {
    expect(isInternal(address)).toBe(internal);
  });
});

describe('SOCKS5 parsing', () => {
  it('waits for a whole greeting and request', () => {
    expect(parseGreeting(Buffer.from([5]))).toBeNull();
    expect(parseGreeting(Buffer.from([5, 2, 0]))).toBeNull();
    expect(parseGreeting(Buffer.from([5, 2, 2, 0]))).toEqual({ length: 4, reply: Buffer.from([5, 0]) });
    expect(parseGreeting(Buffer.from([5, 1, 2]))?.reply).toEqual(Buffer.from([5, 0xff])); // password only: refused
    const req = Buffer.from([5, 1, 0, 3, 7, ...Buffer.from('a.test:'), 0x01, 0xbb]);
    expect(parseRequest(req.subarray(0, 8))).toBeNull();
    expect(parseRequest(req)).toEqual({ length: req.length, host: 'a.test:', port: 443 });
    const v6 = Buffer.from([5, 1, 0, 4, ...Array(15).fill(0), 1, 0, 80]);
    expect(parseRequest(v6)).toEqual({ length: 22, host: '0:0:0:0:0:0:0:1', port: 80 });
  });
  it('refuses BIND, UDP ASSOCIATE and unknown address types', () => {
    expect(parseRequest(Buffer.from([5, 2, 0, 1, 1, 2, 3, 4, 0, 80]))).toEqual({ length: 10, error: REP.commandNotSupported });
    expect(parseRequest(Buffer.from([5, 1, 0, 9, 0]))).toMatchObject({ error: REP.addressNotSupported });
  });
});

/** This machine's own address on a network interface (not loopback). */
const own = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && !i.internal && i.family === 'IPv4')?.address;

describe.skipIf(own === undefined)("an allowed name that resolves to this machine's own interface address", () => {
  it('is refused like loopback: a server of this machine listening on every address receives no connection', async () => {
    let connections = 0;
    const server = net.createServer((c) => {
      connections++;
      c.destroy();
    });
    await new Promise<void>((ok) => server.listen(0, '0.0.0.0', ok));
    const port = (server.address() as net.AddressInfo).port;
    const egress = startEgress({
      rules: [parseAllowHost(`rebind.test:${port}`), parseAllowHost(`${own!}:${port}`)],
      proxy: [{ host: '127.0.0.1', port: 0 }],
      transparent: [],
      dns: [],
      resolve: () => Promise.resolve([{ address: own!, family: 4 }]),
    });
    try {
      await egress.ready;
      const { text } = await exchange(egress.port(), `CONNECT rebind.test:${port} HTTP/1.1\r\n\r\n`);
      expect(text).toMatch(/^HTTP\/1\.1 403 /);
      expect(text).toContain(`rebind.test resolves to ${own!}, an address of this machine`);
      expect(connections).toBe(0);
      // The address itself, as a rule, means what it says.
      const ip = await exchange(egress.port(), `CONNECT ${own!}:${port} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
      expect(ip.text).toMatch(/^HTTP\/1\.1 200 /);
      ip.socket.destroy();
    } finally {
      await egress.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});
