/**
 * Checking option values against the registry: a config file's profiles
 * (JSON) and the library API's options object. Each kind of option has one
 * check; messages name the file, the profile and the field.
 */
import { PolicyError } from '../../errors.js';
import { closest, printable } from '../../text.js';
import { parseEnv, parseFd, parsePorts } from '../build.js';
import { parseAllowHost } from '../../egress/rules.js';
import { parseSecret } from '../inject.js';
import { OPTIONS, optionsFor, type Kind, type OptionName, type ProfileOptions, type Surface } from '../options.js';
import { normalize } from '../paths.js';
import type { Layer } from './types.js';

/** A path as written, and made absolute against the declaring file's
 *  directory (`~` expanded, a trailing `?` kept). */
export interface ConfigPath {
  given: string;
  path: string;
}

/** A profile's validated fields: paths still carry what was written (for
 *  the project rule's messages), ports are strings. */
export type ProfileFields = {
  [N in keyof ProfileOptions]?: N extends 'ro' | 'rw' | 'protect' | 'unprotect' | 'hide' | 'unhide' ? ConfigPath[] : N extends 'allowUnix' ? Array<true | ConfigPath> : N extends 'allowConnect' | 'allowBind' ? string[] : ProfileOptions[N];
};

/** One layer's declaration of one profile. */
export interface ProfileDecl {
  name: string;
  layer: Layer;
  /** The declaring file; null for built-ins. */
  file: string | null;
  /** What its paths' grants say they came from. */
  from: string;
  extends: string[];
  description?: string;
  fields: ProfileFields;
}

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const EXPECTED: Record<Kind, string> = {
  paths: 'an array of paths',
  switch: 'true or false',
  negated: 'true or false',
  choice: '', // from the choices
  ports: 'an array of ports (443) or port ranges ("8000-8100")',
  hosts: 'an array of hosts ("registry.npmjs.org", "*.example.com", "example.com:8443")',
  unix: 'true or an array of socket paths',
  syscalls: 'an array of syscall names',
  env: 'an array of "NAME" or "NAME=VALUE" strings',
  fds: 'an array of file descriptor numbers (3 or more)',
  name: 'a profile name',
  secrets: 'an array of "NAME@HOST[,HOST...]" strings',
};

export function expected(name: OptionName): string {
  const s = OPTIONS[name];
  return 'choices' in s ? s.choices.map((c) => JSON.stringify(c)).join(' or ') : EXPECTED[s.kind];
}

/**
 * One option's value, checked by its kind; `bad(why)` throws with the
 * caller's wording. Paths are returned as written (strings); the caller
 * makes them absolute.
 */
export function checkValue(name: OptionName, value: unknown, bad: (why?: string) => never): unknown {
  const kind: Kind = OPTIONS[name].kind;
  const strings = (v: unknown): string[] => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : bad());
  switch (kind) {
    case 'paths':
      return strings(value);
    case 'switch':
    case 'negated':
      return typeof value === 'boolean' ? value : bad();
    case 'choice':
      return (OPTIONS[name] as { choices: readonly string[] }).choices.includes(value as string) ? value : bad();
    case 'name':
      return typeof value === 'string' && PROFILE_NAME.test(value) ? value : bad();
    case 'ports':
      if (!Array.isArray(value)) bad();
      return (value as unknown[]).map((v) => {
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) bad();
        const s = String(v);
        try {
          parsePorts(name, s);
        } catch {
          bad(`: ${JSON.stringify(v)} is not a TCP port or port range (1 to 65535)`);
        }
        return s;
      });
    case 'hosts':
      return parsedEach(strings(value), parseAllowHost, bad);
    case 'secrets':
      return parsedEach(strings(value), parseSecret, bad);
    case 'unix':
      if (value === true) return [true];
      if (Array.isArray(value) && value.every((u) => u === true || typeof u === 'string')) return value;
      return bad();
    case 'syscalls':
      for (const s of strings(value)) if (!/^[a-z_][a-z0-9_]*$/.test(s)) bad(`: ${JSON.stringify(s)} is not a syscall name`);
      return value;
    case 'env':
      for (const e of strings(value)) {
        try {
          parseEnv([e]);
        } catch {
          bad(`: ${JSON.stringify(e)} is not NAME or NAME=VALUE`);
        }
      }
      return value;
    case 'fds':
      if (!Array.isArray(value)) bad();
      for (const fd of value as unknown[]) {
        try {
          parseFd(String(fd));
        } catch {
          bad(`: ${JSON.stringify(fd)} is not a file descriptor number of 3 or more`);
        }
      }
      return (value as unknown[]).map(Number);
  }
}

/**
 * The library API's options, checked the same way: an unknown key or a
 * value of the wrong kind is a PolicyError (the jail's exit 125), never
 * silently ignored or read as a flag.
 */
export function checkApiOptions(opts: Record<string, unknown>, surface: Surface = 'api'): void {
  const known = optionsFor(surface) as string[];
  for (const [key, value] of Object.entries(opts)) {
    if (!known.includes(key)) {
      const near = closest(key, known);
      throw new PolicyError(`unknown option ${JSON.stringify(printable(key))}${near ? `; did you mean "${near}"?` : '.'}`, `the options are ${known.join(', ')}.`);
    }
    if (value === undefined) continue;
    const name = key as OptionName;
    checkValue(name, value, (why = ` must be ${expected(name)}`) => {
      throw new PolicyError(`option "${key}"${why}.`);
    });
  }
}

