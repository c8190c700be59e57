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
    // CA bundles: paths, no secret; the value is still checked.
    ['AWS_CA_BUNDLE', '/etc/ssl/corp-ca.pem', null],
    ['NODE_EXTRA_CA_CERTS', '/etc/ssl/corp-ca.pem', null],
    ['SSL_CERT_FILE', '/etc/ssl/certs/ca-certificates.crt', null],
    ['SSL_CERT_DIR', '/etc/ssl/certs', null],
    ['REQUESTS_CA_BUNDLE', '/etc/ssl/corp-ca.pem', null],
    ['CURL_CA_BUNDLE', '/etc/ssl/corp-ca.pem', null],
    ['GIT_SSL_CAINFO', '/etc/ssl/corp-ca.pem', null],
    ['AWS_CA_BUNDLE', 'https://u:p@example.com/ca.pem', 'URL with a password'],
    ['AWS_SECRET_ACCESS_KEY', '/etc/ssl/corp-ca.pem', 'secret name'],
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

// Fake secrets only, built at run time; each contains FAKE.
const alnum = (n: number) => 'FAKE' + '0aB1c2D3e4F5g6H7i8J9kLmNoPqRsTuVwXyZ'.repeat(8).slice(0, n - 4);
const fake = {
  ghp: 'ghp_' + alnum(36),
  githubPat: 'github_pat_' + alnum(22) + '_' + alnum(59),
  glpat: 'glpat-' + alnum(20),
  npm: 'npm_' + alnum(36),
  slack: 'xoxb-' + '123456789012-' + alnum(24),
  openai: 'sk-proj-' + alnum(48),
  anthropic: 'sk-ant-api03-' + alnum(93),
  akia: 'AKIA' + 'FAKE' + 'ABCDEFGH2345',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJGQUtFIn0.' + alnum(43),
  pem: '-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE\n-----END OPENSSH PRIVATE KEY-----',
  key32: 'fa4e' + '0123456789abcdef0123456789ab', // a Sentry public key: 32 hex
};

