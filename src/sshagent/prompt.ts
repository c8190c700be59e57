/**
 * Asking the user whether to sign: on jail's controlling terminal
 * (/dev/tty, opened by the supervisor, outside the jail), or, with no
 * terminal, in a desktop dialog (zenity or kdialog, from /usr/bin only:
 * PATH may name the project's own bins). The jailed program shares the
 * terminal but cannot type into it (the syscall filter refuses TIOCSTI
 * and TIOCLINUX); what it writes there is output, never an answer.
 */
import fs = require('node:fs');
import tty = require('node:tty');
import { spawn } from 'node:child_process';
import { printable } from '../text.js';
import { describeKey, fingerprint, keyKind, type Signed } from './protocol.js';

export type Answer = 'once' | 'always' | 'deny';

export interface Question {
  /** The lines that say what would be signed. */
  lines: string[];
  /** What "always" covers ("this key for host SHA256:…"); null: only once. */
  always: string | null;
}

export interface Asked {
  answer: Answer;
  /** Why nobody was asked, or that nobody answered in time. */
  why?: string;
}

export interface Asker {
  ask(q: Question, timeoutMs: number): Promise<Asked>;
  close(): void;
}

/** The longest a field from the request (a user name, a namespace) is
 *  shown: a longer one would push the key's line off the screen. */
const FIELD = 100;

/** A field the jailed command wrote, escaped and cut to FIELD characters. */
export function field(s: string): string {
  const p = printable(s);
  return p.length > FIELD ? `${p.slice(0, FIELD)}… (${s.length} characters)` : p;
}

/** What the prompt says about a request, and what "always" would cover. */
export function question(blob: Buffer, comment: string | undefined, signed: Signed, boundHostKey: Buffer | null): Question & { scope: string | null } {
  const lines = [`key:   ${describeKey(blob, comment)}`];
  let scope: string | null = null;
  let always: string | null = null;
  switch (signed.kind) {
    case 'login': {
      const hostKey = signed.hostKey ?? boundHostKey;
      lines.push(`what:  an SSH login as "${field(signed.user)}" (service ${field(signed.service)})`);
      lines.push(hostKey ? `host:  the server whose host key is ${keyKind(hostKey)} ${fingerprint(hostKey)}` : 'host:  unknown (the client did not bind the session to a host key)');
      if (hostKey) {
        scope = `login ${fingerprint(hostKey)}`;
        always = 'this key, logins to this host';
      }
      break;
    }
    case 'sshsig':
      lines.push(`what:  a signature (ssh-keygen -Y sign) in namespace "${field(signed.namespace)}"${signed.namespace === 'git' ? ' (git: a commit or a tag)' : ''}`);
      lines.push(`       of a message with ${field(signed.hashAlg)} ${field(signed.hash.toString('base64'))}`);
      scope = `sshsig ${signed.namespace}`;
      always = `this key, namespace "${field(signed.namespace)}"`;
      break;
    case 'other':
      lines.push(`what:  ${signed.length} bytes of data jail does not recognise, ${signed.sha256}`);
  }
  return { lines, always, scope };
}

/** The prompt as the terminal shows it. */
export function promptText(q: Question, timeoutMs: number): string {
  const secs = Math.round(timeoutMs / 1000);
  return (
    '\r\njail: the jailed command asks your SSH agent for a signature\r\n' +
    q.lines.map((l) => `  ${l}\r\n`).join('') +
    `  allow? [y] once${q.always ? `, [a] always for ${q.always} in this run` : ''}, [n] deny (no answer in ${secs} s: deny): `
  );
}

/** An answer typed on the terminal. */
export function parseAnswer(line: string, always: boolean): Answer {
  const a = line.trim().toLowerCase();
  if (a === 'y' || a === 'yes') return 'once';
  if (always && (a === 'a' || a === 'always')) return 'always';
  return 'deny';
}

/** Asks on /dev/tty; reads only while a question is open. */
export class TerminalAsker implements Asker {
  private stream: tty.ReadStream;

  private constructor(private readonly fd: number) {
    this.stream = new tty.ReadStream(fd);
    this.stream.pause();
  }

