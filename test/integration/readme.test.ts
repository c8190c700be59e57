/**
 * Every command example in README.md, run as written in a scratch project.
 *
 * The examples are read from the README on each run, never listed here: each
 * line of a fenced ```sh block that starts with `jail ` (or `npx jail `), with
 * `\` continuations joined and `# comments` dropped, and each `jail` script of
 * a ```json block with "scripts" (the package.json example). A new example is
 * run as soon as it is written; one that stops working fails this file.
 *
 * Each runs in a project of its own (package.json, src/index.ts, no dist/, a
 * tsconfig.json and typescript where it uses tsc, a git repository), with the
 * world's fake HOME and environment, loopback only. The jail flags are kept
 * exactly as written; only a command after `--` that cannot run here is
 * replaced (REWRITES), and an example that needs the internet is skipped
 * with its text in the reason.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, jail, makeWorld, needs, printed, removeWorld, strictJail, type World } from './harness.js';

// ---------------------------------------------------------------------------
// Reading the examples

/** Shell words of one command line: quotes, backslashes, `#` comments; an unquoted leading `~` becomes `home`. */
function shellWords(line: string, home: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let tilde = false; // the word began with an unquoted ~
  const end = () => {
    if (word === null) return;
    words.push(tilde && (word === '~' || word.startsWith('~/')) ? home + word.slice(1) : word);
    word = null;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (word === null && /\S/.test(c)) tilde = c === '~';
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      if (close < 0) throw new Error(`unterminated ${c} in README example: ${line}`);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      end();
    } else if (c === '#' && word === null) {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  end();
  return words;
}

interface Example {
  /** As the README writes it, comment dropped, continuations joined. */
  text: string;
  /** Where: "README.md:104 (sh)". */
  where: string;
  /** The words after `jail` (or `npx jail`). */
  args: string[];
  /** From package.json's scripts: runs with node_modules/.bin on PATH, as `npm run` does. */
  script: boolean;
}

/** The command examples of a README (see the file's comment). */
function readmeExamples(readme: string, home: string): Example[] {
  const examples: Example[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const lang = fence[1];
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    const body = lines.slice(start, j);
    if (lang === 'sh') {
      for (let k = 0; k < body.length; k++) {
        const at = start + k + 1;
        let line = body[k]!;
        while (/\\\s*$/.test(line) && k + 1 < body.length) line = line.replace(/\s*\\\s*$/, ' ') + body[++k]!.trim();
        const words = shellWords(line, home);
        const [a, b] = words;
        const skip = a === 'jail' ? 1 : a === 'npx' && b === 'jail' ? 2 : 0;
        if (!skip) continue;
        const text = line.replace(/\s+#.*$/, '').trim();
        examples.push({ text, where: `README.md:${at} (sh)`, args: words.slice(skip), script: false });
      }
    } else if (lang === 'json' && body.join('\n').includes('"scripts"')) {
      const json = JSON.parse(body.join('\n')) as { scripts?: Record<string, string> };
      for (const [name, script] of Object.entries(json.scripts ?? {})) {
        const words = shellWords(script, home);
        if (words[0] !== 'jail') continue;
        examples.push({ text: script, where: `README.md:${start + 1} (package.json script ${name})`, args: words.slice(1), script: true });
      }
    }
    i = j;
  }
  return examples;
}

// ---------------------------------------------------------------------------
// What runs, and what each example claims

/** The command after `--` (none when the example has no `--`). */
function commandOf(args: string[]): string[] {
  const dd = args.indexOf('--');
  return dd >= 0 ? args.slice(dd + 1) : [];
}

const TYPESCRIPT = path.join(REPO, 'node_modules', 'typescript');
const HAVE_TYPESCRIPT = fs.existsSync(path.join(TYPESCRIPT, 'bin', 'tsc'));
/** What tsc would write, where typescript is not installed. */
const FAKE_TSC = ['node', '-e', "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.js','export const x = 1;\\n')"];

/**
 * Commands after `--` that cannot run here as written, and what runs instead.
 * The jail's own flags are never changed.
 *
 * | as written      | runs here                                          | why                                        |
 * | --------------- | -------------------------------------------------- | ------------------------------------------ |
 * | `npx tsc`, `tsc`| as written, with this checkout's typescript copied | offline: the project's own typescript      |
 * |                 | into the scratch project's node_modules            |                                            |
 * | `npx tsc`, `tsc`| `node -e` writing dist/index.js                    | no typescript in this checkout             |
 * |  (no typescript)|                                                    |                                            |
 * | `npx some-tool` | as written; the scratch project installs a         | a placeholder name: nothing to download    |
 * |                 | stand-in `some-tool` that writes src/              |                                            |
 * | `npx jail …`    | this checkout's bin/jail.cjs with the same flags    | jail is not installed in the scratch       |
 * |                 |                                                    | project                                    |
 */
function rewrite(command: string[]): string[] {
  const c = command.join(' ');
  if ((c === 'npx tsc' || c === 'tsc') && !HAVE_TYPESCRIPT) return FAKE_TSC;
  return command;
}

/** Why an example cannot run here (needs the internet, or is no command), or null. */
function skipReason(e: Example, localBins: (name: string) => boolean): string | null {
  if (e.args.some((a) => /^<.*>$/.test(a) || a === '[options]')) return `a synopsis, not a command: ${e.text}`;
  if (e.args[0] === 'explain' || e.args[0] === 'doctor') return null;
  const cmd = commandOf(e.args);
  // --allow-host: a host to reach, which the scratch project lacks (a
  // database on localhost:5432 included); test/integration/egress.test.ts
  // runs it against servers of its own.
  const net = e.args.some((a, i) => a.startsWith('--allow-connect') || a.startsWith('--allow-host') || a.startsWith('--secret') || (/^(-p|--profile)$/.test(a) && /^(claude|codex)$/.test(e.args[i + 1] ?? '')) || a === '--allow-dns' || a === '--net=all' || (a === '--net' && e.args[i + 1] === 'all'));
  if (net) return `needs the internet: ${e.text}`;
  if (cmd[0] === 'npm' && ['ci', 'install', 'i', 'update', 'add'].includes(cmd[1] ?? '')) return `needs the internet: ${e.text}`;
  if (cmd[0] === 'npx' && (cmd.includes('-y') || cmd.includes('--yes') || !localBins(cmd.find((a, i) => i > 0 && !a.startsWith('-')) ?? ''))) return `needs the internet: ${e.text}`;
  return null;
}

/** Project files, for "wrote only under …": path → size, mtime and inode. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      const st = fs.lstatSync(path.join(dir, r));
      if (d.isDirectory()) {
        out.set(r + '/', 'dir');
        walk(r);
      } else out.set(r, `${st.mode} ${st.size} ${st.mtimeMs} ${st.ino}`);
    }
  };
  walk('');
  return out;
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const all = new Set([...before.keys(), ...after.keys()]);
  return [...all].filter((k) => before.get(k) !== after.get(k)).sort();
}

/** The `--rw` paths an example names, relative to the project ('' for the project itself). */
function writable(args: string[], proj: string): string[] {
  const out: string[] = [];
  const opts = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i]!;
    const v = a === '--rw' ? opts[++i] : a.startsWith('--rw=') ? a.slice(5) : undefined;
    if (v !== undefined) out.push(path.relative(proj, path.resolve(proj, v.replace(/\?$/, ''))));
  }
  return out;
}

