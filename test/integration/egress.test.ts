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
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { inNamespaces, jailAsync, jailCommand, makeWorld, removeWorld, needsKernelAbi, strictJail, type AsyncRun, type World } from './harness.js';

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

/** A raw TCP server that records what it receives. */
async function rawServer(): Promise<{ port: number; got: string[]; close(): Promise<void> }> {
  const got: string[] = [];
  const conns = new Set<net.Socket>();
  const s = net.createServer((c) => {
    conns.add(c);
    c.on('data', (d) => got.push(String(d)));
    c.end('raw hello');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    got,
    close: () => new Promise<void>((r) => (conns.forEach((c) => c.destroy()), s.close(() => r()))),
  };
}

/** `jail ARGS` without blocking this process, as root or as nobody, with stdin. */
function jailRun(args: string[], opts: { asNobody?: boolean; input?: string } = {}): Promise<AsyncRun> {
  const [cmd, argv] = jailCommand(w, args, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: w.proj, env: w.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const curl = (url: string) => ['curl', '-sS', '--max-time', '10', url];
const run = (args: string[]): Promise<AsyncRun> => jailAsync(w, ['--ro', '.', ...args]);

strictJail.describe('--allow-host', () => {
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
      // The control: allowed, the same request arrives.
      const control = await run(['--allow-host', `localhost:${other.port}`, '--', ...curl(`http://localhost:${other.port}/steal`)]);
      expect(control.stdout).toBe('SHOULD NOT BE SEEN');
      expect(other.connections).toBe(1);
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
      // The control: with the network open, the same program gets through,
      // so the listener would have seen a leak.
      const open = await run(['--net', 'all', '--', 'node', 'direct.js', '127.0.0.1', String(other.port)]);
      expect(open.stdout).toContain('connected');
      expect(other.connections).toBe(1);
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

  inNamespaces('jail\'s DNS lives in the command\'s own network namespace').it('in the namespace layer: jail answers name lookups, allowed names with local addresses, others refused at once', async () => {
    const t0 = Date.now();
    const r = await run(['--allow-host', 'registry.example.org', '--', 'sh', '-c', 'getent hosts registry.example.org; getent hosts evil.example.net; echo "lookup=$?"']);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.stdout).toMatch(/^127\.100\.\d+\.\d+\s+registry\.example\.org\nlookup=2\n$/);
    expect(r.stderr).toContain('jail: blocked 1 lookup of evil.example.net (allow with --allow-host evil.example.net)');
  });

  inNamespaces('a private loopback needs a network namespace').it('in the namespace layer: a test suite may still listen on loopback and connect to it (supertest), with no other flag', async () => {
    const r = await run(['--allow-host', 'example.com', '--', 'node', 'supertest.js']);
    expect(r.stdout.trim()).toBe('pong');
  });

  it('works for an unprivileged user too', async () => {
    const s = await server('as nobody');
    try {
      const r = await jailRun(['--ro', '.', '--allow-host', `localhost:${s.port}`, '--', ...curl(`http://localhost:${s.port}/n`)], { asNobody: true });
      expect(r.stdout).toBe('as nobody');
      expect(s.requests).toEqual([`GET /n host=localhost:${s.port}`]);
    } finally {
      await s.close();
    }
  });

  it('keeps stdin, stdout and pipes as they are: `yes | jail … -- head -1` ends at once', async () => {
    const echo = await jailRun(['--ro', '.', '--allow-host', 'example.com', '--', 'cat'], { input: 'through stdin\n' });
    expect(echo.stdout).toBe('through stdin\n');
    const t0 = Date.now();
    const [cmd, argv] = jailCommand(w, ['--ro', '.', '--allow-host', 'example.com', '--', 'head', '-1']);
    const r = await new Promise<string>((resolve) => {
      const yes = spawn('yes', [], { stdio: ['ignore', 'pipe', 'ignore'] });
      const head = spawn(cmd, argv, { cwd: w.proj, env: w.env, stdio: [yes.stdout, 'pipe', 'inherit'] });
      let out = '';
      head.stdout!.on('data', (d) => (out += d));
      head.on('close', () => {
        yes.kill();
        resolve(out);
      });
    });
    expect(r).toBe('y\n');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a connection the command resets at once does not stop the proxy for the rest of the run', async () => {
    const s = await server('still here');
    try {
      // RST before the first byte, then after a partial request line, then a request.
      const reset = (first: string) =>
        `node -e "const s = require('net').connect(+new URL(process.env.HTTP_PROXY).port, '127.0.0.1', () => { s.write('${first}'); setTimeout(() => s.resetAndDestroy(), 50); }); s.on('error', () => {});"`;
      const r = await run(['--allow-host', `localhost:${s.port}`, '--', 'sh', '-c', `${reset('')}; ${reset('GET http')}; ${reset('\\x05')}; sleep 0.2; ${curl(`http://localhost:${s.port}/after`).join(' ')}`]);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stdout).toBe('still here');
      expect(s.requests).toEqual([`GET /after host=localhost:${s.port}`]);
    } finally {
      await s.close();
    }
  });

  it('-v logs every request', async () => {
    const s = await server();
    try {
      const r = await run(['-v', '--allow-host', `localhost:${s.port}`, '--', ...curl(`http://localhost:${s.port}/logged`)]);
      expect(r.stderr).toMatch(new RegExp(`jail: egress: .*localhost:${s.port}.*allowed`));
    } finally {
      await s.close();
    }
  });

  inNamespaces('the transparent path needs jail\'s DNS in a network namespace').it('in the namespace layer: a program that ignores proxy variables (a raw connect, Node 20 fetch) reaches localhost:PORT when it is allowed', async () => {
    const raw = await rawServer();
    const s = await server('fetched');
    try {
      const r = await run(['--allow-host', `localhost:${raw.port}`, '--allow-host', `localhost:${s.port}`, '--', 'sh', '-c', `node direct.js 127.0.0.1 ${raw.port}; node -e "fetch('http://localhost:${s.port}/f').then(r => r.text()).then(t => console.log(t))"`]);
      expect(r.stdout).toBe('connected\nraw hellofetched\n');
      expect(raw.got.join('')).toBe('DIRECT-BYTES');
      expect(s.requests).toEqual([`GET /f host=localhost:${s.port}`]);
    } finally {
      await Promise.all([raw.close(), s.close()]);
    }
  });

  it('refuses a wildcard over a public suffix, and --allow-host with --net all, before anything runs', async () => {
    const psl = await run(['--allow-host', '*.co.uk', '--', 'sh', '-c', 'echo RAN']);
    expect([psl.status, psl.stdout]).toEqual([125, '']);
    expect(psl.stderr).toMatch(/public suffix/);
    const all = await run(['--net', 'all', '--allow-host', 'example.com', '--', 'sh', '-c', 'echo RAN']);
    expect([all.status, all.stdout]).toEqual([125, '']);
  });
});

strictJail.describe('no network at all', () => {
  it('npm is told it is offline, and fails at once with a hint instead of retrying for a minute', async () => {
    const t0 = Date.now();
    const r = await jailAsync(w, ['--', 'npm', 'view', 'left-pad', 'version']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('hint: --allow-host registry.npmjs.org');
  });
});

needsKernelAbi(1, 'Landlock').describe('--allow-host where Landlock cannot name a port', () => {
  it('the fallback before ABI 4 refuses, naming --allow-host, and nothing runs', async () => {
    const r = await jailAsync(w, ['--ro', '.', '--allow-host', 'example.com', '--', 'sh', '-c', 'echo RAN'], { env: { ...w.env, JAIL_LANDLOCK_ABI: '3', JAIL_NAMESPACES: 'off' } });
    expect([r.status, r.stdout]).toEqual([125, '']);
    expect(r.stderr).toContain("cannot enforce --allow-host (a rule for the egress proxy's port): this kernel has Landlock ABI 3; TCP port control needs ABI 4");
  });
});
