import { describe, expect, it } from 'vitest';
import type { Host, Stat } from '../../../src/policy/host.js';
import type { Policy } from '../../../src/policy/model.js';
import { hostSockets, socketPaths } from '../../../src/policy/sockets.js';

const TABLE = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 11 /run/user/1000/bus
0000000000000000: 00000003 00000000 00000000 0001 03 12 /run/user/1000/bus
0000000000000000: 00000002 00000000 00010000 0001 01 13 /var/run/docker.sock
0000000000000000: 00000002 00000000 00010000 0001 01 14 @/tmp/.X11-unix/X0
0000000000000000: 00000002 00000000 00010000 0001 01 15 /tmp/with space.sock
0000000000000000: 00000002 00000000 00010000 0001 01 16 /tmp/gone.sock
0000000000000000: 00000002 00000000 00010000 0001 01 17 /tmp/plain-file
0000000000000000: 00000002 00000000 00010000 0001 01 18 /home/u/.ssh/agent.sock
0000000000000000: 00000003 00000000 00000000 0001 03 19
`;
const SOCK: Stat = { isDir: false, isFile: false, isSymlink: false, mode: 0o140777 };
const FILE: Stat = { isDir: false, isFile: true, isSymlink: false, mode: 0o100644 };
const host = {
  unixSockets: () => TABLE,
  realpath: (p: string) => (p === '/tmp/gone.sock' ? null : p.replace(/^\/var\/run\//, '/run/')),
  stat: (p: string) => (p === '/tmp/plain-file' ? FILE : SOCK),
} as unknown as Host;
const policy = (grants: Array<[string, 'ro' | 'rw']>, unix = false, unixPaths: string[] = []) =>
  ({ net: { unix, unixPaths }, grants: grants.map(([path, access]) => ({ path, access, isDir: true, source: { kind: 'flag' } })) }) as unknown as Policy;

describe('hostSockets', () => {
  it('lists the sockets under read-only grants once each, where they really are, and nothing else', () => {
    // In the order of the table's paths, sorted: the same whatever order
    // the kernel lists them in (kept plans compare the paths, trace.ts).
    expect(hostSockets(policy([['/', 'ro']]), host)).toEqual(['/home/u/.ssh/agent.sock', '/run/user/1000/bus', '/tmp/with space.sock', '/run/docker.sock']);
    expect(hostSockets(policy([['/run', 'ro'], ['/home/u', 'rw']]), host)).toEqual(['/run/user/1000/bus', '/run/docker.sock']);
    const reversed = { ...host, unixSockets: () => TABLE.split('\n').reverse().join('\n') } as unknown as Host;
    expect(hostSockets(policy([['/', 'ro']]), reversed)).toEqual(hostSockets(policy([['/', 'ro']]), host));
    expect(socketPaths(TABLE.split('\n').reverse().join('\n'))).toEqual(socketPaths(TABLE));
  });
  it('leaves out a socket granted itself (--ssh-agent allow), and all with --allow-unix', () => {
    const p = policy([['/home/u', 'ro'], ['/home/u/.ssh/agent.sock', 'ro']]);
    expect(hostSockets(p, host)).toEqual([]);
    expect(hostSockets(policy([['/', 'ro']], true), host)).toEqual([]);
  });
  it('leaves out a socket named by --allow-unix PATH, and only that one', () => {
    expect(hostSockets(policy([['/run', 'ro']], false, ['/run/docker.sock']), host)).toEqual(['/run/user/1000/bus']);
  });
  it('finds none on a host without the table', () => {
    expect(hostSockets(policy([['/', 'ro']]), { ...host, unixSockets: () => null } as unknown as Host)).toEqual([]);
  });
});