describe('secrets the name does not give away (issue 8, E1)', () => {
  it.each([
    // git's config from the environment: -c http.extraHeader=… and the like
    ['GIT_CONFIG_PARAMETERS', "'http.extraheader'='AUTHORIZATION: basic RkFLRQ=='", 'git config'],
    ['GIT_CONFIG_COUNT', '1', 'git config'],
    ['GIT_CONFIG_KEY_0', 'http.extraHeader', 'git config'],
    ['GIT_CONFIG_VALUE_0', 'Authorization: Bearer FAKE', 'git config'],
    ['MYSQL_PWD', 'FAKE', 'secret name'],
    ['PGPASSWORD', 'FAKE', 'secret name'],
    ['BW_SESSION', 'FAKEbase64sessionkey0123456789abcdef==', 'secret name'],
    ['OP_SESSION_my', 'FAKE', 'secret name'],
    ['GH_PAT', 'FAKE', 'secret name'],
    ['AZDO_PAT', 'FAKE', 'secret name'],
    ['SMTP_PASS', 'FAKE', 'secret name'],
    ['GPG_PASSPHRASE', 'FAKE', 'secret name'],
    ['CI_JOB_JWT', 'FAKE', 'secret name'],
    ['CI_JOB_JWT_V2', 'FAKE', 'secret name'],
    ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'FAKE', 'secret name'],
    ['SLACK_WEBHOOK_URL', 'https://example.com/FAKE', 'secret name'],
    ['SENTRY_DSN', 'https://example.com/FAKE', 'secret name'],
    ['HTTP_COOKIE', 'session=FAKE', 'secret name'],
    // values that are credentials whatever the name
    ['NOTIFY', `https://hooks.slack.com/services/T0FAKE000/B0FAKE000/${alnum(24)}`, 'webhook URL'],
    ['CHAT', `https://discord.com/api/webhooks/123456789012345678/${alnum(68)}`, 'webhook URL'],
    ['TEAMS', 'https://corp.webhook.office.com/webhookb2/FAKE', 'webhook URL'],
    ['DSN', 'postgres://app:pa#ss@db/app', 'URL with a password'], // as before: a raw # or ? in the password
    ['DSN2', 'mysql://u:p?w@db/app', 'URL with a password'],
    ['ERRORS', `https://${fake.key32}@o123456.ingest.sentry.io/4505`, 'URL with credentials'],
    ['REPO', `https://${fake.ghp}@github.com/o/r.git`, 'URL with credentials'],
    ['DB', 'postgres://db.example/app?sslmode=require&password=FAKE', 'secret in URL'],
    ['FEED', 'https://b.s3.amazonaws.com/k?X-Amz-Credential=x&X-Amz-Signature=FAKE', 'secret in URL'],
    ['BLOB', 'https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sig=FAKE', 'secret in URL'],
    ['API', 'https://api.example.com/v1?access_token=FAKE', 'secret in URL'],
    ['FN', `https://fn.azurewebsites.net/api/x?code=${alnum(40)}`, 'secret in URL'],
    ['REGISTRY', 'https://npm.fury.io/FAKEtoken/corp/', 'secret in URL'],
    ['MIRROR', 'https://dl.cloudsmith.io/FAKEtoken123/org/repo/npm/', 'secret in URL'],
    ['GH', fake.ghp, 'GitHub token'],
    ['GH2', fake.githubPat, 'GitHub token'],
    ['GL', fake.glpat, 'GitLab token'],
    ['NPMRC_LINE', `//registry.npmjs.org/:_authToken=${fake.npm}`, 'npm token'],
    ['BOT', fake.slack, 'Slack token'],
    ['OAI', fake.openai, 'OpenAI or Anthropic key'],
    ['CLAUDE', fake.anthropic, 'OpenAI or Anthropic key'],
    ['AKID', fake.akia, 'AWS access key'],
    ['ID', fake.jwt, 'JWT'],
    ['DEPLOY', fake.pem, 'private key'],
    ['CURL_OPTS', '-H "Authorization: Bearer FAKE"', 'authorization header'],
    ['HDR', 'Private-Token: FAKE', 'authorization header'],
    ['CONN', 'Server=db;Database=app;User Id=sa;Password=FAKE;', 'password in connection string'],
    ['STORAGE', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=FAKE==;', 'password in connection string'],
    // credentials under innocent names, in their usual forms (audit4)
    ['AUTHORIZATION', `Basic ${Buffer.from('deploy:FAKEpass').toString('base64')}`, 'authorization header'],
    ['UPSTREAM_HDR', `basic ${Buffer.from('u:FAKE').toString('base64')}`, 'authorization header'],
    ['PG_CONNINFO', 'host=db port=5432 user=app password=FAKE dbname=app', 'password in connection string'],
    ['PG_CONNINFO2', "host=db password='FA KE' dbname=app", 'password in connection string'],
    ['BUNDLE_GEMS__CONTRIBSYS__COM', 'cafebabe:FAKEdeadbeef', 'gem source credentials'],
    ['BUNDLE_GITHUB__COM', 'FAKEgeneratedtoken:x-oauth-basic', 'gem source credentials'],
    ['APP_KEYS', 'toBeModified1,toBeModified2', 'secret name'], // Strapi's session keys
    ['SIGNING_KEY_B64', Buffer.from(fake.pem + '\n').toString('base64'), 'private key'],
    ['MAIL', `SG.${alnum(22)}.${alnum(43)}`, 'SendGrid key'],
    ['GCP_ACCESS', `ya29.${alnum(120)}`, 'Google OAuth token'],
    // NODE_OPTIONS read as node reads it (B5)
    ['NODE_OPTIONS', '"--require" ./x.js', 'loads code'], // from .npmrc: node-options="--require" ./x.js
    ['NODE_OPTIONS', '--experimental_loader=./l.mjs', 'loads code'],
    ['NODE_OPTIONS', '--no-warnings --import=./x.mjs', 'loads code'],
    ['NODE_OPTIONS', '--some-new-flag', 'NODE_OPTIONS jail cannot check'],
    ['npm_config_node_options', '--require ./x.js', 'loads code'],
  ])('%s → %s', (name, value, reason) => {
    expect(secretReason(name, value)).toBe(reason);
  });
});

