/**
 * Profiles from three layers, lowest first: built-in (profiles.ts), the
 * user's config ($XDG_CONFIG_HOME/jail/config.json) and the project's
 * (jail.config.json, else package.json's "jail" key). Split by job:
 *
 *   config/load.ts      finding the project, reading the files, `extends`
 *   config/json.ts      JSON (with comments) and where it is broken
 *   config/validate.ts  fields checked against the option registry
 *   config/project.ts   the rule for what a project's config may do
 *   config/resolve.ts   a profile merged, lowest layer first
 *
 * Pure: files come through the Host, machine facts through the context.
 */
export { loadConfig, findProjectRoot, linearise } from './config/load.js';
export { parseJson, pointAt } from './config/json.js';
export { checkApiOptions, checkValue, type ProfileDecl, type ConfigPath } from './config/validate.js';
export { resolveNearest } from './config/project.js';
export { resolveProfile, listProfiles, mergeOptions } from './config/resolve.js';
export { PROJECT_CONFIG, type ConfigContext, type Layer, type LoadedConfig, type ProfileListing, type ResolvedProfile } from './config/types.js';
export { closest } from '../text.js';
