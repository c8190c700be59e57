import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeOptionsReason, parseNodeOptions } from '../../../src/policy/nodeoptions.js';

describe('parseNodeOptions: NODE_OPTIONS split as Node splits it', () => {
  it.each([
    ['--max-old-space-size=4096 --no-warnings', ['--max-old-space-size=4096', '--no-warnings']],
    ['--require "file with spaces.js"', ['--require', 'file with spaces.js']],
    ['"--require" x', ['--require', 'x']], // npm's node-options="--require" x
    ['--re"qui"re=x', ['--require=x']],
    ['"--im\\port" x', ['--import', 'x']], // a backslash in quotes takes the next character
    ['--require "" ./hook.cjs', ['--require', './hook.cjs']], // "" is no word
    ['  a   b ', ['a', 'b']],
    ["'--import' x\ty", ["'--import'", 'x\ty']], // single quotes and tabs are ordinary
    ['a\\ b', ['a\\', 'b']], // outside quotes a backslash is ordinary
    ['', []],
  ])('%j → %j', (given, words) => {
    expect(parseNodeOptions(given)).toEqual(words);
  });

  it.each(['--require "unterminated', '--require "foo\\'])('%j: node refuses to start', (given) => {
    expect(parseNodeOptions(given)).toBeNull();
  });
});

describe('nodeOptionsReason', () => {
  it.each([
    ['--max-old-space-size=4096'],
    ['--enable-source-maps --no-warnings'],
    ['--title "my app" --unhandled-rejections strict'],
    ['--inspect=127.0.0.1:9229'],
    ['--conditions=development -C node'],
    ['--experimental_vm_modules'],
    ['--icu-data-dir=/usr/share/icu'],
    ['--no-deprecation --trace-warnings --stack-trace-limit=50'],
    ['--disable-warning=ExperimentalWarning --dns-result-order ipv4first'],
    ['--title \\-r'], // \- escapes a value that starts with -
    [''],
  ])('keeps %j', (given) => {
    expect(nodeOptionsReason(given)).toBeNull();
  });

  it.each([
    ['-r ./x.js'],
    ['--require=x'],
    ['"--require" x'],
    ['--re"qui"re x'],
    ['--import=tsx'],
    ['--loader ts-node/esm'],
    ['--experimental-loader ./l.mjs'],
    ['--experimental_loader=./l.mjs'],
    ['--no-warnings --require x'],
    ['--title t -r x'],
    ['--inspect-port \\-r -r x'],
    ['--env-file=.env'],
    ['--env_file_if_exists=.env'],
    ['--experimental-config-file=node.config.json'],
    ['--experimental-default-config-file'],
    ['--openssl-config=/tmp/x.cnf'],
    ['--snapshot-blob x.blob'],
    ['--test-reporter=./r.mjs'],
    ['--test-global-setup=./s.mjs'],
    ['--experimental-policy=p.json'],
  ])('drops %j: loads code', (given) => {
    expect(nodeOptionsReason(given)).toBe('loads code');
  });

  it.each([
    ['--require "unterminated', 'NODE_OPTIONS node cannot parse'],
    ['--title -r x', 'NODE_OPTIONS node cannot parse'], // a value may not start with -
    ['--title', 'NODE_OPTIONS node cannot parse'],
    ['--some-future-flag', 'NODE_OPTIONS jail cannot check'],
    ['--REQUIRE x', 'NODE_OPTIONS jail cannot check'],
    ['-r=x', 'NODE_OPTIONS jail cannot check'],
    ['foo -r x', 'NODE_OPTIONS jail cannot check'],
    ['--max-old-space-size 4096', 'NODE_OPTIONS jail cannot check'], // a V8 option takes no next word
    ['--no-require x', 'NODE_OPTIONS jail cannot check'],
    ['--', 'NODE_OPTIONS jail cannot check'],
    ['--require\tx', 'NODE_OPTIONS jail cannot check'], // one word: node does not split at a tab
  ])('drops %j, failing closed: %s', (given, reason) => {
    expect(nodeOptionsReason(given)).toBe(reason);
  });

  // Node itself as the oracle: whatever jail keeps must load nothing, and
  // what node loads jail must not keep.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeoptions-test-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
  it.each([
    ['"--require" M', true],
    ['--re"qui"re=M', true],
    ['--require "" M', true],
    ['--no-warnings -r M', true],
    ['--title t -r M', true],
    ['--inspect-port \\-r -r M', true],
    ['--experimental_vm_modules --require=M', true],
    ['--title=a"b c" -r M', true],
    ['foo -r M', false], // node stops at the first word that is no option
    ['--title "a\\" -r M"', false],
    ['--max-old-space-size=64 --enable-source-maps', false],
  ])('agrees with node on %j (node loads it: %s)', (template, nodeLoads) => {
    const marker = path.join(scratch, 'marker.cjs');
    fs.writeFileSync(marker, 'console.log("MARKER-LOADED")\n');
    const value = template.replace(/M/g, marker);
    const r = spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH, NODE_OPTIONS: value }, encoding: 'utf8' });
    expect(r.stdout.includes('MARKER-LOADED')).toBe(nodeLoads);
    const reason = nodeOptionsReason(value);
    if (nodeLoads) expect(reason).toBe('loads code');
    else if (reason !== null) expect(reason).not.toBe('loads code');
  });
});
