/**
 * --ssh-agent (issue 16), with OpenSSH's own ssh-agent, ssh-add and
 * ssh-keygen: a real agent on a socket in the test's world holding one key,
 * jail run under a pseudo-terminal (fixtures/pty-answer.py) whose "user"
 * answers jail's prompt, or does not. Judged from outside: the signature
 * file, `git verify-commit`, what the real agent holds afterwards.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, LAYER, inFallback, jail, jailCommand, makeWorld, needs, removeWorld, strictJail, until, type World } from './harness.js';

const have = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status !== null && spawnSync(cmd, args, { stdio: 'ignore' }).error === undefined;
const haveOpenSsh = have('ssh-agent', ['-h']) && have('ssh-keygen', ['-?']) && have('ssh-add', ['-h']);
const python = (() => {
  const r = spawnSync('python3', ['-c', 'import sys, pty; print(sys.executable)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();
/** A hostile client of jail's agent, run inside (a python the view shows). */
const ATTACK = path.join(__dirname, 'fixtures', 'ssh-agent-attack.py');
const systemPython = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : null;
const gated = needs(haveOpenSsh && python !== null, "needs OpenSSH's ssh-agent, ssh-add, ssh-keygen (openssh-client) and python3 with pty");
const gatedPy = needs(haveOpenSsh && python !== null && systemPython !== null, 'needs OpenSSH, python3 with pty and /usr/bin/python3 (inside the jail)');
const PTY = path.join(__dirname, 'fixtures', 'pty-answer.py');

/** In the fallback below Landlock ABI 9, confirm needs --allow-unix as the
 *  acknowledgement that every UNIX socket is reachable (plan.ts). */
const ACK = inFallback ? ['--allow-unix'] : [];

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];
const who = (asNobody: boolean) => (asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []);

interface Agent {
  dir: string;
  sock: string;
  pub: string;
  key: string;
  proc: ChildProcess;
  asNobody: boolean;
  /** `ssh-add ARGS` outside the jail, against this agent. */
  add(args: string[]): ReturnType<typeof spawnSync>;
}

let w: World;
const agents: Agent[] = [];
beforeAll(() => {
  w = makeWorld('sshagent');
});
afterAll(() => {
  for (const a of agents) a.proc.kill('SIGKILL');
  removeWorld(w);
});

