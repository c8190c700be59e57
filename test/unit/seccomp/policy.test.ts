/**
 * seccompRulesFor(policy, coverage): the network policy meets the filter.
 * What Landlock governs is a plain fact here, so every case is one row.
 */
import { describe, expect, it } from 'vitest';
import type { NetPolicy, Policy } from '../../../src/policy/model.js';
import { DEFAULT_RULES, seccompRulesFor, type LandlockCoverage } from '../../../src/seccomp/policy.js';
import { policyOf } from '../policy-fixture.js';

function policy(net: Partial<NetPolicy> = {}, over: Partial<Policy> = {}): Policy {
  return policyOf({ net: { ...policyOf().net, ...net }, ...over });
}

const NONE: LandlockCoverage = { tcp: false, unixPaths: false };
const TCP: LandlockCoverage = { tcp: true, unixPaths: false };
const ALL: LandlockCoverage = { tcp: true, unixPaths: true };
const port = (p: number) => ({ from: p, to: p });

describe('seccompRulesFor', () => {
  it('gives the default rules for a default policy where Landlock governs TCP', () => {
    expect(seccompRulesFor(policy(), TCP)).toEqual(DEFAULT_RULES);
    expect(seccompRulesFor(policy(), ALL)).toEqual(DEFAULT_RULES);
  });

  it.each([
    ['TCP by Landlock', TCP, 'tcp-only'],
    ['no Landlock TCP rules', NONE, 'none'],
  ] as const)('--net none, %s → inet %s', (_, coverage, inet) => {
    expect(seccompRulesFor(policy({ connect: [port(443)] }), coverage).inet).toBe(inet);
  });

  it('--net all allows any inet socket whatever Landlock governs', () => {
    for (const c of [NONE, TCP, ALL]) expect(seccompRulesFor(policy({ mode: 'all' }), c)).toMatchObject({ inet: 'all', udp: true, listen: true, unix: false });
  });

  it.each<[Partial<NetPolicy>, LandlockCoverage, boolean]>([
    [{ unixPaths: ['/run/x.sock'] }, ALL, true],
    [{ unixPaths: ['/run/x.sock'] }, TCP, false],
    [{ unixPaths: ['/run/x.sock'] }, NONE, false],
    [{ unix: true }, NONE, true],
    [{}, ALL, false],
  ])('unix for %j with %j → %s', (net, coverage, unix) => {
    expect(seccompRulesFor(policy(net), coverage).unix).toBe(unix);
  });

  it('maps the other switches straight through', () => {
    expect(seccompRulesFor(policy({ dns: true }), NONE)).toMatchObject({ inet: 'none', udp: true, listen: false });
    expect(seccompRulesFor(policy({ bind: [port(8080)] }), TCP)).toMatchObject({ listen: true });
    expect(seccompRulesFor(policy({ rawSockets: true }), TCP)).toMatchObject({ rawSockets: true });
    expect(seccompRulesFor(policy({}, { sysvIpc: true, allowSyscalls: ['ptrace'] }), TCP)).toMatchObject({ sysvIpc: true, allowSyscalls: ['ptrace'] });
  });
});
