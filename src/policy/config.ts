/**
 * Config files and named profiles. Three layers, lowest first: built-in,
 * user (~/.config/jail/config.json), project (jail.config.json, or the
 * "jail" key of package.json). A profile is a partial JailOptions; the CLI
 * puts the flags on top with mergeOptions().
 *
 * The project layer is written by whoever controls the project, who may be
 * the attacker: it may narrow the policy or grant paths inside the project,
 * never anything outside it. Pure: files come through ctx.readFile.
 */
import { PolicyError } from '../errors.js';
import type { JailOptions } from './build.js';
import type { Host } from './host.js';
import { absolute, isWithin, normalize, type PathEntry } from './paths.js';
import { builtinProfiles, type ProfileJson } from './profiles.js';

export interface ConfigContext {
  host: Host;
  readFile(path: string): string | null;
  xdgConfigHome?: string;
  nodePrefix: string;
  npmCache: string;
}

export type Layer = 'built-in' | 'user' | 'project';

interface Declared {
  layer: Layer;
  file: string;
  spec: ProfileJson;
}

export interface LoadedConfig {
  projectRoot: string;
  /** Each name's declarations, lowest layer first. */
  profiles: Map<string, Declared[]>;
}

const FIELDS: Record<keyof ProfileJson, 'string' | 'boolean' | 'strings' | 'ports' | 'net' | 'extends' | 'unix'> = {
  description: 'string',
  extends: 'extends',
  ro: 'strings',
  rw: 'strings',
  system: 'boolean',
  net: 'net',
  allowConnect: 'ports',
  allowBind: 'ports',
  allowDns: 'boolean',
  allowUnix: 'unix',
  allowRawSockets: 'boolean',
  allowSysvIpc: 'boolean',
  allowSyscall: 'strings',
  keepCaps: 'boolean',
  env: 'strings',
  envAll: 'boolean',
  cleanEnv: 'boolean',
  privateTmp: 'boolean',
  toolchains: 'boolean',
};

/** Fields a project config may not set: each widens the jail beyond the project. */
const PROJECT_REFUSED: Array<[keyof ProfileJson, (v: unknown) => boolean, string]> = [
  ['net', (v) => v === 'all', '"net": "all"'],
  ['allowConnect', (v) => Array.isArray(v) && v.length > 0, '"allowConnect"'],
  ['allowBind', (v) => Array.isArray(v) && v.length > 0, '"allowBind"'],
  ['allowDns', (v) => v === true, '"allowDns"'],
  ['allowUnix', (v) => v === true || (Array.isArray(v) && v.length > 0), '"allowUnix"'],
  ['allowRawSockets', (v) => v === true, '"allowRawSockets"'],
  ['allowSysvIpc', (v) => v === true, '"allowSysvIpc"'],
  ['allowSyscall', (v) => Array.isArray(v) && v.length > 0, '"allowSyscall"'],
  ['keepCaps', (v) => v === true, '"keepCaps"'],
  ['envAll', (v) => v === true, '"envAll"'],
  ['toolchains', (v) => v === true, '"toolchains"'],
];

const OUTSIDE_HINT = 'a project config may only narrow the jail or grant paths inside the project; put it in ~/.config/jail/config.json or pass the flag yourself.';

/** The nearest directory up from the working directory with a
 *  jail.config.json or a package.json; else the working directory. */
export function findProjectRoot(host: Host): string {
  for (let dir = normalize(host.cwd); ; dir = normalize(dir + '/..')) {
    if (host.stat(`${dir}/jail.config.json`) || host.stat(`${dir}/package.json`)) return dir;
    if (dir === '/') return normalize(host.cwd);
  }
}

