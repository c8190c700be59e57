/**
 * The pure core (STYLE.md section 1): the Landlock and seccomp compilers are
 * siblings. Neither imports the other (what the filter needs to know about
 * Landlock comes in as a LandlockCoverage, computed in src/plan.ts), and
 * neither touches the addon, the file system or the process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The text without comments, so that prose about `process.arch` is not code. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** Every module specifier: import/export … from, side-effect import, import(), require(). */
function specifiers(text: string): string[] {
  const re = /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]/g;
  return [...code(text).matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** A relative specifier as a path under src/ ('landlock/abi.js'); others as given. */
function target(file: string, spec: string): string {
  return spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)) : spec;
}

const FORBIDDEN_MODULES = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'process', 'node:process'];

describe.each([
  ['seccomp', 'landlock'],
  ['landlock', 'seccomp'],
])('src/%s/', (self, sibling) => {
  const files = sources(path.join(SRC, self));
  const imports = files.flatMap((f) =>
    specifiers(fs.readFileSync(f, 'utf8')).map((spec) => ({ file: path.relative(SRC, f), spec, to: target(f, spec) })),
  );

  it('has files with imports to check', () => {
    expect(files.length).toBeGreaterThan(1);
    expect(imports.length).toBeGreaterThan(files.length - 1);
  });

  it(`does not import src/${sibling}/`, () => {
    expect(imports.filter((i) => i.to.startsWith(`${sibling}/`) || i.to === sibling)).toEqual([]);
  });

  it('does not import src/native/, node:fs or process', () => {
    expect(imports.filter((i) => i.to.startsWith('native/') || i.to === 'native' || FORBIDDEN_MODULES.includes(i.to))).toEqual([]);
  });

  it('does not use the process global', () => {
    const uses = files.filter((f) => /\bprocess\s*[.[]/.test(code(fs.readFileSync(f, 'utf8'))));
    expect(uses.map((f) => path.relative(SRC, f))).toEqual([]);
  });
});

describe('the import reader', () => {
  it('finds every form of import, and none in comments', () => {
    const text = [
      "import { a } from './a.js';",
      'import {\n  b,\n  c,\n} from "../landlock/abi.js";',
      "export type { D } from './d.js';",
      "import 'node:fs';",
      "const e = require('node:process');",
      "const f = await import('../native/binding.js');",
      "// import { g } from '../landlock/compile.js';",
      "/* import { h } from 'node:fs'; */",
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a.js', '../landlock/abi.js', './d.js', 'node:fs', 'node:process', '../native/binding.js']);
    expect(target(path.join(SRC, 'seccomp', 'policy.ts'), '../landlock/abi.js')).toBe(path.join('landlock', 'abi.js'));
  });
});
