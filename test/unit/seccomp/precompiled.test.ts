import { describe, expect, it } from 'vitest';
import { ARCHES } from '../../../src/seccomp/arch/index.js';
import { compileSeccomp } from '../../../src/seccomp/compile.js';
import { disasm } from '../../../src/seccomp/disasm.js';
import { compileSeccompFor, DEFAULT_RULES } from '../../../src/seccomp/policy.js';
import { PRECOMPILED } from '../../../src/seccomp/precompiled.js';

describe('the precompiled default filter', () => {
  it.each(ARCHES.map((a) => [a.name, a] as const))('%s matches the compiler (else: node tools/gen-precompiled.mjs)', (name, arch) => {
    const fresh = compileSeccomp(DEFAULT_RULES, arch);
    expect(Buffer.from(fresh.bytes).toString('base64')).toBe(PRECOMPILED[name]);
  });
  it('is what compileSeccompFor gives for the default rules, listing included; other rules are compiled', () => {
    const ready = compileSeccompFor({ ...DEFAULT_RULES, allowSyscalls: [] }, 'x64');
    const fresh = compileSeccomp(DEFAULT_RULES, ARCHES[0]!);
    expect(ready.bytes).toEqual(fresh.bytes);
    expect(disasm(ready.program)).toBe(disasm(fresh.program));
    expect(ready.rules).toEqual(fresh.rules);
    const udp = compileSeccompFor({ ...DEFAULT_RULES, udp: true }, 'x64');
    expect(udp.bytes).not.toEqual(fresh.bytes);
  });
});