interface Claim {
  /** The example's text, as found (comment dropped). */
  example: string;
  /** The documented exit status. */
  status: number;
  /** The effect it claims, where cheap to check. */
  check?: (r: { stdout: string; stderr: string }, proj: string) => void;
}

/**
 * What the examples claim beyond exit status 0 and "writes only under its
 * --rw paths" (checked for every example). An entry whose example is no
 * longer in the README fails the run, so a check is never dropped silently.
 */
const CLAIMS: Claim[] = [
  {
    example: 'npx jail --ro . --rw ./src -- npx some-tool',
    status: 0,
    check: (r, proj) => {
      expect(r.stdout).toContain('some-tool ran: read package.json');
      expect(fs.readFileSync(path.join(proj, 'src', 'made-by-some-tool.txt'), 'utf8')).toBe('ok\n');
    },
  },
  {
    example: 'jail --ro . -- node build.js',
    status: 0,
    // read the project; write nothing
    check: (r) => expect(r.stdout).toMatch(/^build\.js read src\/index\.ts; writing was refused \((EACCES|EROFS|EPERM)\)\n$/),
  },
  {
    example: 'jail --ro . --rw ./dist -- npx tsc',
    status: 0,
    // write only ./dist (missing before: made)
    check: (_, proj) => expect(fs.readFileSync(path.join(proj, 'dist', 'index.js'), 'utf8')).toContain('x = 1'),
  },
  {
    example: 'jail --ro . --rw ./dist -- tsc',
    status: 0,
    check: (_, proj) => expect(fs.readFileSync(path.join(proj, 'dist', 'index.js'), 'utf8')).toContain('x = 1'),
  },
  {
    example: 'jail --ro . --print-policy -- ls',
    status: 0,
    // show every rule and where it came from; run nothing
    check: (r, proj) => {
      expect(r.stdout).toMatch(/^command: \/\S*\/ls\n/);
      expect(r.stdout).toMatch(new RegExp(`^\\s+ro\\s+${proj.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+--ro \\.$`, 'm'));
      expect(r.stdout).toContain('seccomp');
    },
  },
  {
    example: 'jail explain --ro . --rw ./src ./src/index.ts --access write',
    status: 0,
    check: (r, proj) => expect(r.stdout).toMatch(new RegExp(`^write ${path.join(proj, 'src', 'index.ts')}: allowed\\n\\s+by .*\\(--rw \\./src\\)`)),
  },
  {
    example: 'jail explain --rw . .git/hooks/pre-commit --access create',
    status: 1,
    // protected (git hooks); --unprotect …
    check: (r) => {
      expect(r.stdout).toMatch(/^create \S+\/\.git\/hooks\/pre-commit: denied\n/);
      expect(r.stdout).toContain('protected (git hooks)');
      expect(r.stdout).toContain('--unprotect');
    },
  },
  {
    example: "jail --report-denials --ro . -- sh -c 'cat ~/.ssh/id_ed25519; mkdir dist'",
    status: 1, // mkdir's
    check: (r, proj) => {
      expect(r.stderr).toMatch(/^jail: {3}denied read \S+\/\.ssh\/id_ed25519 \(/m);
      expect(r.stderr).toContain(`denied create ${path.join(proj, 'dist')} (`);
      expect(r.stderr).toMatch(/to allow it: --rw \.$/m);
    },
  },
  {
    example: 'jail learn -- ls src',
    status: 0,
    // the project read, nothing written: "ro": ["."]
    check: (r) => {
      expect(JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))).toEqual({ description: 'learnt by jail learn from: ls src', ro: ['.'] });
      expect(r.stderr).toContain('jail: learn: broad policy: ');
    },
  },
  {
    example: 'jail explain --ro . --connect registry.npmjs.org:443',
    status: 1,
    // to allow it: --allow-host registry.npmjs.org
    check: (r) => {
      expect(r.stdout).toMatch(/^connect registry\.npmjs\.org:443 \(TCP\): denied\n/);
      expect(r.stdout).toMatch(/to allow it: --allow-host registry\.npmjs\.org\b/);
    },
  },
];

