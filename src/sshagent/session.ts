/**
 * jail's confirming SSH agent for one run (--ssh-agent confirm), held by
 * the supervisor: it listens on a socket in the private TMPDIR before the
 * command starts, and for each connection speaks the agent protocol:
 *
 * - REQUEST_IDENTITIES: forwarded to the real agent, its answer passed back;
 * - SIGN_REQUEST: forwarded only once the user has confirmed it (or allowed
 *   this key for this host or namespace earlier in the run); prompts come
 *   one at a time;
 * - session-bind@openssh.com: forwarded on the same connection to the real
 *   agent, which checks the host's signature and binds that connection (so
 *   keys restricted to destinations keep their restriction); once it says
 *   yes, the prompt names the host key;
 * - everything else (adding, removing, locking, smartcards, other
 *   extensions): SSH_AGENT_FAILURE, never forwarded.
 *
 * Each connection gets its own connection to the real agent, opened on its
 * first forwarded request. A malformed message closes the connection.
 */
import fs = require('node:fs');
import net = require('node:net');
import type { JailPlan } from '../plan.js';
import type { SshAgent } from '../policy/model.js';
import type { Service } from '../run.js';
import { printable } from '../text.js';
import { DialogAsker, TerminalAsker, question, type Asked, type Asker } from './prompt.js';
import { FAILURE, Framer, MSG, ProtocolError, SESSION_BIND, describeKey, frame, parseExtension, parseIdentities, parseSessionBind, parseSignRequest, recognise, type Message } from './protocol.js';

export const DEFAULT_TIMEOUT_MS = 60_000;
/** Refusals the report after the run names. */
const MAX_REPORTED = 3;
/** Refusals kept for it (the count goes on). */
const MAX_KEPT = 64;
/** Connections open at once: each has its own to the real agent, whose
 *  descriptors (1024 for a desktop session's) are the user's too. */
const MAX_CONNECTIONS = 64;
/** Requests one connection may have waiting for an answer. */
const MAX_QUEUED = 16;

export interface AgentOptions {
  /** How long a prompt waits for an answer. */
  timeoutMs?: number;
  /** Where to ask; by default the terminal, else a desktop dialog. */
  asker?: () => Asker | { why: string };
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  report?: (text: string) => void;
}

/** JAIL_SSH_AGENT_TIMEOUT (seconds) of the invoking environment. */
export function timeoutFromEnv(v: string | undefined): number {
  if (v === undefined || v === '') return DEFAULT_TIMEOUT_MS;
  const n = Number(v);
  if (!(n > 0 && n <= 3600)) throw new RangeError(`JAIL_SSH_AGENT_TIMEOUT=${v}: not a number of seconds from 1 to 3600`);
  return Math.round(n * 1000);
}

export class SshAgentSession implements Service {
  private server: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  private readonly allowed = new Set<string>();
  private readonly comments = new Map<string, string>();
  private asking: Promise<unknown> = Promise.resolve();
  private asker: Asker | null = null;
  private noAsker: string | null = null;
  /** Why, for the first MAX_KEPT distinct refusals; `refused` counts all. */
  private readonly denied = new Set<string>();
  private refused = 0;
  private signed = 0;
  private readonly timeoutMs: number;

  constructor(
    private readonly agent: SshAgent,
    private readonly opts: AgentOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Listen on the agent's socket (0600), in the TMPDIR made for the run. */
  async listen(): Promise<void> {
    const server = net.createServer((s) => this.serve(s));
    // Past it, a connection is closed at once: a command opening
    // thousands would otherwise hold as many to your real agent, and
    // ssh outside the jail could not reach it while the run lasts.
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.agent.socket, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.agent.socket, 0o600);
    this.server = server;
  }

  attach(_plan: JailPlan, _fds: number[]): void {}

