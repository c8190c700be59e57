/** --secret's interception, attacked on loopback: an HTTPS upstream with a
 *  certificate of its own CA stands for the listed host; the client speaks
 *  raw HTTP/1.1 inside jail's TLS, as a hostile program may. */
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeCa, type RunCa } from '../../../src/egress/ca.js';
import { createInterceptor } from '../../../src/egress/intercept.js';
import { parseAllowHost } from '../../../src/egress/rules.js';
import { startEgress, type Egress } from '../../../src/egress/server.js';

const REAL = 'REALsecretVALUE0123456789';
const PH = 'PHplaceholderXX0123456789';
let upCa: RunCa;
let runCa: RunCa;
let egress: Egress;
let up: https.Server;
let port = 0;
const got: Array<{ url: string; raw: string[] }> = [];

beforeAll(async () => {
  [upCa, runCa] = [await makeCa(), await makeCa()];
  const leaf = await upCa.leaf('localhost');
  up = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    got.push({ url: req.url ?? '', raw: req.rawHeaders });
    res.end('hi\n');
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  port = (up.address() as net.AddressInfo).port;
  const rule = parseAllowHost(`localhost:${port}`);
  egress = startEgress({
    rules: [rule],
    proxy: [{ host: '127.0.0.1', port: 0 }],
    transparent: [],
    dns: [],
    resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    intercept: { secrets: [{ name: 'K', placeholder: PH, value: REAL, hosts: [rule] }], ca: runCa, trust: [upCa.certPem] },
  });
  await egress.ready;
});
afterAll(async () => {
  await egress.close();
  up.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
});

/** CONNECT to the listed host, TLS with jail's certificate, `raw` inside;
 *  everything the proxy answers until it closes. */
async function inside(raw: string): Promise<string> {
  const s = net.connect(egress.port(), '127.0.0.1');
  s.write(`CONNECT localhost:${port} HTTP/1.1\r\n\r\n`);
  await new Promise<void>((ok) => s.once('data', () => ok()));
  const t = tls.connect({ socket: s, servername: 'localhost', ca: runCa.certPem });
  await new Promise<void>((ok, fail) => {
    t.once('secureConnect', ok);
    t.once('error', fail);
  });
  t.write(raw);
  let text = '';
  t.setEncoding('latin1');
  t.on('data', (d: string) => (text += d));
  t.on('error', () => {});
  await new Promise<void>((ok) => t.once('close', () => ok()));
  return text;
}

it('sends the value to the listed host only: another Host header, a second one, an absolute-form target are refused (421)', async () => {
  got.length = 0;
  const auth = `Authorization: Bearer ${PH}\r\nConnection: close\r\n`;
  const tries = [
    `GET /a HTTP/1.1\r\nHost: evil.example\r\n${auth}\r\n`,
    `GET /b HTTP/1.1\r\nHost: localhost:${port}\r\nHost: evil.example\r\n${auth}\r\n`,
    `GET https://evil.example/c HTTP/1.1\r\nHost: localhost:${port}\r\n${auth}\r\n`,
    `GET /d HTTP/1.1\r\nHost: localhost\r\n${auth}\r\n`, // port 443, not the connection's
  ];
  for (const t of tries) expect(await inside(t)).toMatch(/^HTTP\/1\.1 421 /);
  expect(got).toEqual([]);
  // The listed host, named in any case, or not named at all (HTTP/1.0): sent, with the value.
  expect(await inside(`GET /ok HTTP/1.1\r\nHost: LOCALHOST.:${port}\r\n${auth}\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  expect(await inside(`GET /old HTTP/1.0\r\nAuthorization: Bearer ${PH}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  expect(got.map((g) => g.url)).toEqual(['/ok', '/old']);
  expect(got[1]!.raw).toEqual(expect.arrayContaining(['Host', `localhost:${port}`, `Bearer ${REAL}`]));
});

it('an upstream or a client that resets at any stage is no uncaught error: the engine keeps serving', async () => {
  // An upstream that resets at once (before TLS), and one that resets once the request is in.
  const leaf = await upCa.leaf('localhost');
  const early = net.createServer((c) => c.resetAndDestroy());
  const late = net.createServer((c) => {
    c.on('error', () => {});
    const t = new tls.TLSSocket(c, { isServer: true, secureContext: tls.createSecureContext({ cert: leaf.cert, key: leaf.key }) });
    t.on('error', () => {});
    t.once('data', () => c.resetAndDestroy());
  });
  await Promise.all([early, late].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const ports = [early, late].map((s) => (s.address() as net.AddressInfo).port);
  const rules = ports.map((p) => parseAllowHost(`localhost:${p}`));
  const e = startEgress({
    rules,
    proxy: [{ host: '127.0.0.1', port: 0 }],
    transparent: [],
    dns: [],
    resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    intercept: { secrets: [{ name: 'K', placeholder: PH, value: REAL, hosts: rules }], ca: runCa, trust: [upCa.certPem] },
  });
  await e.ready;
  try {
    for (const p of ports) {
      for (const cut of ['connect', 'tls', 'request']) {
        const s = net.connect(e.port(), '127.0.0.1');
        s.on('error', () => {});
        s.write(`CONNECT localhost:${p} HTTP/1.1\r\n\r\n`);
        await new Promise<void>((ok) => s.once('data', () => ok()));
        if (cut === 'connect') {
          s.resetAndDestroy();
          continue;
        }
        const t = tls.connect({ socket: s, servername: 'localhost', ca: runCa.certPem });
        t.on('error', () => {});
        await new Promise<void>((ok) => t.once('secureConnect', () => ok()));
        if (cut === 'request') t.write(`GET / HTTP/1.1\r\nHost: localhost:${p}\r\nAuthorization: ${PH}\r\n\r\n`);
        await new Promise((r) => setTimeout(r, 100));
        s.resetAndDestroy();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await inside(`GET /still HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  } finally {
    await e.close();
    await Promise.all([early, late].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
});

it('plain HTTP gets the value only on a host listed with :80; on a TLS port the placeholder stays', () => {
  const hosts = ['api.example:80', 'api.example'].map(parseAllowHost);
  const i = createInterceptor({ open: () => Promise.reject(new Error('no dial here')) }, { secrets: [{ name: 'K', placeholder: PH, value: REAL, hosts }], ca: runCa });
  const head = ['Authorization', `Bearer ${PH}`];
  expect(i.rewrite('api.example', 80, `/q?k=${PH}`, head)).toMatchObject({ url: `/q?k=${REAL}`, rawHeaders: ['Authorization', `Bearer ${REAL}`] });
  expect(i.rewrite('API.example.', 443, `/q?k=${PH}`, head)).toMatchObject({ url: `/q?k=${PH}`, rawHeaders: head });
  i.close();
});