// ---------------------------------------------------------------------------
// The scratch project

const BUILD_JS = `const fs = require('fs');
fs.readFileSync('src/index.ts', 'utf8');
let outcome = 'writing worked';
try { fs.writeFileSync('build-output.txt', 'x'); } catch (e) { outcome = 'writing was refused (' + e.code + ')'; }
console.log('build.js read src/index.ts; ' + outcome);
`;

const SOME_TOOL = `#!/usr/bin/env node
const fs = require('fs');
const name = JSON.parse(fs.readFileSync('package.json', 'utf8')).name;
fs.writeFileSync('src/made-by-some-tool.txt', 'ok\\n');
console.log('some-tool ran: read package.json (' + name + ')');
`;

/** A project for one example: package.json, src/index.ts, no dist/, a git repository; typescript where it uses tsc. */
function scratchProject(w: World, n: number, e: Example): string {
  const proj = path.join(w.root, `example-${n}`);
  const write = (p: string, s: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(proj, p)), { recursive: true });
    fs.writeFileSync(path.join(proj, p), s, { mode });
  };
  write('package.json', JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, scripts: e.script ? { build: e.text } : {}, devDependencies: { 'some-tool': '1.0.0' } }, null, 2) + '\n');
  write('src/index.ts', 'export const x: number = 1;\n');
  write('build.js', BUILD_JS);
  write('node_modules/some-tool/package.json', JSON.stringify({ name: 'some-tool', version: '1.0.0', bin: { 'some-tool': 'cli.js' } }) + '\n');
  write('node_modules/some-tool/cli.js', SOME_TOOL, 0o755);
  fs.mkdirSync(path.join(proj, 'node_modules', '.bin'));
  fs.symlinkSync('../some-tool/cli.js', path.join(proj, 'node_modules', '.bin', 'some-tool'));
  if (commandOf(e.args).includes('tsc')) {
    write('tsconfig.json', JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: 'src', strict: true, target: 'es2022', module: 'commonjs' }, include: ['src'] }, null, 2) + '\n');
    if (HAVE_TYPESCRIPT) {
      fs.cpSync(TYPESCRIPT, path.join(proj, 'node_modules', 'typescript'), { recursive: true });
      fs.symlinkSync('../typescript/bin/tsc', path.join(proj, 'node_modules', '.bin', 'tsc'));
    }
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: proj, env: { ...w.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' }, stdio: 'ignore' });
  git('init', '-q', '.');
  fs.writeFileSync(path.join(proj, '.gitignore'), 'node_modules/\ndist/\n');
  git('add', '.');
  git('commit', '-q', '-m', 'scratch');
  return proj;
}

