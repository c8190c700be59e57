/**
 * The egress proxy serves the jailed command only. In the fallback it
 * listens on the host's 127.0.0.1, where every local user can connect: a
 * process of another user, outside the jail, asks it for the allowed host
 * (CONNECT, an absolute-form request, SOCKS5) while the jail runs, and the
 * allowed host (a loopback server here) must receive nothing from it. The
 * control: the jailed command, after the outsider has tried, still reaches
 * that host through the same proxy. In the namespace layer the proxy is in
 * the command's own network namespace and the host's listener is gone once
 * the command runs; the same attack checks that.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, NODE, jailCommand, makeWorld, inFallback, needs, removeWorld, strictJail, until, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('egress-outsiders');
});
afterAll(() => removeWorld(w));

/** A raw TCP server on the host's loopback: every connection and every
 *  byte it receives. */
async function allowedHost(): Promise<{ port: number; connections: number; got: () => string; close(): Promise<void> }> {
  let got = '';
  const conns = new Set<net.Socket>();
  const s = net.createServer((c) => {
    conns.add(c);
    c.on('data', (d) => {
      got += String(d);
      // Answer a request once its head is in, then close.
      if (String(d).includes('\r\n\r\n')) c.end('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nreached');
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const l = {
    port: (s.address() as net.AddressInfo).port,
    connections: 0,
    got: () => got,
    close: () => new Promise<void>((r) => (conns.forEach((c) => c.destroy()), s.close(() => r()))),
  };
  s.on('connection', () => l.connections++);
  return l;
}

/** What an outsider sends the proxy: each way in, with a marker the
 *  allowed host would receive. */
const OUTSIDER = `
const net = require('net');
const [port, target] = [+process.argv[1], +process.argv[2]];
const tries = [
  ['connect', 'CONNECT localhost:' + target + ' HTTP/1.1\\r\\nHost: localhost:' + target + '\\r\\n\\r\\nGET /outsider-tunnel HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'],
  ['forward', 'GET http://localhost:' + target + '/outsider-forward HTTP/1.1\\r\\nHost: localhost:' + target + '\\r\\n\\r\\n'],
  ['socks', Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, 9]), Buffer.from('localhost'), Buffer.from([target >> 8, target & 255]), Buffer.from('GET /outsider-socks HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')])],
];
(async () => {
  for (const [name, bytes] of tries) {
    const said = await new Promise((done) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('error', (e) => done('error ' + e.code));
      s.on('close', () => done('closed ' + JSON.stringify(got.slice(0, 60))));
      setTimeout(() => (s.destroy(), done('timeout ' + JSON.stringify(got.slice(0, 60)))), 2000);
    });
    console.log(name + ': ' + said);
  }
})();
`;

/** An outsider that watches for the proxy's listener (/proc/net/tcp is
 *  world-readable) and tries it the moment it appears: the namespace
 *  layer's host listener serves before the command runs in its own
 *  network. Prints what it tried, once it has. */
const WATCHER = `
const fs = require('fs'), net = require('net');
const target = +process.argv[1];
const listening = () => new Set(fs.readFileSync('/proc/net/tcp', 'utf8').split('\\n').flatMap((l) => {
  const f = l.trim().split(/\\s+/);
  return f[3] === '0A' && f[1].startsWith('0100007F:') ? [parseInt(f[1].slice(9), 16)] : [];
}));
const before = listening();
console.log('watching');
const bytes = 'CONNECT localhost:' + target + ' HTTP/1.1\\r\\nHost: localhost:' + target + '\\r\\n\\r\\nGET /outsider-early HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n';
const t0 = Date.now();
(function look() {
  const port = [...listening()].find((p) => !before.has(p) && p >= 20000 && p < 32000);
  if (port === undefined) return Date.now() - t0 < 15000 ? setImmediate(look) : console.log('none');
  const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
  let got = '';
  s.on('data', (d) => (got += d));
  s.on('error', (e) => console.log('tried ' + port + ': error ' + e.code));
  s.on('close', () => console.log('tried ' + port + ': ' + JSON.stringify(got.slice(0, 60))));
})();
`;

/** setpriv's arguments to run as `uid` (root: none). */
const as = (uid: number): string[] => (uid === 0 ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups']);

/**
 * A jail (as `caller`) whose command prints the proxy's port, waits for
 * the file `go`, then asks the allowed host itself; meanwhile each of
 * `outsiders` (uids, outside the jail) tries the proxy.
 */
async function attack(caller: number, outsiders: number[]) {
  const host = await allowedHost();
  const go = path.join(w.proj, 'go');
  fs.rmSync(go, { force: true });
  try {
    const script = `echo "port=\${HTTP_PROXY##*:}"; while [ ! -e go ]; do sleep 0.05; done; curl -sS --max-time 10 http://localhost:${host.port}/jailed`;
    const [cmd, argv] = jailCommand(w, ['--ro', '.', '--allow-host', `localhost:${host.port}`, '--', 'sh', '-c', script], { asNobody: caller !== 0 });
    const child = spawn(cmd, argv, { cwd: w.proj, env: w.env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /port=(\d+)\n/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      child.on('close', () => reject(new Error(`the jail ended first: ${stdout}${stderr}`)));
    });
    const tried: Record<number, string> = {};
    for (const uid of outsiders) {
      const [c, ...a] = [...as(uid), NODE, '-e', OUTSIDER, String(port), String(host.port)];
      const r = await new Promise<string>((resolve) => {
        let out = '';
        const p = spawn(c!, a, { env: { PATH: w.env.PATH } });
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('close', () => resolve(out));
      });
      tried[uid] = r;
    }
    // What reached the allowed host before the jailed command asked.
    const before = { connections: host.connections, got: host.got() };
    fs.writeFileSync(go, '');
    const status = await new Promise<number | null>((resolve) => child.on('close', (s) => resolve(s)));
    return { before, after: { connections: host.connections, got: host.got() }, tried, status, stdout, stderr, port };
  } finally {
    await host.close();
  }
}

const callers: Array<[string, number, number[]]> = IS_ROOT
  ? [
      ['root', 0, [65534]],
      ['nobody', 65534, [12345, 0]],
    ]
  : [];

strictJail.describe('the egress proxy serves the jailed command only', () => {
  needs(IS_ROOT, 'runs as root, to be another user').it('another user who tries the proxy the moment it listens gets nothing through it', async () => {
    const host = await allowedHost();
    try {
      const watcher = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, '-e', WATCHER, String(host.port)], { env: { PATH: w.env.PATH } });
      let said = '';
      watcher.stdout.on('data', (d) => (said += d));
      watcher.stderr.on('data', (d) => (said += d));
      const ended = new Promise<void>((r) => watcher.on('close', () => r()));
      await until(() => said.includes('watching'), 10_000);
      const [cmd, argv] = jailCommand(w, ['--ro', '.', '--allow-host', `localhost:${host.port}`, '--', 'sleep', '1']);
      const r = spawnSync(cmd, argv, { cwd: w.proj, env: w.env, encoding: 'utf8' });
      await ended;
      expect(said).toMatch(/tried \d+: /);
      expect(r.status).toBe(0);
      expect({ connections: host.connections, got: host.got() }, said).toEqual({ connections: 0, got: '' });
    } finally {
      await host.close();
    }
  });

  for (const [name, caller, outsiders] of callers) {
    needs(IS_ROOT, 'runs as root, to be another user').it(`jail as ${name}: another user outside the jail gets nothing through the proxy; the jailed command does`, async () => {
      const r = await attack(caller, outsiders);
      // The outsiders' tries reached nothing: not a connection, not a byte.
      expect(r.before, JSON.stringify(r.tried)).toEqual({ connections: 0, got: '' });
      for (const uid of outsiders) {
        expect(r.tried[uid]).toMatch(/^connect: .*\nforward: .*\nsocks: .*\n$/);
        expect(r.tried[uid]).not.toContain('200');
      }
      // The control: the command itself got through, after them.
      expect(r.stdout).toContain('reached');
      expect(r.status).toBe(0);
      expect(r.after.connections).toBe(1);
      expect(r.after.got).toContain('GET /jailed');
      expect(r.after.got).not.toContain('outsider');
      // Said after the run, where the proxy saw them (the fallback; in the
      // namespace layer the host's listener was gone).
      if (inFallback) expect(r.stderr).toContain(`jail: warning: the egress proxy refused ${3 * outsiders.length} connections not from the jailed command (${outsiders.map((u) => `3 from uid ${u}`).join(', ')})`);
    });
  }
});
