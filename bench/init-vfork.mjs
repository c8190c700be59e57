#!/usr/bin/env node
/**
 * The init without a fork of Node (native/init.c), paired against another
 * build of jail: `run({ ro: ['/'] }, '/bin/true')` in a caller with a small
 * heap and with ~500 MB allocated (a filled Buffer, kept alive), and the
 * CLI `jail --ro / -- /bin/true` over `node -e 0`. A and B alternate in
 * every round (the order flips each round); the medians are of per-round
 * differences, B - A.
 *
 *   node bench/init-vfork.mjs <A: a jail checkout> <B: a jail checkout> [rounds]
 */
import { fork, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const [A, B, roundsArg] = process.argv.slice(2);
const ROUNDS = Number(roundsArg ?? 60);
if (!A || !B) throw new Error('usage: init-vfork.mjs <A> <B> [rounds]');
delete process.env.NODE_EXTRA_CA_CERTS;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(3)} ms`;

if (process.argv[2] === '--worker') {
  // the worker: argv = --worker <dist/index.js> <heap MB>
  const lib = await import(process.argv[3]);
  const { run } = lib.default ?? lib;
  const keep = Number(process.argv[4]) ? Buffer.alloc(Number(process.argv[4]) << 20, 0x5a) : null;
  const once = async () => {
    const t = process.hrtime.bigint();
    const r = await run({ ro: ['/'] }, '/bin/true');
    if (r.status !== 0) throw new Error(`status ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let i = 0; i < 5; i++) await once();
  process.on('message', async () => process.send(await once()));
  process.send('ready');
  globalThis.keep = keep;
} else {
  const self = fileURLToPath(import.meta.url);
  const worker = (root, mb) => {
    const w = fork(self, ['--worker', path.join(root, 'dist', 'index.js'), String(mb)], { stdio: 'inherit' });
    return new Promise((resolve) => w.once('message', () => resolve(w)));
  };
  const ask = (w) => new Promise((resolve) => (w.once('message', resolve), w.send('go')));
  for (const mb of [0, 500]) {
    const [a, b] = [await worker(A, mb), await worker(B, mb)];
    const d = [], ta = [], tb = [];
    for (let i = 0; i < ROUNDS; i++) {
      let x, y;
      if (i % 2) [y, x] = [await ask(b), await ask(a)];
      else [x, y] = [await ask(a), await ask(b)];
      ta.push(x);
      tb.push(y);
      d.push(y - x);
    }
    console.log(`run() with ${mb} MB kept: A ${median(ta).toFixed(3)} ms, B ${median(tb).toFixed(3)} ms, median(B - A) ${ms(median(d))} (${ROUNDS} rounds)`);
    a.kill();
    b.kill();
  }
  // the CLI, over node -e 0
  const time = (args) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.status}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const cli = (root) => [path.join(root, 'bin', 'jail.cjs'), '--ro', '/', '--', '/bin/true'];
  const da = [], db = [], dba = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? ['b', 'a', 'n'] : ['n', 'a', 'b'];
    const t = {};
    for (const k of order) t[k] = time(k === 'n' ? ['-e', '0'] : cli(k === 'a' ? A : B));
    da.push(t.a - t.n);
    db.push(t.b - t.n);
    dba.push(t.b - t.a);
  }
  console.log(`jail --ro / -- /bin/true over node -e 0: A ${ms(median(da))}, B ${ms(median(db))}, median(B - A) ${ms(median(dba))} (${ROUNDS} rounds)`);
}
