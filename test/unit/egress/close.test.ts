/** close() leaves nothing behind that would keep the supervisor alive:
 *  listeners, the DNS socket, tunnels, idle clients and pending dials. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as packet from 'dns-packet';
import { expect, it } from 'vitest';
import { parseAllowHost } from '../../../src/egress/rules.js';
import { startEgress } from '../../../src/egress/server.js';
import { echoServer, exchange, rawTcp, rawUdp } from './helpers.js';

const sockets = () => process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r)).sort();

it('close() releases every handle', async () => {
  const echo = await echoServer();
  // The raw binding handles are listed but inactive: they keep nothing alive.
  const listener = rawTcp();
  const udp = rawUdp();
  const baseline = sockets();
  const e = startEgress({
    rules: [parseAllowHost(`localhost:${echo.port}`), parseAllowHost('slow.test')],
    proxy: [{ host: '127.0.0.1', port: 0 }],
    transparent: [{ fd: listener.fd, port: echo.port }],
    dns: [{ fd: udp.fd }],
    resolve: (h) => (h === 'localhost' ? Promise.resolve([{ address: '127.0.0.1', family: 4 }]) : new Promise(() => {})),
  });
  await e.ready;
  const tunnel = await exchange(e.port(), `CONNECT localhost:${echo.port} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
  tunnel.socket.resume();
  const pending = exchange(e.port(), 'CONNECT slow.test:443 HTTP/1.1\r\n\r\n');
  const client = dgram.createSocket('udp4');
  const answered = new Promise((ok) => client.once('message', ok));
  client.send(packet.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'localhost' }] }), udp.port, '127.0.0.1');
  await answered;
  client.close();
  const direct = net.connect(listener.port, '127.100.0.1');
  await new Promise((ok) => direct.once('connect', ok));
  direct.on('error', () => {});
  await new Promise((ok) => setTimeout(ok, 50));

  await e.close();
  await pending;
  await new Promise((ok) => setTimeout(ok, 50));
  expect(tunnel.socket.destroyed || tunnel.socket.readableEnded).toBe(true);
  expect(direct.destroyed || direct.readableEnded).toBe(true);
  tunnel.socket.destroy();
  direct.destroy();
  await new Promise((ok) => setImmediate(ok));
  expect(sockets()).toEqual(baseline);
  await echo.close();
});
