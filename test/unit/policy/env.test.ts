import { describe, expect, it } from 'vitest';
import { filterEnv, secretReason } from '../../../src/policy/env.js';

const env = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  LANG: 'C.UTF-8',
  LC_ALL: 'C',
  TERM: 'xterm',
  EDITOR: 'vi',
  CI: 'true',
  GITHUB_TOKEN: 'ghp_x',
  GH_TOKEN: 'x',
  NPM_TOKEN: 'x',
  NODE_AUTH_TOKEN: 'x',
  npm_config__authToken: 'x',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AZURE_CLIENT_SECRET: 'x',
  GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
  OPENAI_API_KEY: 'x',
  STRIPE_KEY: 'x',
  DB_PASSWORD: 'x',
  MY_PASSWD: 'x',
  SSH_AUTH_SOCK: '/run/ssh',
  GPG_AGENT_INFO: 'x',
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/bus',
  LD_PRELOAD: '/x.so',
  LD_AUDIT: '/x.so',
  BASH_ENV: '/x.sh',
  ENV: '/x.sh',
  NODE_OPTIONS: '--require /x.js',
  DATABASE_URL: 'postgres://app:hunter2@db/app',
  PUBLIC_URL: 'https://example.com/x',
};

describe('the default environment', () => {
  const { env: out, dropped } = filterEnv(env, { mode: 'filter', pass: [], set: {} });
  it('keeps ordinary variables', () => {
    expect(Object.keys(out).sort()).toEqual(['CI', 'EDITOR', 'HOME', 'LANG', 'LC_ALL', 'PATH', 'PUBLIC_URL', 'TERM']);
  });
  it('drops secrets, agent sockets and code-loading hooks, and lists their names only', () => {
    expect(dropped).toEqual(Object.keys(env).filter((k) => !(k in out)).sort());
    expect(dropped).toContain('GITHUB_TOKEN');
    expect(dropped).toContain('DATABASE_URL');
    expect(dropped.join(' ')).not.toContain('hunter2');
  });
  it.each([
    ['NODE_OPTIONS', '--max-old-space-size=4096', null],
    ['NODE_OPTIONS', '-r ./x.js', 'loads code'],
    ['NODE_OPTIONS', '--import=tsx', 'loads code'],
    ['NODE_OPTIONS', '--experimental-loader ./l.mjs', 'loads code'],
    ['MONKEY', 'banana', null],
    ['KEYBOARD', 'us', null],
    ['SSH_KEY', 'x', 'secret name'],
    ['PATH', 'https://a:b@c/', 'URL with a password'],
    ['HTTP_PROXY', 'http://proxy:3128', null],
    ['HTTPS_PROXY', 'http://u:p@proxy:3128', 'URL with a password'],
  ])('%s=%s → %s', (name, value, reason) => {
    expect(secretReason(name, value)).toBe(reason);
  });
});

describe('--env, --env-all, --clean-env', () => {
  it('--env NAME passes a dropped one through; --env NAME=VALUE sets one', () => {
    const { env: out, dropped } = filterEnv(env, { mode: 'filter', pass: ['NPM_TOKEN'], set: { FOO: 'bar' } });
    expect(out.NPM_TOKEN).toBe('x');
    expect(out.FOO).toBe('bar');
    expect(dropped).not.toContain('NPM_TOKEN');
  });
  it('--env-all passes everything', () => {
    expect(filterEnv(env, { mode: 'all', pass: [], set: {} }).env).toEqual(env);
  });
  it('--clean-env keeps only the minimal list and LC_*', () => {
    const { env: out } = filterEnv(env, { mode: 'clean', pass: ['CI'], set: {} });
    expect(Object.keys(out).sort()).toEqual(['CI', 'HOME', 'LANG', 'LC_ALL', 'PATH', 'TERM']);
  });
});