export function loadConfig(ctx: ConfigContext): LoadedConfig {
  const { host } = ctx;
  const projectRoot = findProjectRoot(host);
  const profiles = new Map<string, Declared[]>();
  const declare = (layer: Layer, file: string, name: string, spec: ProfileJson) => {
    const list = profiles.get(name) ?? [];
    list.push({ layer, file, spec });
    profiles.set(name, list);
  };

  const builtins = builtinProfiles({ projectRoot, home: host.home, nodePrefix: ctx.nodePrefix, npmCache: ctx.npmCache });
  for (const [name, spec] of builtins) declare('built-in', 'built-in', name, spec);

  const userFile = `${normalize(ctx.xdgConfigHome ?? `${host.home}/.config`)}/jail/config.json`;
  const userText = ctx.readFile(userFile);
  if (userText !== null) {
    for (const [name, spec] of readProfiles(userText, userFile, null)) declare('user', userFile, name, resolvePaths(spec, userFile, host));
  }

  let projectFile = `${projectRoot}/jail.config.json`;
  let projectText = ctx.readFile(projectFile);
  let key: string | null = null;
  if (projectText === null) {
    projectFile = `${projectRoot}/package.json`;
    projectText = ctx.readFile(projectFile);
    key = 'jail';
  }
  if (projectText !== null) {
    for (const [name, spec] of readProfiles(projectText, projectFile, key)) {
      const resolved = resolvePaths(spec, projectFile, host);
      checkProject(name, resolved, projectFile, projectRoot, host);
      declare('project', projectFile, name, resolved);
    }
  }
  return { projectRoot, profiles };
}

