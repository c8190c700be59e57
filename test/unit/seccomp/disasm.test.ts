import { describe, expect, it } from 'vitest';
import { Assembler, SeccompData } from '../../../src/seccomp/asm.js';
import { aarch64, syscallName, x86_64 } from '../../../src/seccomp/arch/index.js';
import { compileSeccomp } from '../../../src/seccomp/compile.js';
import { AUDIT_ARCH_X86_64, EPERM, SECCOMP_RET_ERRNO } from '../../../src/seccomp/consts.js';
import { disasm, fieldName, formatRet } from '../../../src/seccomp/disasm.js';
import { DEFAULT_RULES, OPEN_RULES } from './helpers.js';

describe('disasm', () => {
  it('prints absolute targets, field names, actions and label headers', () => {
    const a = new Assembler();
    a.ld(SeccompData.arch);
    a.jeq(AUDIT_ARCH_X86_64, { else: 'kill' });
    a.ld(SeccompData.nr);
    a.jeq(41, { then: 'socket' });
    a.jge(0x1000, { then: 'deny', else: 'allow' }, 'large');
    a.label('socket').ld(SeccompData.argLo(1), 'type').and(0xfff7f7ff).ja('allow');
    a.label('allow').ret(0x7fff0000);
    a.label('deny').ret(SECCOMP_RET_ERRNO | EPERM);
    a.label('kill').ret(0x80000000);
    expect(disasm(a.assemble(), { syscallName: (nr) => syscallName(x86_64, nr) })).toBe(
      [
        '  0: ld   [arch]',
        '  1: jeq  #0xc000003e      → 2 else 10 <kill>',
        '  2: ld   [nr]',
        '  3: jeq  #41              → 5 <socket> else 4           ; socket',
        '  4: jge  #0x1000          → 9 <deny> else 8 <allow>     ; large',
        'socket:',
        '  5: ld   [args[1].lo]                                   ; type',
        '  6: and  #0xfff7f7ff',
        '  7: ja   → 8 <allow>',
        'allow:',
        '  8: ret  ALLOW',
        'deny:',
        '  9: ret  ERRNO(EPERM)',
        'kill:',
        ' 10: ret  KILL_PROCESS',
        '',
      ].join('\n'),
    );
  });

  it('names syscalls only where the accumulator holds nr on every path', () => {
    const a = new Assembler();
    a.ld(SeccompData.nr).jeq(0, { then: 'args' }).jeq(41, { then: 'out' });
    a.label('args').ld(SeccompData.argLo(0)).jeq(41, { then: 'out' });
    a.label('out').ret(0);
    const text = disasm(a.assemble(), { syscallName: (nr) => syscallName(x86_64, nr) });
    expect(text).toMatch(/2: jeq {2}#41 +→ 5 <out> else 3 <args> +; socket$/m);
    expect(text).toMatch(/4: jeq {2}#41 +→ 5 <out> else 5 <out>$/m);
  });

  it('spells out seccomp_data fields and return actions', () => {
    expect([0, 4, 8, 12, 16, 20, 56, 60].map(fieldName)).toEqual([
      'nr',
      'arch',
      'instruction_pointer.lo',
      'instruction_pointer.hi',
      'args[0].lo',
      'args[0].hi',
      'args[5].lo',
      'args[5].hi',
    ]);
    expect([0x7fff0000, 0x80000000, 0, 0x00050001, 0x00050026, 0x000500ff, 0x00030000, 0x7ffc0000, 0x7ff00002, 0x7fc00000].map(formatRet)).toEqual([
      'ALLOW',
      'KILL_PROCESS',
      'KILL_THREAD',
      'ERRNO(EPERM)',
      'ERRNO(ENOSYS)',
      'ERRNO(255)',
      'TRAP(0)',
      'LOG',
      'TRACE(2)',
      'USER_NOTIF',
    ]);
  });
});

// Goldens: reviewed like code. Regenerate with `npx vitest run -u test/unit/seccomp`.
describe('golden listings', () => {
  const names = (arch: typeof x86_64) => ({ syscallName: (nr: number) => syscallName(arch, nr) });

  it('x86_64, default rules', async () => {
    await expect(disasm(compileSeccomp(DEFAULT_RULES, x86_64), names(x86_64))).toMatchFileSnapshot('golden/x86_64/default.txt');
  });

  it('aarch64, default rules', async () => {
    await expect(disasm(compileSeccomp(DEFAULT_RULES, aarch64), names(aarch64))).toMatchFileSnapshot('golden/aarch64/default.txt');
  });

  it('x86_64, everything open', async () => {
    await expect(disasm(compileSeccomp(OPEN_RULES, x86_64), names(x86_64))).toMatchFileSnapshot('golden/x86_64/open.txt');
  });
});
