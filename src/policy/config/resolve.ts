/**
 * Resolving a profile: it and everything it extends, each layer's
 * declaration of each, merged into options that the caller puts its own
 * flags on top of (mergeOptions).
 */
import { PolicyError } from '../../errors.js';
import { closest } from '../../text.js';
import type { ProfileOptions } from '../options.js';
import { linearise, mergedExtends } from './load.js';
import { tilde, toOptions } from './project.js';
import { PROJECT_CONFIG, type LoadedConfig, type ProfileListing, type ResolvedProfile } from './types.js';
import type { ProfileDecl } from './validate.js';

/** One profile, merged. A project declaration that widens the policy or
 *  grants a path outside the project is refused here. */
export function resolveProfile(config: LoadedConfig, name: string): ResolvedProfile {
  const decls = config.profiles.get(name);
  if (!decls) throw unknownProfile(config, name);
  let options: ProfileOptions = {};
  const chain: string[] = [];
  for (const n of linearise(config, name)) {
    const layers = config.profiles.get(n) ?? [];
    for (const d of layers) options = mergeOptions(options, toOptions(d, config));
    chain.push(`${n} (${layers.map((d) => (d.file ? `${d.layer} ${d.file}` : d.layer)).join(', ')})`);
  }
  const description = descriptionOf(decls);
  return { options, chain, ...(description !== undefined && { description }) };
}

/** Every profile, by name, for `jail profiles`. */
export function listProfiles(config: LoadedConfig): ProfileListing[] {
  return [...config.profiles.keys()].sort().map((name) => {
    const decls = config.profiles.get(name)!;
    let problem: string | undefined;
    try {
      resolveProfile(config, name);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      problem = e.message;
    }
    return {
      name,
      layers: decls.map((d) => d.layer),
      files: decls.flatMap((d) => (d.file ? [d.file] : [])),
      description: descriptionOf(decls) ?? '',
      extends: mergedExtends(config, name),
      ...(problem !== undefined && { problem }),
    };
  });
}

function descriptionOf(decls: readonly ProfileDecl[]): string | undefined {
  return decls.reduce<string | undefined>((acc, d) => d.description ?? acc, undefined);
}

function unknownProfile(config: LoadedConfig, name: string): PolicyError {
  const names = [...config.profiles.keys()].sort();
  const near = closest(name, names);
  const files = [config.projectFile ?? `${config.projectRoot === '/' ? '' : config.projectRoot}/${PROJECT_CONFIG}`, tilde(config.userConfigPath, config.host.home)];
  return new PolicyError(
    `unknown profile ${JSON.stringify(name)}; profiles: ${names.join(', ')}.`,
    near ? `did you mean -p ${near}?` : `define it under "profiles" in ${files.join(' or ')}.`,
  );
}

/**
 * `upper` on top of `lower`: arrays concatenate (de-duplicated, first
 * occurrence kept; path entries by path), scalars and booleans from `upper`
 * win when set. Used between layers and for the flags on top.
 */
export function mergeOptions<T extends object>(lower: T, upper: T): T {
  const out: Record<string, unknown> = { ...(lower as Record<string, unknown>) };
  for (const [key, value] of Object.entries(upper) as Array<[string, unknown]>) {
    if (value === undefined) continue;
    const below = out[key];
    out[key] = Array.isArray(value) && (below === undefined || Array.isArray(below)) ? unique([...((below as unknown[]) ?? []), ...value]) : value;
  }
  return out as T;
}

function unique(xs: unknown[]): unknown[] {
  const key = (x: unknown) => (typeof x === 'object' && x !== null && 'path' in x ? (x as { path: string }).path : x);
  const seen = new Set<unknown>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