  private stopped: Promise<void> | null = null;

  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      for (const c of this.conns) c.destroy();
      await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      this.asker?.close();
      const report = this.opts.report ?? ((t: string) => process.stderr.write(t));
      if (this.refused) {
        // A few, in one line: a command asking thousands of times, each
        // for other data, must not fill the terminal.
        const distinct = [...this.denied];
        const shown = distinct.slice(0, MAX_REPORTED).map((d) => printable(d));
        const more = distinct.length > MAX_REPORTED ? `; and ${distinct.length >= MAX_KEPT ? 'more' : distinct.length - MAX_REPORTED} other(s)` : '';
        report(`jail: ssh agent: refused ${this.refused} signature request(s): ${shown.join('; ')}${more}\n`);
      }
      this.opts.log?.(`ssh agent: ${this.signed} signature(s) allowed, ${this.refused} refused`);
    })());
  }

  private serve(client: net.Socket): void {
    this.conns.add(client);
    const framer = new Framer();
    const upstream = new Upstream(this.agent.upstream);
    const state: Conn = { upstream, hostKeys: new Map() };
    let queued = 0;
    let chain: Promise<void> = Promise.resolve();
    const end = () => {
      this.conns.delete(client);
      client.destroy();
      upstream.close();
    };
    client.on('error', end);
    client.on('close', end);
    client.on('data', (chunk: Buffer) => {
      let messages: Message[];
      try {
        messages = framer.push(chunk);
      } catch (e) {
        this.opts.log?.(`ssh agent: closed a connection: ${(e as Error).message}`);
        return end();
      }
      for (const m of messages) {
        if (++queued > MAX_QUEUED) {
          this.opts.log?.('ssh agent: closed a connection with too many requests waiting');
          return end();
        }
        chain = chain.then(async () => {
          let reply: Buffer;
          try {
            reply = await this.answer(m, state);
          } catch (e) {
            if (e instanceof ProtocolError) this.opts.log?.(`ssh agent: a malformed request: ${e.message}`);
            else this.opts.log?.(`ssh agent: ${(e as Error).message}`);
            reply = FAILURE();
          }
          queued--;
          if (!client.destroyed) client.write(reply);
        });
      }
    });
  }

  private async answer(m: Message, c: Conn): Promise<Buffer> {
    switch (m.type) {
      case MSG.REQUEST_IDENTITIES: {
        const r = await c.upstream.request(frame(m.type, m.body));
        if (r.type !== MSG.IDENTITIES_ANSWER) return FAILURE();
        for (const id of parseIdentities(r.body)) this.comments.set(id.blob.toString('base64'), id.comment);
        return frame(r.type, r.body);
      }
      case MSG.SIGN_REQUEST:
        return this.sign(m, c);
      case MSG.EXTENSION: {
        const { name, rest } = parseExtension(m.body);
        if (name !== SESSION_BIND) {
          this.opts.log?.(`ssh agent: refused the extension ${printable(name)}`);
          return FAILURE();
        }
        const bind = parseSessionBind(rest);
        const r = await c.upstream.request(frame(m.type, m.body));
        // The real agent checked the host's signature of the session id.
        if (r.type === MSG.SUCCESS) c.hostKeys.set(bind.sessionId.toString('base64'), bind.hostKey);
        return frame(r.type, r.body);
      }
      default:
        this.opts.log?.(`ssh agent: refused request type ${m.type} (${NAMES[m.type] ?? 'unknown'})`);
        return FAILURE();
    }
  }

  private async sign(m: Message, c: Conn): Promise<Buffer> {
    const req = parseSignRequest(m.body);
    const signed = recognise(req.data);
    const bound = signed.kind === 'login' ? (c.hostKeys.get(signed.sessionId.toString('base64')) ?? null) : null;
    const key = req.blob.toString('base64');
    const q = question(req.blob, this.comments.get(key), signed, bound);
    const scope = q.scope === null ? null : `${key} ${q.scope}`;
    const what = `${describeKey(req.blob, this.comments.get(key))}: ${q.lines[1]!.replace(/^what:\s+/, '')}`;
    if (scope === null || !this.allowed.has(scope)) {
      const asked = await this.ask(q);
      if (asked.answer === 'deny') {
        this.refused++;
        if (this.denied.size < MAX_KEPT) this.denied.add(asked.why ? `${asked.why} (${what})` : `denied by you (${what})`);
        return FAILURE();
      }
      if (asked.answer === 'always' && scope !== null) this.allowed.add(scope);
    }
    const r = await c.upstream.request(frame(m.type, m.body));
    if (r.type === MSG.SIGN_RESPONSE) {
      this.signed++;
      this.opts.log?.(`ssh agent: signed ${what}`);
    } else {
      this.opts.log?.(`ssh agent: your agent refused to sign ${what}`);
    }
    return frame(r.type, r.body);
  }

  /** One question at a time, whoever asks. */
  private ask(q: ReturnType<typeof question>): Promise<Asked> {
    const next = this.asking.then(() => {
      const asker = this.getAsker();
      if (asker === null) return { answer: 'deny' as const, why: this.noAsker! };
      return asker.ask(q, this.timeoutMs);
    });
    this.asking = next.catch(() => {});
    return next;
  }

  private getAsker(): Asker | null {
    if (this.asker || this.noAsker) return this.asker;
    const found = this.opts.asker?.() ?? defaultAsker(this.opts.env ?? process.env);
    if ('why' in found) this.noAsker = `nobody to ask: ${found.why}`;
    else this.asker = found;
    return this.asker;
  }
}