// ---------------------------------------------------------------------------

let w: World;
beforeAll(() => {
  w = makeWorld('readme');
});
afterAll(() => removeWorld(w));

// The README is read when the tests are collected, before the world (and
// its HOME) exists: an unquoted `~` is expanded when the example runs.
const HOME = '\0HOME';
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const found = readmeExamples(README, HOME);

describe('the README examples', () => {
  it('are found: sh blocks and the package.json script', () => {
    expect(found.filter((e) => !e.script).length).toBeGreaterThan(0);
    expect(found.filter((e) => e.script).length).toBeGreaterThan(0);
  });
  it.each(CLAIMS.map((c) => [c.example]))('the claim checked for %s is still an example', (text) => {
    expect(found.map((e) => e.text)).toContain(text);
  });
  it('joins continuations and drops comments', () => {
    const md = '```sh\njail --ro . \\\n  --rw "./a b" -- ls # note\nnpm test\n```\n';
    expect(readmeExamples(md, '/h')).toEqual([{ text: 'jail --ro . --rw "./a b" -- ls', where: 'README.md:2 (sh)', args: ['--ro', '.', '--rw', './a b', '--', 'ls'], script: false }]);
  });
});

strictJail.describe('each README example, run in a scratch project', () => {
  // The bins every scratch project has, so `npx NAME` runs offline.
  const localBins = (name: string) => ['some-tool', ...(HAVE_TYPESCRIPT ? ['tsc'] : [])].includes(name);
  found.forEach((e, n) => {
    const why = skipReason(e, localBins);
    const gate = why === null ? { it } : needs(false, why);
    gate.it(`${e.text}  (${e.where})`, () => {
      const proj = scratchProject(w, n, e);
      const args = e.args.map((a) => (a.startsWith(HOME) ? w.home + a.slice(HOME.length) : a));
      const dd = args.indexOf('--');
      const run = dd >= 0 ? [...args.slice(0, dd + 1), ...rewrite(args.slice(dd + 1))] : args;
      const env = e.script ? { ...w.env, PATH: `${path.join(proj, 'node_modules', '.bin')}:${w.env.PATH}` } : w.env;
      const before = snapshot(proj);
      const r = jail(w, run, { cwd: proj, env, timeout: 60_000 });
      const claim = CLAIMS.find((c) => c.example === e.text);
      expect(r.status, printed(r)).toBe(claim?.status ?? 0);
      // What every example claims: it writes only under its --rw paths
      // (explain and --print-policy run nothing, so write nothing).
      const rw = e.args[0] === 'explain' || e.args.includes('--print-policy') ? [] : writable(e.args, proj);
      const outside = changed(before, snapshot(proj)).filter((p) => !rw.some((d) => d === '' || p === d + '/' || p.startsWith(d + '/')));
      expect(outside, 'changed outside its --rw paths').toEqual([]);
      for (const s of Object.values(w.secrets)) expect(printed(r)).not.toContain(s);
      claim?.check?.({ stdout: r.stdout, stderr: r.stderr }, proj);
    });
  });
});