interface DeclSite {
  name: string;
  layer: Layer;
  file: string | null;
  /** Message prefix: `/p/jail.config.json: profile "test"`. */
  where: string;
  /** Relative paths are relative to this directory. */
  dir: string;
  home: string;
}

const TOP_KEYS = ['profiles', '$schema'];

/** A config file's JSON → its profile declarations. */
export function parseConfigFile(json: unknown, layer: Layer, file: string, home: string, inPackageJson: boolean): ProfileDecl[] {
  const what = inPackageJson ? `"jail" in ${file}` : file;
  const hint = 'write { "profiles": { "NAME": { "ro": ["."], … } } }.';
  if (!isObject(json)) throw new PolicyError(`${what} must be a JSON object.`, hint, file);
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.includes(key)) throw new PolicyError(`${file}: unknown key ${JSON.stringify(key)}; a config holds "profiles".`, hint, file);
  }
  if (json.$schema !== undefined && typeof json.$schema !== 'string') throw new PolicyError(`${file}: "$schema" must be a string.`, undefined, file);
  const profiles = json.profiles === undefined ? {} : json.profiles;
  if (!isObject(profiles)) throw new PolicyError(`${file}: "profiles" must be an object of named profiles.`, hint, file);
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  return Object.entries(profiles).map(([name, p]) => {
    if (!PROFILE_NAME.test(name)) {
      throw new PolicyError(`${file}: profile name ${JSON.stringify(name)} is not a name.`, "use letters, digits, '.', '_' and '-', starting with a letter or digit.", file);
    }
    return parseProfile(p, { name, layer, file, where: `${file}: profile "${name}"`, dir, home });
  });
}

const CONFIG_FIELDS = ['description', 'extends', ...optionsFor('config')];

/** One profile's JSON → its declaration. */
export function parseProfile(json: unknown, site: DeclSite): ProfileDecl {
  const { where, file } = site;
  const source = file ?? undefined;
  if (!isObject(json)) throw new PolicyError(`${where} must be an object of fields.`, `e.g. { "ro": ["."], "rw": ["dist"] }.`, source);
  const fields: Record<string, unknown> = {};
  let ext: string[] = [];
  let description: string | undefined;
  for (const [key, value] of Object.entries(json)) {
    if (!CONFIG_FIELDS.includes(key)) {
      const near = closest(key, CONFIG_FIELDS);
      throw new PolicyError(
        `${where}: unknown field ${JSON.stringify(key)}${near ? `; did you mean "${near}"?` : '.'}`,
        `a profile's fields are ${CONFIG_FIELDS.join(', ')}.`,
        source,
      );
    }
    const bad = (why: string): never => {
      throw new PolicyError(`${where}: "${key}"${why}.`, undefined, source);
    };
    if (key === 'description') {
      if (typeof value !== 'string') bad(' must be a string');
      // Printed by `jail profiles`: no terminal escapes from a project's file.
      if (printable(value as string) !== value) bad(' must not hold control characters');
      description = value as string;
      continue;
    }
    if (key === 'extends') {
      ext = typeof value === 'string' ? [value] : Array.isArray(value) && value.every((s) => typeof s === 'string') ? value : bad(' must be a profile name or an array of them');
      for (const e of ext) if (!PROFILE_NAME.test(e)) bad(`: ${JSON.stringify(e)} is not a profile name`);
      continue;
    }
    const name = key as OptionName;
    const checked = checkValue(name, value, (why = ` must be ${expected(name)}`) => bad(why));
    const kind = OPTIONS[name].kind;
    fields[key] =
      kind === 'paths'
        ? (checked as string[]).map((p) => configPath(p, site, key))
        : kind === 'unix'
          ? (checked as Array<string | true>).map((u) => (u === true ? u : configPath(u, site, key)))
          : checked;
  }
  const from = site.layer === 'built-in' ? `built-in profile ${site.name}` : `profile ${site.name}, ${file}`;
  return { name: site.name, layer: site.layer, file, from, extends: ext, ...(description !== undefined && { description }), fields: fields as ProfileFields };
}

/** `~` expands; relative paths are relative to the declaring file's
 *  directory, not the working directory; a trailing `?` is kept. */
function configPath(given: string, site: DeclSite, key: string): ConfigPath {
  const optional = given.endsWith('?') && given.length > 1;
  let p = optional ? given.slice(0, -1) : given;
  if (p === '' || p === '?') {
    throw new PolicyError(`${site.where}: "${key}" holds an empty path.`, 'write "." for the directory of this file.', site.file ?? undefined);
  }
  if (p === '~') p = site.home;
  else if (p.startsWith('~/')) p = site.home + p.slice(1);
  if (!p.startsWith('/')) p = `${site.dir}/${p}`;
  return { given, path: normalize(p) + (optional ? '?' : '') };
}

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Strings that each parse with `parse`; the first that does not is
 *  refused with the parser's own words. */
function parsedEach(values: string[], parse: (v: string) => unknown, bad: (why?: string) => never): string[] {
  for (const v of values) {
    try {
      parse(v);
    } catch (e) {
      bad(`: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return values;
}