/** JSON text → validated profiles (`key`: read only that key, e.g. package.json's "jail"). */
function readProfiles(text: string, file: string, key: string | null): Array<[string, ProfileJson]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    const at = /at position (\d+)/.exec(msg);
    let where = file;
    let excerpt = '';
    if (at) {
      const pos = Number(at[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      where = `${file}:${line}:${col}`;
      excerpt = `\n    ${text.split('\n')[line - 1] ?? ''}\n    ${' '.repeat(col - 1)}^`;
    }
    throw new PolicyError(
      `${where}: not valid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')}${excerpt}`,
      'fix the file, or move it away to run without it.',
      file,
    );
  }
  if (key !== null) doc = (doc as Record<string, unknown> | null)?.[key];
  if (doc === undefined) return [];
  const bad = (what: string) => new PolicyError(`${file}: ${what}`, 'see "Profiles" in jail\'s README for the format.', file);
  if (!isObject(doc) || !isObject(doc.profiles)) throw bad(`${key ? `"${key}" ` : ''}must be an object with a "profiles" object.`);
  const out: Array<[string, ProfileJson]> = [];
  for (const [name, spec] of Object.entries(doc.profiles)) {
    if (!isObject(spec)) throw bad(`profile "${name}" must be an object.`);
    for (const [field, value] of Object.entries(spec)) {
      const type = (FIELDS as Record<string, string | undefined>)[field];
      if (!type) throw bad(`profile "${name}": unknown field "${field}".`);
      if (!typeOk(type, value)) throw bad(`profile "${name}": "${field}" must be ${TYPE_WORDS[type]}.`);
    }
    out.push([name, spec as ProfileJson]);
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  strings: 'an array of strings',
  ports: 'an array of ports (443 or "8000-8100")',
  net: '"none" or "all"',
  extends: 'a profile name or an array of them',
  unix: 'true or an array of socket paths',
};

function typeOk(type: string, v: unknown): boolean {
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return strings(v);
    case 'ports':
      return Array.isArray(v) && v.every((p) => typeof p === 'string' || Number.isInteger(p));
    case 'net':
      return v === 'none' || v === 'all';
    case 'extends':
      return typeof v === 'string' || strings(v);
    case 'unix':
      return v === true || strings(v);
  }
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Relative paths resolve against the declaring file's directory. */
function resolvePaths(spec: ProfileJson, file: string, host: Host): ProfileJson {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  const at = { ...host, cwd: dir };
  const abs = (p: string) => {
    const optional = p.endsWith('?') && p.length > 1;
    return absolute(optional ? p.slice(0, -1) : p, at) + (optional ? '?' : '');
  };
  return {
    ...spec,
    ...(spec.ro && { ro: spec.ro.map(abs) }),
    ...(spec.rw && { rw: spec.rw.map(abs) }),
    ...(Array.isArray(spec.allowUnix) && { allowUnix: spec.allowUnix.map(abs) }),
  };
}

/** The security rule for what a project config declares itself. */
function checkProject(name: string, spec: ProfileJson, file: string, root: string, host: Host): void {
  const refuse = (what: string) => new PolicyError(`${file}: profile "${name}": ${what}`, OUTSIDE_HINT, file);
  for (const [field, widens, words] of PROJECT_REFUSED) {
    if (widens(spec[field])) throw refuse(`a project config may not set ${words}.`);
  }
  for (const e of spec.env ?? []) {
    if (!e.includes('=')) throw refuse(`a project config may not pass "${e}" through from your environment (setting NAME=VALUE is fine).`);
  }
  for (const [flag, list] of [['ro', spec.ro], ['rw', spec.rw]] as const) {
    for (const p of list ?? []) {
      const lexical = p.endsWith('?') ? p.slice(0, -1) : p;
      const real = host.realpath(lexical) ?? lexical;
      if (!isWithin(real, root)) throw refuse(`"${flag}" path ${real} is outside the project (${root}).`);
    }
  }
}

/** Arrays concatenate (duplicates dropped); other fields: the upper one wins. */
export function mergeOptions(lower: JailOptions, upper: JailOptions): JailOptions {
  const out: Record<string, unknown> = { ...lower };
  for (const [k, v] of Object.entries(upper)) {
    if (v === undefined) continue;
    const prev = out[k];
    if (Array.isArray(v) && Array.isArray(prev)) {
      const seen = new Set<string>();
      out[k] = [...prev, ...v].filter((x) => {
        // A path once is enough, whichever layer named it first.
        const id = isObject(x) && typeof x.path === 'string' ? x.path : JSON.stringify(x);
        return seen.has(id) ? false : (seen.add(id), true);
      });
    } else out[k] = v;
  }
  return out as JailOptions;
}

function toOptions(d: Declared, name: string): JailOptions {
  const { description: _d, extends: _e, ro, rw, allowConnect, allowBind, allowUnix, ...rest } = d.spec;
  const from = d.layer === 'built-in' ? `built-in profile ${name}` : `profile ${name}, ${d.file}`;
  const entry = (p: string): PathEntry => ({ path: p, from });
  return {
    ...rest,
    ...(ro && { ro: ro.map(entry) }),
    ...(rw && { rw: rw.map(entry) }),
    ...(allowConnect && { allowConnect: allowConnect.map(String) }),
    ...(allowBind && { allowBind: allowBind.map(String) }),
    ...(allowUnix !== undefined && { allowUnix: allowUnix === true ? [true] : allowUnix }),
  };
}

/** A profile with everything it extends, merged lowest first. */
export function resolveProfile(config: LoadedConfig, name: string, seen: string[] = []): { options: JailOptions; chain: string[] } {
  const decls = config.profiles.get(name);
  if (!decls) {
    const names = [...config.profiles.keys()].sort();
    const near = names.find((n) => closeTo(n, name));
    throw new PolicyError(`unknown profile "${name}"; profiles: ${names.join(', ')}.`, near ? `did you mean -p ${near}?` : 'see jail profiles.');
  }
  if (seen.includes(name)) throw new PolicyError(`profiles extend each other in a circle: ${[...seen, name].join(' → ')}.`, 'remove one of the "extends".', decls[0]!.file);
  let options: JailOptions = {};
  const chain: string[] = [];
  for (const d of decls) {
    const parents = d.spec.extends === undefined ? [] : typeof d.spec.extends === 'string' ? [d.spec.extends] : d.spec.extends;
    for (const parent of parents) {
      const r = resolveProfile(config, parent, [...seen, name]);
      options = mergeOptions(options, r.options);
      for (const c of r.chain) if (!chain.includes(c)) chain.push(c);
    }
    options = mergeOptions(options, toOptions(d, name));
    chain.push(`${name} (${d.layer === 'built-in' ? 'built-in' : `${d.layer} ${d.file}`})`);
  }
  return { options, chain };
}

export function listProfiles(config: LoadedConfig): Array<{ name: string; layers: string[]; description?: string }> {
  return [...config.profiles.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, decls]) => ({
      name,
      layers: decls.map((d) => d.layer),
      description: [...decls].reverse().find((d) => d.spec.description)?.spec.description,
    }));
}

/** One edit apart, or the same letters swapped: a likely typo. */
function closeTo(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const [ra, rb] = [a.slice(i), b.slice(i)];
  return ra.slice(1) === rb.slice(1) || ra.slice(1) === rb || ra === rb.slice(1) || (ra[0] === rb[1] && ra[1] === rb[0] && ra.slice(2) === rb.slice(2));
}
