/** The option registry, and what is derived from it. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { toArgs } from '../../../src/api.js';
import { addOptions, typedOptions } from '../../../src/cli/options.js';
import { main, program } from '../../../src/cli/main.js';
import { parseEnv } from '../../../src/policy/build.js';
import { withProtections } from '../../../src/policy/protect.js';
import { fakeHost } from '../fakehost.js';
import { policyOf } from '../policy-fixture.js';
import { PolicyError } from '../../../src/errors.js';
import { checkApiOptions } from '../../../src/policy/config.js';
import { CLEAN_ENV_NAMES } from '../../../src/policy/env.js';
import { longFlag, OPTIONS, OPTION_NAMES, optionsFor } from '../../../src/policy/options.js';

describe('the registry', () => {
  it('names each option as commander names its flag, so one key serves the CLI, config and API', () => {
    const cmd = addOptions(new Command());
    for (const name of optionsFor('cli')) expect(cmd.options.find((o) => o.attributeName() === name), name).toBeDefined();
  });
  it('every option has a flag, help and a project rule; choices only for choice', () => {
    for (const name of OPTION_NAMES) {
      const s = OPTIONS[name];
      expect(s.help.length, name).toBeGreaterThan(10);
      expect(longFlag(name), name).toMatch(/^--[a-z-]+$/);
      expect('choices' in s, name).toBe(s.kind === 'choice');
    }
  });
  it('--help lists every command-line option', () => {
    const help = program().helpInformation();
    for (const name of optionsFor('cli')) expect(help, name).toContain(longFlag(name));
  });
  it('the CLI keeps only what was typed, not commander defaults', () => {
    const cmd = addOptions(new Command()).allowExcessArguments();
    cmd.parse(['--ro', 'a', '--ro', 'b', '--no-system', '--allow-unix', '--allow-unix', '/s', '--keep-fd', '3'], { from: 'user' });
    expect(typedOptions(cmd)).toEqual({ ro: ['a', 'b'], system: false, allowUnix: [true, '/s'], keepFd: [3] });
    const bare = addOptions(new Command()).allowExcessArguments();
    bare.parse([], { from: 'user' });
    expect(typedOptions(bare)).toEqual({});
  });
});

describe('the API', () => {
  it('takes the options by their registry names, and nothing else', () => {
    expect(() => checkApiOptions({ ro: ['.'], allowConnect: [443, '8000-8100'], net: 'none', keepFd: [3] })).not.toThrow();
    const bad = (o: Record<string, unknown>) => {
      try {
        checkApiOptions(o);
      } catch (e) {
        if (e instanceof PolicyError) return e.message;
        throw e;
      }
      return null;
    };
    expect(bad({ scope: false })).toBe('unknown option "scope".');
    expect(bad({ allowConect: [] })).toBe('unknown option "allowConect"; did you mean "allowConnect"?');
    expect(bad({ rw: '/' })).toBe('option "rw" must be an array of paths.');
    expect(bad({ net: 'some' })).toBe('option "net" must be "none" or "all".');
    expect(bad({ allowBind: [70000] })).toBe('option "allowBind": 70000 is not a TCP port or port range (1 to 65535).');
    expect(bad({ keepFd: [1] })).toBe('option "keepFd": 1 is not a file descriptor number of 3 or more.');
    expect(bad({ printPolicy: true })).toBe('unknown option "printPolicy".'); // the CLI's own
  });
  it('passes every value as --flag=VALUE, so none is read as a flag, and starts from no profile', () => {
    expect(toArgs({ ro: ['--rw=/'], allowUnix: [true, '--rw=/'], net: 'all', system: false, bestEffort: true, allowConnect: [443] })).toEqual([
      '--ro=--rw=/',
      '--allow-unix',
      '--allow-unix=--rw=/',
      '--net=all',
      '--no-system',
      '--best-effort',
      '--allow-connect=443',
      '--profile=none',
    ]);
    expect(toArgs({ profile: 'test' })).toEqual(['--profile=test']);
  });
  it('the CLI reads those args back as the same options', () => {
    const opts = { ro: ['--rw=/', 'a b'], allowUnix: [true, '/s'] as Array<string | true>, keepFd: [3], env: ['A=--x'], profile: 'none' };
    const cmd = addOptions(new Command()).allowExcessArguments();
    cmd.parse(toArgs(opts), { from: 'user' });
    expect(typedOptions(cmd)).toEqual(opts);
  });
});

describe('the README', () => {
  it('lists every command-line option in its flags table', () => {
    const readme = (require('node:fs') as typeof import('node:fs')).readFileSync(require('node:path').join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Flags'), readme.indexOf('### Exit status'));
    for (const name of optionsFor('cli')) expect(table, name).toContain('`' + longFlag(name));
  });
});

describe('the README and --help say the same', () => {
  const readme = (require('node:fs') as typeof import('node:fs')).readFileSync(require('node:path').join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const row = (flag: string) => readme.split('\n').find((l) => l.startsWith(`| \`${flag}`)) ?? '';
  it('--clean-env: both name every variable it keeps', () => {
    const help = program().helpInformation().replace(/\s+/g, ' ');
    for (const name of [...CLEAN_ENV_NAMES, 'LC_*']) {
      expect(OPTIONS.cleanEnv.help, name).toContain(name);
      expect(row('--clean-env'), name).toContain('`' + name + '`');
    }
    expect(help).toContain(OPTIONS.cleanEnv.help.replace(/\s+/g, ' ').slice(0, 40));
  });
  it('the defaults: --net none, --ssh-agent deny', () => {
    expect(OPTIONS.net.help).toMatch(/none \(default[;)]/);
    expect(OPTIONS.sshAgent.help).toMatch(/deny \(default[;)]/);
    expect(row('--net')).toMatch(/`none` \(default\)/);
    expect(row('--ssh-agent')).toMatch(/`deny` \(default\)/);
  });
  it("the config files' fields are every option a config may set", () => {
    const para = readme.slice(readme.indexOf('Fields are the flags'), readme.indexOf('Relative paths are relative to the file'));
    for (const name of optionsFor('config')) expect(para, name).toContain('`' + name + '`');
    for (const name of OPTION_NAMES.filter((n) => !optionsFor('config').includes(n))) expect(para, name).not.toContain('`' + name + '`');
  });
  it("the project rule names every option a project's config may not set, or only narrow", () => {
    const para = readme.slice(readme.indexOf('**A project config cannot widen'), readme.indexOf('### npm: jailing install scripts'));
    for (const name of optionsFor('config')) {
      const rule = OPTIONS[name].project;
      if (rule === 'never' || typeof rule === 'object') expect(para, name).toContain('`' + name);
    }
  });
});

describe('bad input: one message, naming what is wrong', () => {
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (e instanceof PolicyError) return e.message;
      throw e;
    }
    return null;
  };
  it('--env with a line break in the name: the break shown escaped, the message on one line', () => {
    expect(message(() => parseEnv(['A\nB=x']))).toBe('--env A\\x0aB=x: not a variable name.');
  });
  it('an empty --hide, --protect, --unprotect or --unhide names its flag', () => {
    for (const key of ['hide', 'protect', 'unprotect', 'unhide'] as const) {
      expect(message(() => withProtections(policyOf({}), { [key]: [''] }, fakeHost({ '/work/proj/package.json': '{}' }), '/work/proj'))).toBe(`--${key} needs a path.`);
    }
  });
  it('jail doctor takes no arguments', () => {
    const write = process.stderr.write;
    let err = '';
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      expect(main(['doctor', '--json'])).toBe(125);
    } finally {
      process.stderr.write = write;
    }
    expect(err).toMatch(/^jail: jail doctor takes no arguments \(--json given\)\.\n {2}hint: /);
  });
});
