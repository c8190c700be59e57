/**
 * --ssh-agent: what SSH_AUTH_SOCK leads to inside. Pure: the policy, the
 * options, the invoking environment and the private TMPDIR in; the policy
 * and the command's environment out.
 *
 * - deny (the default): no agent; the environment filter drops
 *   SSH_AUTH_SOCK.
 * - confirm: the supervisor listens on `$TMPDIR/ssh-agent.sock`
 *   (src/sshagent) and asks the user before each signature; the real
 *   agent is never in the command's reach: the namespace layer covers its
 *   socket under any grant, a writable one included (namespace/view.ts);
 *   in the fallback layer below Landlock ABI 9 it takes an
 *   acknowledgement (plan.ts).
 * - allow: the real agent's socket, granted (the namespace layer binds it
 *   into the view), and SSH_AUTH_SOCK kept: a warning says what that means.
 */
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import type { Host } from './host.js';
import type { Policy, SshAgent } from './model.js';
import type { JailOptions } from './options.js';
import { grantOf, resolveReal } from './paths.js';

/** The name of jail's agent socket in the private TMPDIR. */
export const AGENT_SOCKET = 'ssh-agent.sock';

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;

export interface WithSshAgent {
  policy: Policy;
  /** What to tell the user before the command runs. */
  warnings: string[];
}

export function withSshAgent(
  policy: Policy,
  options: Pick<JailOptions, 'sshAgent'>,
  env: Record<string, string>,
  invoking: Record<string, string | undefined>,
  tmpDir: string | null,
  host: Host,
): WithSshAgent {
  const mode = options.sshAgent ?? 'deny';
  // deny leaves the environment as the filter made it (SSH_AUTH_SOCK is
  // dropped unless --env or --env-all pass it on); otherwise this decides.
  if (mode === 'deny') return { policy, warnings: [] };
  delete env.SSH_AUTH_SOCK;
  const flag = `--ssh-agent ${mode}`;
  const given = invoking.SSH_AUTH_SOCK;
  if (!given) {
    return { policy, warnings: [`${flag}: SSH_AUTH_SOCK is not set, so there is no agent to pass on; the command runs without one.\n  hint: start one (eval "$(ssh-agent)"; ssh-add) before jail.`] };
  }
  const r = given.startsWith('/') ? resolveReal(given, host) : null;
  if (r === null || (r.st.mode & S_IFMT) !== S_IFSOCK) {
    return { policy, warnings: [`${flag}: SSH_AUTH_SOCK=${printable(given)} is not a UNIX socket here, so there is no agent to pass on; the command runs without one.`] };
  }
  if (mode === 'allow') {
    const agent: SshAgent = { mode, socket: r.real, upstream: r.real };
    env.SSH_AUTH_SOCK = r.real;
    return {
      policy: { ...policy, sshAgent: agent, grants: [...policy.grants, grantOf(r, 'ro', { kind: 'flag', flag: '--ssh-agent', given: 'allow' })] },
      warnings: [
        `--ssh-agent allow: the command uses your SSH agent unasked: it can sign as you with every key in it (log in to your servers, push to your repositories, sign commits) while it runs.\n` +
          '  hint: --ssh-agent confirm asks you before each signature.',
      ],
    };
  }
  if (tmpDir === null) {
    throw new PolicyError(`${flag} needs the private TMPDIR, where jail's agent socket lives, and --no-private-tmp turns it off.`, 'drop --no-private-tmp, or choose --ssh-agent allow or deny.');
  }
  const socket = `${tmpDir}/${AGENT_SOCKET}`;
  env.SSH_AUTH_SOCK = socket;
  const id = r.st.dev !== undefined && r.st.ino !== undefined ? { dev: r.st.dev, ino: r.st.ino } : {};
  return { policy: { ...policy, sshAgent: { mode, socket, upstream: r.real, ...id } }, warnings: [] };
}