  /** null when this process has no controlling terminal. */
  static open(): TerminalAsker | { why: string } {
    let fd: number;
    try {
      fd = fs.openSync('/dev/tty', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    } catch (e) {
      return { why: `no terminal (/dev/tty: ${(e as NodeJS.ErrnoException).code ?? String(e)})` };
    }
    return new TerminalAsker(fd);
  }

  ask(q: Question, timeoutMs: number): Promise<Asked> {
    return new Promise((resolve) => {
      let line = '';
      const done = (a: Asked, echo: string) => {
        clearTimeout(timer);
        this.stream.removeListener('data', onData);
        this.stream.pause();
        this.write(echo);
        resolve(a);
      };
      const onData = (d: Buffer) => {
        line += d.toString('utf8');
        const nl = line.indexOf('\n');
        if (nl < 0) return;
        const answer = parseAnswer(line.slice(0, nl), q.always !== null);
        done({ answer }, `jail: ${answer === 'deny' ? 'denied' : answer === 'once' ? 'allowed once' : `allowed: ${q.always}`}\r\n`);
      };
      const timer = setTimeout(() => done({ answer: 'deny', why: `no answer in ${Math.round(timeoutMs / 1000)} s` }, `\r\njail: no answer in ${Math.round(timeoutMs / 1000)} s: denied\r\n`), timeoutMs);
      this.stream.on('data', onData);
      this.write(promptText(q, timeoutMs));
      this.stream.resume();
    });
  }

  private write(s: string): void {
    try {
      fs.writeSync(this.fd, s);
    } catch {
      // the terminal has gone; the answer stands
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

/** The desktop dialogs jail uses, from /usr/bin only. */
const DIALOGS = ['/usr/bin/zenity', '/usr/bin/kdialog'];

/** Asks in a desktop dialog. */
export class DialogAsker implements Asker {
  private constructor(
    private readonly program: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static find(env: NodeJS.ProcessEnv, exists: (p: string) => boolean = fs.existsSync): DialogAsker | { why: string } {
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { why: 'no desktop session (DISPLAY, WAYLAND_DISPLAY)' };
    const program = DIALOGS.find((p) => exists(p));
    if (!program) return { why: `no desktop dialog (${DIALOGS.join(', ')})` };
    return new DialogAsker(program, env);
  }

  ask(q: Question, timeoutMs: number): Promise<Asked> {
    const text = `The jailed command asks your SSH agent for a signature.\n\n${q.lines.join('\n')}`;
    const args = dialogArgs(this.program, text, q.always, Math.round(timeoutMs / 1000));
    return new Promise((resolve) => {
      const child = spawn(this.program, args, { env: this.env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
      }, timeoutMs + 1000);
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ answer: 'deny', why: `${this.program}: ${e.message}` });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut || code === 5) resolve({ answer: 'deny', why: `no answer in ${Math.round(timeoutMs / 1000)} s` });
        else resolve({ answer: dialogAnswer(this.program, code, out, q.always !== null) });
      });
    });
  }

  close(): void {}
}

const ONCE = 'Allow once';
const ALWAYS = 'Allow always';

export function dialogArgs(program: string, text: string, always: string | null, secs: number): string[] {
  const title = 'jail: SSH signature';
  if (program.endsWith('kdialog')) {
    return always
      ? ['--title', title, '--yesnocancel', `${text}\n\n"${ALWAYS}": ${always}, for the rest of this run`, '--yes-label', ONCE, '--no-label', ALWAYS, '--cancel-label', 'Deny']
      : ['--title', title, '--yesno', text, '--yes-label', ONCE, '--no-label', 'Deny'];
  }
  return [
    '--question', '--no-markup', '--title', title, '--text', always ? `${text}\n\n"${ALWAYS}": ${always}, for the rest of this run` : text,
    '--ok-label', ONCE, '--cancel-label', 'Deny', '--timeout', String(secs),
    ...(always ? ['--extra-button', ALWAYS] : []),
  ];
}

export function dialogAnswer(program: string, code: number | null, out: string, always: boolean): Answer {
  if (program.endsWith('kdialog')) return code === 0 ? 'once' : always && code === 1 ? 'always' : 'deny';
  if (code === 0) return 'once';
  return always && code === 1 && out.trim() === ALWAYS ? 'always' : 'deny';
}
