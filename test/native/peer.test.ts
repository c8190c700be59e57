/**
 * tcpOwner (native/peer.c): the owner of the other end of a connection on
 * this host, as the egress proxy asks it of each connection to its host
 * listener; and ownedBy (src/egress/peer.ts), what the proxy makes of the
 * answer. Only the exact socket counts: never a listener on its port, nor
 * an end no process holds any more.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpOwner } from '../../src/native/apply.js';
import { ownedBy } from '../../src/egress/peer.js';

const IS_ROOT = process.getuid?.() === 0;
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

/** A listener on 127.0.0.1 whose accepted sockets are handed to `take`. */
async function listener(take: (s: net.Socket) => void = () => {}): Promise<net.Server> {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    take(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(() => srv.close());
  return srv;
}

/** One connection to `srv` from `opts`, and its accepted end. */
async function pair(srv: net.Server, opts: Partial<net.TcpNetConnectOpts> = {}): Promise<{ client: net.Socket; accepted: net.Socket }> {
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect({ port, host: '127.0.0.1', ...opts });
  client.on('error', () => {});
  await new Promise<void>((r) => client.once('connect', () => r()));
  const a = await accepted;
  cleanup.push(() => (client.destroy(), a.destroy()));
  return { client, accepted: a };
}

const ends = (s: net.Socket) => [{ address: s.remoteAddress!.replace(/^::ffff:/, ''), port: s.remotePort! }, { address: s.localAddress!.replace(/^::ffff:/, ''), port: s.localPort! }] as const;

describe('tcpOwner', () => {
  it('finds the client end of a loopback connection: this user, held (an inode), established', async () => {
    const { accepted } = await pair(await listener());
    const o = tcpOwner(...ends(accepted));
    expect(o).toMatchObject({ uid: process.geteuid!(), state: 1 });
    expect(o!.inode).toBeGreaterThan(0);
  });

  it('finds an IPv6 socket connected to a v4-mapped address by its IPv4 ends', async () => {
    const { accepted } = await pair(await listener(), { host: '::ffff:127.0.0.1', family: 6 });
    expect(tcpOwner(...ends(accepted))).toMatchObject({ uid: process.geteuid!() });
  });

  it('no such socket: null; a listener on the asked-for port is not taken for it', async () => {
    const srv = await listener();
    const port = (srv.address() as net.AddressInfo).port;
    // The ends of a connection that does not exist, whose local port is the
    // listener's: the kernel's lookup falls back to the listener.
    expect(tcpOwner({ address: '127.0.0.1', port }, { address: '127.0.0.1', port: 9 })).toBeNull();
    expect(tcpOwner({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 })).toBeNull();
  });

  it('an end its process has closed (FIN_WAIT, TIME_WAIT) is held by no process: inode 0, or gone', async () => {
    const { client, accepted } = await pair(await listener());
    const [peer, self] = ends(accepted);
    client.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const o = tcpOwner(peer, self);
    expect(o === null || o.inode === 0).toBe(true);
    expect(ownedBy(process.geteuid!(), tcpOwner)(accepted)).not.toBeNull();
  });

  (IS_ROOT ? it : it.skip)('another user\'s client: its uid, refused', async () => {
    const srv = await listener();
    const port = (srv.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require('net').connect(${port}, '127.0.0.1'); setTimeout(() => {}, 5000)`], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    const a = await accepted;
    cleanup.push(() => a.destroy());
    expect(tcpOwner(...ends(a))).toMatchObject({ uid: 65534 });
    expect(ownedBy(0, tcpOwner)(a)).toBe('from uid 65534');
    expect(ownedBy(65534, tcpOwner)(a)).toBeNull();
  });
});

describe('ownedBy', () => {
  const fake = (o: { uid: number; inode: number } | null | Error) => () => {
    if (o instanceof Error) throw o;
    return o;
  };
  const socket = { remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 25000 } as net.Socket;

  it('serves its user\'s held sockets only; anything it cannot trace is refused', () => {
    expect(ownedBy(1000, fake({ uid: 1000, inode: 7 }))(socket)).toBeNull();
    expect(ownedBy(1000, fake({ uid: 1001, inode: 7 }))(socket)).toBe('from uid 1001');
    // TIME_WAIT reports uid 0: root's jail must not take it for its own.
    expect(ownedBy(0, fake({ uid: 0, inode: 0 }))(socket)).toBe('from a socket no process holds');
    expect(ownedBy(1000, fake(null))(socket)).toBe('gone before it could be checked');
    expect(ownedBy(1000, fake(Object.assign(new Error('x'), { syscall: 'socket', code: 'EPERM' })))(socket)).toBe('not checked (socket: EPERM)');
    expect(ownedBy(1000, fake({ uid: 1000, inode: 7 }))({} as net.Socket)).toBe('gone before it could be checked');
  });

  it('asks for the ends as the kernel names them (an IPv6 listener\'s v4-mapped peers unmapped)', () => {
    const asked: unknown[] = [];
    ownedBy(0, (p, s) => (asked.push(p, s), null))({ remoteAddress: '::ffff:127.0.0.1', remotePort: 40000, localAddress: '::ffff:127.0.0.1', localPort: 25000 } as net.Socket);
    expect(asked).toEqual([{ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 25000 }]);
  });
});
