/**
 * --allow-host, judged from outside: servers on the host's loopback stand
 * in for the internet. An allowed host receives the request; any other
 * receives no connection at all, through the proxy or around it; the
 * summary names what was blocked and the flag that would allow it. Runs in
 * whichever layer this machine has (the suite runs again with
 * JAIL_NAMESPACES=off for the fallback).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inFallback, jailAsync, makeWorld, removeWorld, type AsyncRun, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('egress');
  fs.writeFileSync(
    path.join(w.proj, 'direct.js'),
    // A program that ignores proxy variables: a raw TCP connect.
    `const s = require('net').connect(+process.argv[3], process.argv[2]);
     s.on('connect', () => { s.end('DIRECT-BYTES'); console.log('connected'); });
     s.on('data', (d) => process.stdout.write(String(d)));
     s.on('error', (e) => { console.log('error ' + e.code); process.exitCode = 3; });`,
  );
  fs.writeFileSync(
    path.join(w.proj, 'supertest.js'),
    // What supertest does: listen on an ephemeral port, connect to it.
    `const net = require('net');
     const srv = net.createServer((c) => c.end('pong')).listen(0, '127.0.0.1', () => {
       net.connect(srv.address().port, '127.0.0.1').on('data', (d) => { console.log(String(d)); srv.close(); });
     });`,
  );
});
afterAll(() => removeWorld(w));

interface Listener {
  port: number;
  /** Connections accepted, and what each request asked for. */
  connections: number;
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on the host's loopback that counts every connection. */
async function server(reply = 'hello from outside'): Promise<Listener> {
  const l = { port: 0, connections: 0, requests: [] as string[] } as Listener;
  const s = http.createServer((req, res) => {
    l.requests.push(`${req.method} ${req.url} host=${req.headers.host}`);
    res.end(reply);
  });
  s.on('connection', () => l.connections++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  l.port = (s.address() as net.AddressInfo).port;
  l.close = () =>
    new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    });
  return l;
}

const curl = (url: string) => ['curl', '-sS', '--max-time', '10', url];
const run = (args: string[]): Promise<AsyncRun> => jailAsync(w, ['--ro', '.', ...args]);

describe('--allow-host', () => {
  it('lets a tool that reads the proxy variables reach an allowed host', async () => {
    const s = await server();
    try {
      const r = await run(['--allow-host', `localhost:${s.port}`, '--', ...curl(`http://localhost:${s.port}/allowed`)]);
      expect(r.stdout).toBe('hello from outside');
      expect(r.status).toBe(0);
      expect(s.requests).toEqual([`GET /allowed host=localhost:${s.port}`]);
    } finally {
      await s.close();
    }
  });

  it('tunnels CONNECT to an IP-literal host', async () => {
    const s = await server('tunnelled');
    try {
      const r = await run(['--allow-host', `127.0.0.1:${s.port}`, '--', 'curl', '-sS', '--max-time', '10', '--proxytunnel', `http://127.0.0.1:${s.port}/t`]);
      expect(r.stdout).toBe('tunnelled');
      expect(s.requests).toEqual([`GET /t host=127.0.0.1:${s.port}`]);
    } finally {
      await s.close();
    }
  });

  it('refuses any other host at once, which receives no connection, and names the flag that would allow it', async () => {
    const [allowed, other] = [await server(), await server('SHOULD NOT BE SEEN')];
    try {
      const t0 = Date.now();
      const r = await run(['--allow-host', `localhost:${allowed.port}`, '--', ...curl(`http://localhost:${other.port}/steal`)]);
      expect(Date.now() - t0).toBeLessThan(8_000);
      expect(r.stdout).not.toContain('SHOULD NOT BE SEEN');
      expect(other.connections).toBe(0);
      expect(r.stderr).toContain(`jail: blocked 1 connection to localhost:${other.port} (allow with --allow-host localhost:${other.port})`);
    } finally {
      await Promise.all([allowed.close(), other.close()]);
    }
  });

  it('a program that ignores the proxy variables cannot go around the proxy', async () => {
    const [allowed, other] = [await server(), await server()];
    try {
      const r = await run(['--allow-host', `localhost:${allowed.port}`, '--', 'node', 'direct.js', '127.0.0.1', String(other.port)]);
      expect(r.stdout).toMatch(/error (ECONNREFUSED|EACCES|ENETUNREACH|EPERM)/);
      expect(other.connections).toBe(0);
    } finally {
      await Promise.all([allowed.close(), other.close()]);
    }
  });

  it('passes the exit status and the death by a signal on, as without a proxy', async () => {
    expect((await run(['--allow-host', 'example.com', '--', 'sh', '-c', 'exit 7'])).status).toBe(7);
    const killed = await run(['--allow-host', 'example.com', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(killed.signal).toBe('SIGTERM');
  });

  it('gives the command the proxy in the variables tools read, and clears NO_PROXY', async () => {
    const r = await jailAsync(w, ['--ro', '.', '--allow-host', 'example.com', '--', 'sh', '-c', 'echo "$HTTPS_PROXY|$http_proxy|$npm_config_https_proxy|${NO_PROXY-unset}|$(git config --global http.proxy)"'], {
      env: { ...w.env, NO_PROXY: '*' },
    });
    expect(r.stdout.trim()).toMatch(/^(http:\/\/127\.0\.0\.1:\d+)\|\1\|\1\|unset\|\1$/);
  });

  it.skipIf(inFallback)('in the namespace layer: jail answers name lookups, allowed names with local addresses, others refused at once', async () => {
    const t0 = Date.now();
    const r = await run(['--allow-host', 'registry.example.org', '--', 'sh', '-c', 'getent hosts registry.example.org; getent hosts evil.example.net; echo "lookup=$?"']);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.stdout).toMatch(/^127\.100\.\d+\.\d+\s+registry\.example\.org\nlookup=2\n$/);
    expect(r.stderr).toContain('jail: blocked 1 lookup of evil.example.net (allow with --allow-host evil.example.net)');
  });

  it.skipIf(inFallback)('in the namespace layer: a test suite may still listen on loopback and connect to it (supertest), with no other flag', async () => {
    const r = await run(['--allow-host', 'example.com', '--', 'node', 'supertest.js']);
    expect(r.stdout.trim()).toBe('pong');
  });
});
