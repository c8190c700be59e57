/** --ssh-agent in each layer: the fallback's rule (plan.ts) and the lines
 *  --print-policy prints. */
import { describe, expect, it } from 'vitest';
import { describeSshAgent } from '../../../src/cli/report.js';
import { UnsupportedKernelError } from '../../../src/errors.js';
import { compile, sshAgentUnixPaths } from '../../../src/plan.js';
import type { KernelFacts } from '../../../src/policy/model.js';
import { policyOf } from '../policy-fixture.js';
import { x86_64 } from '../../../src/seccomp/arch/index.js';
import { AF_UNIX, SOCK_STREAM } from '../../../src/seccomp/consts.js';
import { ALLOW, interp } from '../../../src/seccomp/interp.js';
import type { JailPlan } from '../../../src/plan.js';
import { call } from '../seccomp/helpers.js';

/** Whether the plan's filter lets socket(AF_UNIX) through. */
const unixAllowed = (plan: JailPlan) => interp(plan.seccomp!, call(x86_64, 'socket', AF_UNIX, SOCK_STREAM, 0)) === ALLOW;

const facts = (abi: number, ns: boolean): KernelFacts => ({ landlockAbi: abi, seccomp: true, arch: 'x64', namespaces: { ok: ns, ...(!ns && { why: 'test' }) } });
const confirm = { mode: 'confirm' as const, socket: '/tmp/jail-1-x/ssh-agent.sock', upstream: '/tmp/ssh-a/agent.1' };

describe('--ssh-agent confirm across layers', () => {
  it('the namespace layer needs nothing more: the real socket is not in the view, UNIX sockets are allowed', () => {
    const plan = compile(policyOf({ sshAgent: confirm }), facts(7, true));
    expect(plan.layer).toBe('namespaces');
    expect(unixAllowed(plan)).toBe(true);
    expect(plan.view!.entries.some((e) => e.path.startsWith('/tmp/ssh-a'))).toBe(false);
    expect(describeSshAgent(plan, policyOf({ sshAgent: confirm })).join('\n')).toContain("the real agent's socket is not in the view");
  });
  it('the fallback below ABI 9 refuses, naming the feature and the ways out', () => {
    let e: unknown;
    try {
      compile(policyOf({ sshAgent: confirm }), facts(7, false));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(UnsupportedKernelError);
    expect((e as UnsupportedKernelError).abiNeeded).toBe(9);
    expect((e as Error).message).toContain('/tmp/ssh-a/agent.1');
    expect((e as UnsupportedKernelError).hint).toContain('--allow-unix');
  });
  it('--allow-unix is the acknowledgement, and --print-policy says what it opens', () => {
    const p = policyOf({ sshAgent: confirm, net: { ...policyOf().net, unix: true } });
    const plan = compile(p, facts(7, false));
    expect(unixAllowed(plan)).toBe(true);
    expect(describeSshAgent(plan, p).join('\n')).toContain("WARNING: --allow-unix opens every UNIX socket the file system reaches, the real agent's (/tmp/ssh-a/agent.1) included");
  });
  it('from ABI 9 the fallback allows this one socket through a Landlock rule', () => {
    expect(sshAgentUnixPaths(policyOf({ sshAgent: confirm }), 'landlock', facts(9, false))).toEqual([confirm.socket]);
    const plan = compile(policyOf({ sshAgent: confirm }), facts(9, false));
    expect(plan.landlock!.paths.find((r) => r.path === confirm.socket)).toBeDefined();
    expect(unixAllowed(plan)).toBe(true);
  });
  it('deny prints one line; allow warns', () => {
    const plan = compile(policyOf(), facts(7, true));
    expect(describeSshAgent(plan, policyOf())).toEqual(['ssh agent: none (--ssh-agent deny): no agent inside']);
    const allow = { mode: 'allow' as const, socket: '/tmp/ssh-a/agent.1', upstream: '/tmp/ssh-a/agent.1' };
    expect(describeSshAgent(plan, policyOf({ sshAgent: allow }))[0]).toMatch(/^ssh agent: allow: WARNING/);
  });
});