describe('a realistic benign environment passes whole', () => {
  const benign: Record<string, string> = {
    PATH: '/home/u/.nvm/versions/node/v22.12.0/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/home/u',
    PWD: '/home/u/src/app',
    OLDPWD: '/home/u',
    SHELL: '/bin/bash',
    SHLVL: '2',
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    TERM_PROGRAM: 'vscode',
    LANG: 'en_US.UTF-8',
    LS_COLORS:
      'rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=00:tw=30;42:ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.zip=01;31:*.gz=01;31:*.deb=01;31:*.jpg=01;35:*.png=01;35:*.svg=01;35:*.mp4=01;35:*.flac=00;36:*.mp3=00;36:*.ogg=00;36:*.wav=00;36:',
    LESSOPEN: '| /usr/bin/lesspipe %s',
    EDITOR: 'vim',
    PAGER: 'less',
    DESKTOP_SESSION: 'ubuntu',
    XDG_SESSION_ID: '3',
    XDG_SESSION_TYPE: 'wayland',
    KDE_FULL_SESSION: 'true',
    XDG_RUNTIME_DIR: '/run/user/1000',
    DISPLAY: ':0',
    SSH_CONNECTION: '10.0.0.2 52311 10.0.0.5 22',
    SSH_TTY: '/dev/pts/1',
    DOCKER_HOST: 'unix:///run/user/1000/docker.sock',
    HTTP_PROXY: 'http://proxy.corp.example:3128',
    NO_PROXY: 'localhost,127.0.0.1,.corp.example',
    JAVA_HOME: '/usr/lib/jvm/java-17-openjdk-amd64',
    NVM_DIR: '/home/u/.nvm',
    GOPATH: '/home/u/go',
    KUBECONFIG: '/home/u/.kube/config',
    PGHOST: 'db.corp.example',
    PGUSER: 'app',
    PGPASSFILE: '/home/u/.pgpass',
    GIT_CONFIG_GLOBAL: '/home/u/.gitconfig-work',
    GIT_CONFIG_NOSYSTEM: '1',
    NODE_OPTIONS: '--max-old-space-size=4096 --enable-source-maps',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_SHA: '3f786850e387550fdab836ed7e6dc881de23001b',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '8123456789',
    CI_COMMIT_SHA: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
    CI_PIPELINE_URL: 'https://gitlab.com/acme/app/-/pipelines/1234567',
    INIT_CWD: '/home/u/src/app',
    NODE: '/home/u/.nvm/versions/node/v22.12.0/bin/node',
    npm_config_registry: 'https://registry.npmjs.org/',
    npm_config_cache: '/home/u/.npm',
    npm_config_user_agent: 'npm/11.1.0 node/v22.12.0 linux x64 workspaces/false',
    npm_config_node_gyp: '/home/u/.nvm/versions/node/v22.12.0/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    npm_config_global_prefix: '/home/u/.nvm/versions/node/v22.12.0',
    npm_config_local_prefix: '/home/u/src/app',
    npm_config_userconfig: '/home/u/.npmrc',
    npm_config_globalconfig: '/home/u/.nvm/versions/node/v22.12.0/etc/npmrc',
    npm_config_noproxy: '',
    npm_config_npm_version: '11.1.0',
    npm_config_node_options: '--max-old-space-size=4096',
    npm_lifecycle_event: 'test',
    npm_lifecycle_script: 'vitest run',
    npm_package_json: '/home/u/src/app/package.json',
    npm_package_name: 'app',
    npm_package_version: '1.0.0',
    npm_execpath: '/home/u/.nvm/versions/node/v22.12.0/lib/node_modules/npm/bin/npm-cli.js',
    npm_node_execpath: '/home/u/.nvm/versions/node/v22.12.0/bin/node',
    _: '/usr/bin/env',
  };
  it('keeps every variable, with no reason given', () => {
    const reasons = Object.entries(benign).flatMap(([k, v]) => {
      const r = secretReason(k, v);
      return r === null ? [] : [`${k}: ${r}`];
    });
    expect(reasons).toEqual([]);
    expect(filterEnv(benign, { mode: 'filter', pass: [], set: {} }).dropped).toEqual([]);
  });
});
