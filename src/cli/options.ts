/**
 * The command line's options, made from the option registry: one commander
 * Option per entry, with the parser its kind needs. What was typed (not
 * commander's defaults) becomes JailOptions.
 */
import { CommanderError, Option, type Command } from 'commander';
import { PolicyError } from '../errors.js';
import { parseFd } from '../policy/build.js';
import { OPTIONS, optionsFor, type JailOptions } from '../policy/options.js';
import { printableLines } from '../text.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const collectFd = (v: string, prev: number[] = []) => [...prev, parseFd(v)];
// `--allow-unix` alone is true (commander's value for a bare optional);
// with a path it collects. Either way the result is a list.
const collectUnix = (v: string, prev: Array<string | true> | true | undefined) => [...unixList(prev), v];
const unixList = (v: Array<string | true> | true | undefined): Array<string | true> => (v === true ? [true] : (v ?? []));

export const CLI_OPTIONS = optionsFor('cli');

/**
 * `--rw -- ls`: commander takes the next word as the value, even `--`, so
 * the path would be `--` and the command's name lost. `--` is never a value
 * a flag means: it ends the options.
 */
function notEnd<T, P>(flag: string, parse: (v: string, prev: P) => T): (v: string, prev: P) => T {
  return (v, prev) => {
    if (v === '--') {
      const name = /--[a-z-]+/.exec(flag)![0];
      throw new PolicyError(`${name} needs a value, but the next word is --, which ends the options.`, `write the value before --, e.g. ${name} ${flag.includes('<path>') ? './dist' : 'VALUE'} -- ls`);
    }
    return parse(v, prev);
  };
}

export function addOptions(cmd: Command): Command {
  for (const name of CLI_OPTIONS) {
    const s = OPTIONS[name];
    const o = new Option(s.flag, s.help);
    if ('choices' in s) o.choices(s.choices);
    if (s.kind === 'paths' || s.kind === 'ports' || s.kind === 'hosts' || s.kind === 'syscalls' || s.kind === 'env' || s.kind === 'secrets') o.argParser(notEnd(s.flag, collect));
    if (s.kind === 'fds') o.argParser(notEnd(s.flag, collectFd));
    if (s.kind === 'unix') o.argParser(collectUnix);
    if (s.kind === 'name') o.argParser(notEnd(s.flag, (v: string) => v));
    cmd.addOption(o);
  }
  return cmd;
}

/** The options typed on the command line, as JailOptions, plus the
 *  CLI-only ones. Commander's defaults (`--no-x` is true unless given) are
 *  left out, so a profile's value is not overridden by a default. */
export function typedOptions(cmd: Command): JailOptions & { printPolicy?: boolean; json?: boolean; verbose?: boolean } {
  const o = cmd.opts<Record<string, unknown>>();
  const out: Record<string, unknown> = {};
  for (const name of CLI_OPTIONS) {
    if (cmd.getOptionValueSource(name) !== 'cli') continue;
    out[name] = OPTIONS[name].kind === 'unix' ? unixList(o[name] as Array<string | true> | true) : o[name];
  }
  return out;
}

/**
 * Parse argv with commander, its errors worded as jail's (`jail: …`, on
 * stderr): null when the options parsed, else the status to exit with
 * (0 for --help and --version, 125 for bad input). Other errors are
 * thrown, for the caller's own handling.
 */
export function parseOrStatus(cmd: Command, argv: string[]): number | null {
  cmd.exitOverride().configureOutput({ outputError: (str, write) => write(printableLines(`jail: ${str.replace(/^error: /, '')}`)) });
  try {
    cmd.parse(argv, { from: 'user' });
    return null;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 125;
    throw e;
  }
}