/** The terminal, else a desktop dialog; else why neither. */
function defaultAsker(env: NodeJS.ProcessEnv): Asker | { why: string } {
  const t = TerminalAsker.open();
  if (!('why' in t)) return t;
  const d = DialogAsker.find(env);
  if (!('why' in d)) return d;
  return { why: `${t.why}, and ${d.why}` };
}

interface Conn {
  upstream: Upstream;
  /** session-bind: session identifier (base64) → the host key. */
  hostKeys: Map<string, Buffer>;
}

const NAMES: Record<number, string> = {
  [MSG.ADD_IDENTITY]: 'add identity',
  [MSG.REMOVE_IDENTITY]: 'remove identity',
  [MSG.REMOVE_ALL_IDENTITIES]: 'remove all identities',
  [MSG.ADD_SMARTCARD_KEY]: 'add smartcard key',
  [MSG.REMOVE_SMARTCARD_KEY]: 'remove smartcard key',
  [MSG.LOCK]: 'lock',
  [MSG.UNLOCK]: 'unlock',
  [MSG.ADD_ID_CONSTRAINED]: 'add constrained identity',
  [MSG.ADD_SMARTCARD_KEY_CONSTRAINED]: 'add constrained smartcard key',
};

/** One connection to the real agent: a request, then its reply, in order. */
class Upstream {
  private sock: net.Socket | null = null;
  private readonly framer = new Framer();
  private waiting: Array<{ resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  private closed = false;

  constructor(private readonly path: string) {}

  request(bytes: Buffer): Promise<Message> {
    if (this.closed) return Promise.reject(new Error('the connection has closed'));
    const s = (this.sock ??= this.open());
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      s.write(bytes);
    });
  }

  private open(): net.Socket {
    const s = net.connect(this.path);
    s.on('data', (chunk: Buffer) => {
      let ms: Message[];
      try {
        ms = this.framer.push(chunk);
      } catch (e) {
        return this.fail(e as Error);
      }
      for (const m of ms) this.waiting.shift()?.resolve(m);
    });
    s.on('error', (e) => this.fail(new Error(`the real agent (${this.path}): ${e.message}`)));
    s.on('close', () => this.fail(new Error('the real agent closed the connection')));
    return s;
  }

  private fail(e: Error): void {
    this.closed = true;
    this.sock?.destroy();
    const w = this.waiting;
    this.waiting = [];
    for (const x of w) x.reject(e);
  }

  close(): void {
    this.closed = true;
    this.sock?.destroy();
  }
}
