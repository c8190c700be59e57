/** Real tools keep working inside the default jail (--net none). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('tools');
  fs.writeFileSync(path.join(w.proj, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', scripts: { hello: 'node -e "console.log(6*7)"' } }));
  fs.writeFileSync(path.join(w.proj, 'm.c'), '#include <stdio.h>\nint main(void) { puts("compiled"); return 0; }\n');
});
afterAll(() => removeWorld(w));

strictJail.describe('tools under --net none', () => {
  it('npm runs a script, offline', () => {
    const r = jail(w, ['--rw', '.', '--', 'npm', 'run', '--silent', 'hello']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, '42\n']);
  });
  it('git makes a repository and a commit', () => {
    const r = jail(w, ['--rw', '.', '--', 'sh', '-c', 'git init -q r && cd r && echo a > a && git add a && git -c user.name=t -c user.email=t@example.com commit -qm first && git log --format=%s']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'first\n']);
  });
  it('python3 runs', () => {
    const r = jail(w, ['--ro', '.', '--', '/usr/bin/python3', '-c', 'import json, os; print(json.dumps({"ok": True}))']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, '{"ok": true}\n']);
  });
  it('a C compiler builds and the result runs', () => {
    const r = jail(w, ['--rw', '.', '--', 'sh', '-c', 'cc -o m m.c && ./m'], { env: { ...w.env, TMPDIR: w.proj } });
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'compiled\n']);
  });
  it('node child_process with IPC works', () => {
    fs.writeFileSync(
      path.join(w.proj, 'ipc.js'),
      "const { fork } = require('child_process');\nif (process.send) process.send('pong');\nelse { const c = fork(__filename); c.on('message', (m) => { console.log(m); c.disconnect(); }); }\n",
    );
    const r = jail(w, ['--ro', '.', '--', 'node', 'ipc.js']);
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'pong\n']);
  });
});

strictJail.describe('the user’s git and npm config, without their credentials', () => {
  beforeAll(() => {
    fs.writeFileSync(path.join(w.home, '.gitconfig'), '[user]\n\tname = Jane Dev\n\temail = jane@example.com\n[credential]\n\thelper = store\n[url "https://x-access-token:ghp_GITSECRET@github.com/"]\n\tinsteadOf = https://github.com/\n[include]\n\tpath = ~/.gitconfig.local\n');
    fs.writeFileSync(path.join(w.home, '.gitconfig.local'), '[user]\n\tsigningkey = LOCALSECRET\n');
    fs.appendFileSync(path.join(w.home, '.npmrc'), 'nodedir=/opt/fake-node-headers\n');
  });
  afterAll(() => {
    fs.rmSync(path.join(w.home, '.gitconfig'));
    fs.rmSync(path.join(w.home, '.gitconfig.local'));
  });
  it('git commits with the user’s name and sees no token', () => {
    const r = jail(w, ['--rw', '.', '--', 'sh', '-c', 'git config --global --list; git init -q g2 && cd g2 && git commit -q --allow-empty -m x && git log --format=%an']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toContain('user.name=Jane Dev');
    expect(r.stdout.trim().split('\n').pop()).toBe('Jane Dev');
    expect(printed(r)).not.toMatch(/ghp_GITSECRET|LOCALSECRET|credential/);
    // Control: without the copy (no private TMPDIR), git meets the hidden file and stops.
    const bare = jail(w, ['--no-private-tmp', '--rw', '.', '--', 'git', 'config', '--global', '--list']);
    expect(bare.status).not.toBe(0);
  });
  it('npm keeps nodedir and loses the token', () => {
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'npm config get nodedir; cat "$NPM_CONFIG_USERCONFIG"']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('/opt/fake-node-headers');
    expect(printed(r)).not.toContain(w.secrets.npmrc);
  });
});