/** A real agent (as root or nobody), with one fresh key in it. */
async function startAgent(asNobody: boolean): Promise<Agent> {
  const dir = fs.mkdtempSync(path.join(w.root, 'agent-'));
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `jail-test@${asNobody ? 'nobody' : 'root'}`, '-f', key]);
  if (asNobody) execFileSync('chown', ['-R', '65534:65534', dir]);
  const sock = path.join(dir, 'agent.sock');
  const [cmd, ...args] = [...who(asNobody), 'ssh-agent', '-D', '-a', sock];
  const proc = spawn(cmd!, args, { stdio: 'ignore' });
  expect(await until(() => fs.existsSync(sock))).toBe(true);
  const add = (a: string[]) => {
    const [c, ...rest] = [...who(asNobody), 'ssh-add', ...a];
    return spawnSync(c!, rest, { env: { ...w.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
  };
  expect(add([key]).status).toBe(0);
  // The public key where the jailed command can read it.
  const pub = path.join(w.proj, `key-${path.basename(dir)}.pub`);
  fs.copyFileSync(`${key}.pub`, pub);
  fs.chmodSync(pub, 0o644);
  const a: Agent = { dir, sock, pub, key, proc, asNobody, add };
  agents.push(a);
  return a;
}

/** `jail ARGS` under a pseudo-terminal that answers prompts with `answers`. */
function jailOnTty(a: Agent, answers: string[], args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; screen: string } {
  const [cmd, argv] = jailCommand(w, args, { asNobody: a.asNobody });
  const r = spawnSync(python!, [PTY, answers.join(','), '--', cmd, ...argv], {
    cwd: w.proj,
    env: { ...w.env, SSH_AUTH_SOCK: a.sock, JAIL_SSH_AGENT_TIMEOUT: '3', ...env },
    encoding: 'utf8',
    timeout: 40_000,
  });
  return { status: r.status, screen: r.stdout };
}

gated.describe('--ssh-agent', () => {
  strictJail.describe.each(users)('confirm, as %s', (_name, asNobody) => {
    let a: Agent;
    let attack: string;
    beforeAll(async () => {
      a = await startAgent(asNobody);
      // Where nobody can read it too.
      attack = path.join(w.root, 'ssh-agent-attack.py');
      if (!fs.existsSync(attack)) fs.copyFileSync(ATTACK, attack);
      fs.chmodSync(attack, 0o644);
    });
    const file = () => {
      const f = path.join(w.proj, `msg-${asNobody ? 'nobody' : 'root'}-${Math.random().toString(36).slice(2, 8)}.txt`);
      fs.writeFileSync(f, 'signed text\n', { mode: 0o666 });
      fs.chmodSync(f, 0o666);
      return path.basename(f);
    };
    const sign = (answers: string[], f: string, env: NodeJS.ProcessEnv = {}) =>
      jailOnTty(a, answers, ['--rw', '.', '--ssh-agent', 'confirm', ...ACK, '--', 'ssh-keygen', '-Y', 'sign', '-n', 'git', '-f', a.pub, f], env);

    gated.it('inside, ssh-add -L lists the key, with no prompt', () => {
      const r = jail(w, ['--ro', '.', '--ssh-agent', 'confirm', ...ACK, '--', 'ssh-add', '-L'], { asNobody, env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
      expect(r.stderr).not.toContain('allow?');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(fs.readFileSync(a.pub, 'utf8').trim());
    });

    gated.it('ssh-keygen -Y sign works when the user answers y; the prompt names the key and the namespace', () => {
      const f = file();
      const r = sign(['y'], f);
      expect(r.status, r.screen).toBe(0);
      const fp = execFileSync('ssh-keygen', ['-l', '-f', a.pub], { encoding: 'utf8' }).split(' ')[1]!;
      expect(r.screen).toContain(fp);
      expect(r.screen).toContain('namespace "git"');
      expect(r.screen).toContain(`jail-test@${asNobody ? 'nobody' : 'root'}`);
      // The signature verifies outside.
      const signers = path.join(a.dir, 'allowed');
      fs.writeFileSync(signers, `me ${fs.readFileSync(a.pub, 'utf8')}`);
      const v = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', 'me', '-n', 'git', '-s', path.join(w.proj, `${f}.sig`)], { input: 'signed text\n', encoding: 'utf8' });
      expect(v.status, v.stderr).toBe(0);
    });

    gated.it('fails when the user answers n, and when nobody answers in time', () => {
      const no = file();
      const r = sign(['n'], no);
      expect(r.status).not.toBe(0);
      expect(r.screen).toContain('jail: denied');
      expect(fs.existsSync(path.join(w.proj, `${no}.sig`))).toBe(false);
      const late = file();
      const t = sign([], late, { JAIL_SSH_AGENT_TIMEOUT: '1' });
      expect(t.status).not.toBe(0);
      expect(t.screen).toContain('no answer in 1 s: denied');
      expect(t.screen).toMatch(/refused 1 signature request\(s\): no answer in 1 s/);
      expect(fs.existsSync(path.join(w.proj, `${late}.sig`))).toBe(false);
    });

    gated.it('adding and removing identities from inside is refused; the real agent still holds exactly its key', () => {
      const extra = path.join(w.proj, `extra-${asNobody ? 'n' : 'r'}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', extra]);
      execFileSync('chmod', ['a+r', extra]);
      if (asNobody) execFileSync('chown', ['65534:65534', extra]);
      const r = jail(w, ['--rw', '.', '--ssh-agent', 'confirm', ...ACK, '--', 'sh', '-c', `ssh-add ${path.basename(extra)}; echo add=$?; ssh-add -D; echo removeall=$?; ssh-add -d ${path.basename(a.pub)}; echo remove=$?`], {
        asNobody,
        env: { ...w.env, SSH_AUTH_SOCK: a.sock },
      });
      expect(r.stdout).toMatch(/add=[1-9]/);
      expect(r.stdout).toMatch(/removeall=[1-9]/);
      expect(r.stdout).toMatch(/remove=[1-9]/);
      const l = a.add(['-L']);
      expect(String(l.stdout).trim()).toBe(fs.readFileSync(a.pub, 'utf8').trim());
    });

    gated.it('the jailed program cannot answer: TIOCSTI is refused, and y written to /dev/tty and to stdin is output, not input', () => {
      const typer = path.join(w.root, 'type-into-tty');
      if (!fs.existsSync(typer)) execFileSync('cc', ['-O1', '-o', typer, path.join(__dirname, 'fixtures', 'type-into-tty.c')]);
      const f = file();
      const r = jailOnTty(
        a,
        [],
        ['--rw', '.', '--ro', typer, '--ssh-agent', 'confirm', ...ACK, '--', 'sh', '-c', `${typer} 12 & ssh-keygen -Y sign -n git -f ${a.pub} ${f}; s=$?; wait; exit $s`],
        { JAIL_SSH_AGENT_TIMEOUT: '3' },
      );
      expect(r.screen).toContain('TIOCSTI: Operation not permitted');
      expect(r.screen).toContain('no answer in 3 s: denied');
      expect(r.status).not.toBe(0);
      expect(fs.existsSync(path.join(w.proj, `${f}.sig`))).toBe(false);
    });

    gatedPy.it('escape sequences the command puts in a key blob or a host key reach the prompt escaped, never raw', () => {
      // A certificate's type, as the sign request's key and as the host key
      // a login names: OSC 52 (write the clipboard), erase the line, move up.
      const r = jailOnTty(a, [], ['--ro', '.', '--ro', attack, '--ssh-agent', 'confirm', ...ACK, '--', 'sh', '-c', `${systemPython} ${attack} escape; ${systemPython} ${attack} hostbound ${a.pub}`], { JAIL_SSH_AGENT_TIMEOUT: '1' });
      expect(r.screen).toContain('reply 5');
      expect(r.screen).toContain('\\x1b]52;c;cHduZWQ=\\x07\\x1b[2K\\x1b[1A\\x1b[2Kpwned certificate');
      expect(r.screen.match(/host: .*certificate/g)?.length, r.screen).toBe(1);
      expect(r.screen).not.toContain('\x1b]52');
      expect(r.screen).not.toContain('\x1b[2K');
    });

    gatedPy.it('a command asking 300 times for signatures nobody can confirm gets a report of a few lines, not 300', () => {
      // setsid: no controlling terminal, and no desktop: nobody to ask.
      const [cmd, argv] = jailCommand(w, ['--ro', '.', '--ro', attack, '--ssh-agent', 'confirm', ...ACK, '--', systemPython!, attack, 'many', '300'], { asNobody });
      const r = spawnSync('setsid', ['-w', cmd, ...argv], { cwd: w.proj, env: { ...w.env, SSH_AUTH_SOCK: a.sock, DISPLAY: '', WAYLAND_DISPLAY: '' }, encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain("replies {5: 300}");
      expect(r.stderr).toMatch(/refused 300 signature request\(s\): nobody to ask: .*; and more other\(s\)\n/);
      expect(r.stderr.length, r.stderr.slice(0, 400)).toBeLessThan(2000);
    });

    gatedPy.it('a command opening 300 connections holds at most 64 to the real agent, which outside ssh still reaches', async () => {
      const flag = path.join(w.proj, `held-${asNobody ? 'n' : 'r'}`);
      fs.rmSync(flag, { force: true });
      const [cmd, argv] = jailCommand(w, ['--rw', '.', '--ro', attack, '--ssh-agent', 'confirm', ...ACK, '--', systemPython!, attack, 'hold', '300', flag], { asNobody });
      const run = spawn(cmd, argv, { cwd: w.proj, env: { ...w.env, SSH_AUTH_SOCK: a.sock }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      run.stdout!.on('data', (d) => (out += d));
      const ended = new Promise((resolve) => run.on('close', resolve));
      expect(await until(() => fs.existsSync(flag), 20_000)).toBe(true);
      const held = fs.readdirSync(`/proc/${a.proc.pid}/fd`).length;
      expect(a.add(['-l']).status).toBe(0);
      await ended; // the command sleeps 3 s, then ends
      expect(held, out).toBeLessThan(80);
      expect(out).toMatch(/answered (\d+) of 300/);
      expect(Number(/answered (\d+)/.exec(out)![1])).toBeLessThanOrEqual(64);
    });

    gated.it("the real agent's socket under a writable grant is covered (namespace layer): no signature unasked", () => {
      const probe = `SSH_AUTH_SOCK=${a.sock} ssh-add -l; echo status=$?` + (inFallback ? '' : `; mv ${a.sock} ${a.sock}.moved; ln ${a.sock} ${a.sock}.link; SSH_AUTH_SOCK=${a.sock}.link ssh-add -l; echo link=$?`);
      const r = jail(w, ['--rw', a.dir, '--ssh-agent', 'confirm', ...ACK, '--', 'sh', '-c', probe], { asNobody, env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
      if (inFallback) {
        // Acknowledged with --allow-unix: every socket is open (README).
        expect(r.stdout).toContain('status=0');
        return;
      }
      expect(r.status).not.toBe(125);
      expect(r.stdout).toContain('status=2');
      expect(r.stdout).not.toContain('link=0');
      // The real agent is where it was, holding its key.
      expect(fs.existsSync(`${a.sock}.moved`)).toBe(false);
      expect(String(a.add(['-l']).stdout)).toContain('ED25519');
    });

    gated.it("the real agent's socket, guessed, cannot be reached from inside", () => {
      const probe = `SSH_AUTH_SOCK=${a.sock} ssh-add -l; echo status=$?`;
      if (LAYER === 'namespaces') {
        const r = jail(w, ['--ro', '.', '--ssh-agent', 'confirm', '--', 'sh', '-c', probe], { asNobody, env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
        expect(r.stdout).toContain('status=2');
        expect(r.stderr).toContain('Error connecting to agent: No such file or directory');
      } else {
        // Below ABI 9, nothing runs without the acknowledgement …
        const marker = path.join(w.proj, `ran-${asNobody ? 'n' : 'r'}`);
        const r = jail(w, ['--rw', '.', '--ssh-agent', 'confirm', '--', 'sh', '-c', `touch ${marker}; ${probe}`], { asNobody, env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
        expect(r.status).toBe(125);
        expect(r.stderr).toContain('a rule for one UNIX socket path needs ABI 9');
        expect(r.stderr).toContain('hint: run where user namespaces are allowed');
        expect(fs.existsSync(marker)).toBe(false);
        // … and with it, jail says on stderr that the real agent is reachable.
        const ack = jail(w, ['--ro', '.', '--ssh-agent', 'confirm', '--allow-unix', '--', 'true'], { asNobody, env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
        expect(ack.status).toBe(0);
        expect(ack.stderr).toContain(`the real agent's (${fs.realpathSync(a.sock)}) included`);
      }
    });
  });

  strictJail.describe('a signed git commit', () => {
    needs(have('git', ['--version']), 'needs git').it('made inside the jail (gpg.format=ssh), verifies outside', async () => {
      const a = await startAgent(false);
      const repo = path.join(w.proj, 'repo');
      fs.mkdirSync(repo);
      const git = (args: string[], cwd = repo) => execFileSync('git', args, { cwd, env: { ...w.env, GIT_CONFIG_NOSYSTEM: '1' }, encoding: 'utf8' });
      git(['init', '-q']);
      fs.writeFileSync(path.join(repo, 'a.txt'), 'a\n');
      git(['add', 'a.txt']);
      const r = jailOnTty(a, ['y'], [
        '--rw', '.', '--ssh-agent', 'confirm', ...ACK, '--',
        'git', '-C', 'repo', '-c', 'user.name=J', '-c', 'user.email=j@example.com', '-c', 'gpg.format=ssh', '-c', `user.signingkey=${a.pub}`, 'commit', '-q', '-S', '-m', 'signed in the jail',
      ]);
      expect(r.status, r.screen).toBe(0);
      expect(r.screen).toContain('namespace "git"');
      const signers = path.join(a.dir, 'allowed_signers');
      fs.writeFileSync(signers, `j@example.com ${fs.readFileSync(a.pub, 'utf8')}`);
      const v = spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'verify-commit', 'HEAD'], { cwd: repo, env: w.env, encoding: 'utf8' });
      expect(v.status, v.stderr).toBe(0);
      expect(v.stderr).toContain('Good "git" signature for j@example.com');
    });
  });

  strictJail.describe('--print-policy and config', () => {
    gated.it('deny (the default), confirm and allow each say what the command gets', async () => {
      const a = await startAgent(false);
      const env = { ...w.env, SSH_AUTH_SOCK: a.sock };
      const deny = jail(w, ['--ro', '.', '--print-policy', '--', 'true'], { env });
      expect(deny.stdout).toContain('ssh agent: none (--ssh-agent deny): no agent inside');
      expect(deny.stdout).toMatch(/left out \d+: .*SSH_AUTH_SOCK/);
      const confirm = jail(w, ['--ro', '.', '--ssh-agent', 'confirm', ...ACK, '--print-policy', '--', 'true'], { env });
      expect(confirm.status).toBe(0);
      expect(confirm.stdout).toMatch(/ssh agent: confirm: SSH_AUTH_SOCK=\/\S+\/ssh-agent\.sock, jail's agent/);
      expect(confirm.stdout).toContain(inFallback ? 'WARNING: --allow-unix opens every UNIX socket' : "the real agent's socket is not in the view");
      const allow = jail(w, ['--ro', '.', '--ssh-agent', 'allow', ...ACK, '--print-policy', '--', 'true'], { env });
      expect(allow.stdout).toContain(`ssh agent: allow: WARNING: SSH_AUTH_SOCK=${fs.realpathSync(a.sock)}, your real agent, unasked`);
      expect(allow.stdout).toContain('warning: --ssh-agent allow: the command uses your SSH agent unasked');
    });

    gated.it('allow passes the real agent through, with a warning on stderr', async () => {
      const a = await startAgent(false);
      const r = jail(w, ['--ro', '.', '--ssh-agent', 'allow', ...ACK, '--', 'ssh-add', '-L'], { env: { ...w.env, SSH_AUTH_SOCK: a.sock } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(fs.readFileSync(a.pub, 'utf8').trim());
      expect(r.stderr).toContain('jail: warning: --ssh-agent allow');
    });

    gated.it("a project's config may choose deny, not confirm (exit 125)", () => {
      const dir = path.join(w.proj, 'sub');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'jail.config.json'), JSON.stringify({ profiles: { default: { sshAgent: 'confirm' } } }));
      fs.writeFileSync(path.join(dir, 'package.json'), '{}');
      const r = jail(w, ['--print-policy', '--', 'true'], { cwd: dir });
      expect(r.status).toBe(125);
      expect(r.stderr).toContain(`a project's config may not set "sshAgent": "confirm"`);
      fs.writeFileSync(path.join(dir, 'jail.config.json'), JSON.stringify({ profiles: { default: { sshAgent: 'deny' } } }));
      expect(jail(w, ['--print-policy', '--', 'true'], { cwd: dir }).status).toBe(0);
    });
  });
});
