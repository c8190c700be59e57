/** What the prompt says, and how answers are read. */
import { describe, expect, it } from 'vitest';
import { DialogAsker, dialogAnswer, dialogArgs, parseAnswer, promptText, question } from '../../../src/sshagent/prompt.js';
import { fingerprint, recognise, sshString } from '../../../src/sshagent/protocol.js';

const key = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 7))]);
const host = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 9))]);
const sshsig = (ns: string) => Buffer.concat([Buffer.from('SSHSIG'), sshString(ns), sshString(''), sshString('sha512'), sshString(Buffer.alloc(64))]);
const login = Buffer.concat([sshString(Buffer.alloc(32, 5)), Buffer.from([50]), sshString('git'), sshString('ssh-connection'), sshString('publickey'), Buffer.from([1]), sshString('ssh-ed25519'), sshString(key)]);

describe('question()', () => {
  it('a namespace or user name of thousands of characters is cut, so the key line stays on the screen', () => {
    const q = question(key, 'me', recognise(sshsig('g'.repeat(5000))), null);
    expect(q.lines[1]).toBe(`what:  a signature (ssh-keygen -Y sign) in namespace "${'g'.repeat(100)}… (5000 characters)"`);
    expect(promptText(q, 1000).length).toBeLessThan(1000);
  });

  it('a git signature: the key, the namespace; "always" covers this key and namespace', () => {
    const q = question(key, 'me@laptop', recognise(sshsig('git')), null);
    expect(q.lines[0]).toBe(`key:   ED25519 ${fingerprint(key)} me@laptop`);
    expect(q.lines[1]).toContain('namespace "git" (git: a commit or a tag)');
    expect([q.scope, q.always]).toEqual(['sshsig git', 'this key, namespace "git"']);
  });
  it('a login: the user and the host key session-bind told; without a host key, only once', () => {
    const q = question(key, undefined, recognise(login), host);
    expect(q.lines.join('\n')).toContain('an SSH login as "git" (service ssh-connection)');
    expect(q.lines.join('\n')).toContain(`host key is ED25519 ${fingerprint(host)}`);
    expect(q.scope).toBe(`login ${fingerprint(host)}`);
    const unbound = question(key, undefined, recognise(login), null);
    expect([unbound.scope, unbound.always]).toEqual([null, null]);
    expect(promptText(unbound, 60_000)).not.toContain('[a]');
  });
  it('unrecognised data: its hash, only once; names from the request are escaped', () => {
    const q = question(key, undefined, recognise(Buffer.from('blob')), null);
    expect(q.lines[1]).toMatch(/4 bytes of data jail does not recognise, SHA256:/);
    expect(q.always).toBeNull();
    expect(question(key, undefined, recognise(sshsig('g\x1b]0;x\x07')), null).lines.join('')).not.toMatch(/[\x1b\x07]/);
  });
});

describe('answers', () => {
  it('y or yes allows once, a always (when offered), anything else denies', () => {
    expect(['y', 'Y\r', ' yes ', 'a', 'always', '', 'n', 'yy', 'ja'].map((l) => parseAnswer(l, true))).toEqual(['once', 'once', 'once', 'always', 'always', 'deny', 'deny', 'deny', 'deny']);
    expect(parseAnswer('a', false)).toBe('deny');
  });
  it('desktop dialogs: only from /usr/bin, only in a desktop session; their exit codes', () => {
    expect(DialogAsker.find({}, () => true)).toEqual({ why: 'no desktop session (DISPLAY, WAYLAND_DISPLAY)' });
    expect('why' in DialogAsker.find({ DISPLAY: ':0' }, () => false)).toBe(true);
    expect('why' in DialogAsker.find({ WAYLAND_DISPLAY: 'wayland-0' }, (p) => p === '/usr/bin/kdialog')).toBe(false);
    expect(dialogArgs('/usr/bin/zenity', 't', 'this key', 60)).toEqual(expect.arrayContaining(['--question', '--timeout', '60', '--extra-button', 'Allow always']));
    expect(dialogArgs('/usr/bin/kdialog', 't', null, 60)).toContain('--yesno');
    expect([dialogAnswer('/usr/bin/zenity', 0, '', true), dialogAnswer('/usr/bin/zenity', 1, 'Allow always\n', true), dialogAnswer('/usr/bin/zenity', 1, '', true), dialogAnswer('/usr/bin/zenity', 1, 'Allow always\n', false)]).toEqual(['once', 'always', 'deny', 'deny']);
    expect([dialogAnswer('/usr/bin/kdialog', 0, '', true), dialogAnswer('/usr/bin/kdialog', 1, '', true), dialogAnswer('/usr/bin/kdialog', 2, '', true), dialogAnswer('/usr/bin/kdialog', 1, '', false)]).toEqual(['once', 'always', 'deny', 'deny']);
  });
});
