/**
 * A real project's life inside the default profiles: `npm ci` of a project
 * whose dependency compiles with node-gyp (npm-install), its build, and its
 * test suite (test), with the same results as unjailed. npm's settings come
 * from ~/.npmrc (nodedir), which the jail hides and hands over sanitised.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  w = makeWorld('project');
  env = { ...w.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
  fs.appendFileSync(path.join(w.home, '.npmrc'), 'nodedir=/usr\n');
  const pkg = (name: string, files: Record<string, string>) => {
    const dir = path.join(w.root, 'deps', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(w.root, 'deps')], { cwd: dir, env });
  };
  pkg('native-dep', {
    'package.json': JSON.stringify({ name: 'native-dep', version: '1.0.0', gypfile: true, main: 'index.js' }),
    'binding.gyp': JSON.stringify({ targets: [{ target_name: 'add', sources: ['add.c'] }] }),
    'add.c':
      '#include <node_api.h>\n' +
      'static napi_value Add(napi_env env, napi_callback_info info) { size_t n = 2; napi_value a[2]; double x, y; napi_value r;\n' +
      '  napi_get_cb_info(env, info, &n, a, NULL, NULL); napi_get_value_double(env, a[0], &x); napi_get_value_double(env, a[1], &y);\n' +
      '  napi_create_double(env, x + y, &r); return r; }\n' +
      'NAPI_MODULE_INIT() { napi_value f; napi_create_function(env, "add", NAPI_AUTO_LENGTH, Add, NULL, &f); return f; }\n',
    'index.js': "module.exports = require('./build/Release/add.node');\n",
  });
  fs.writeFileSync(
    path.join(w.proj, 'package.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      private: true,
      dependencies: { 'native-dep': 'file:../deps/native-dep-1.0.0.tgz' },
      scripts: { build: 'node build.js', test: 'node --test test/' },
    }),
  );
  fs.writeFileSync(path.join(w.proj, '.npmrc'), 'allow-scripts=native-dep\n');
  fs.writeFileSync(path.join(w.proj, 'jail.config.json'), JSON.stringify({ profiles: { build: { extends: 'node', rw: ['dist?'] } } }));
  fs.writeFileSync(path.join(w.proj, 'build.js'), "require('fs').mkdirSync('dist', { recursive: true });\nrequire('fs').writeFileSync('dist/sum.js', 'module.exports = (a, b) => require(\"native-dep\")(a, b);\\n');\n");
  fs.mkdirSync(path.join(w.proj, 'test'));
  fs.writeFileSync(
    path.join(w.proj, 'test', 'sum.test.js'),
    "const test = require('node:test'); const assert = require('node:assert');\n" +
      "test('adds natively', () => assert.strictEqual(require('../dist/sum.js')(2, 3), 5));\n" +
      "test('reads the project', () => assert.match(require('fs').readFileSync('README.md', 'utf8'), /readme/));\n",
  );
  // The lock file, made once unjailed, as a project would have it.
  execFileSync('npm', ['install', '--offline', '--ignore-scripts'], { cwd: w.proj, env });
  fs.mkdirSync(path.join(w.proj, 'dist'));
}, 120_000);
afterAll(() => removeWorld(w));

strictJail.describe('npm ci, build and test inside the default profiles', () => {
  it('npm ci builds the native dependency with node-gyp (npm-install)', () => {
    fs.rmSync(path.join(w.proj, 'node_modules'), { recursive: true, force: true });
    const r = jail(w, ['-p', 'npm-install', '--', 'npm', 'ci', '--offline'], { env, timeout: 120_000 });
    expect(r.status, printed(r)).toBe(0);
    expect(fs.existsSync(path.join(w.proj, 'node_modules/native-dep/build/Release/add.node'))).toBe(true);
  });
  it('the build writes dist/ (a project profile) and the tests pass, as unjailed', () => {
    const build = jail(w, ['-p', 'build', '--', 'npm', 'run', 'build'], { env });
    expect(build.status, printed(build)).toBe(0);
    const jailed = jail(w, ['-p', 'test', '--', 'npm', 'test'], { env });
    const open = spawnSync('npm', ['test'], { cwd: w.proj, env, encoding: 'utf8' });
    const summary = (s: string) => s.split('\n').filter((l) => /^# (tests|pass|fail)/.test(l));
    expect(jailed.status, printed(jailed)).toBe(0);
    expect(summary(jailed.stdout)).toEqual(['# tests 2', '# pass 2', '# fail 0']);
    expect(summary(open.stdout)).toEqual(summary(jailed.stdout));
  });
});
