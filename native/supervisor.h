/*
 * The supervisor: the parent that stays outside the jail. It starts the
 * command, waits for it, passes on signals sent to it, and dies as the
 * command did. No policy here either: what to run comes as a finished plan.
 */
#ifndef JAIL_SUPERVISOR_H
#define JAIL_SUPERVISOR_H

#include "jail.h"

/* Start a child that runs jail_enter and execs, and dies with this process
 * (SIGKILL when the calling thread ends). Returns the child's pid once it
 * has execed, or -1 with err filled in when a step (or the exec) failed in
 * it. This process must have no other child (else EBUSY): from here until
 * jail_supervise returns it is a child subreaper, and every child it has
 * then is ended.
 *
 * With plan->ns (the namespace layer) the child is the jail's init (ns.h),
 * which builds the view and starts the command as PID 2; the pid returned
 * is the init's, once the command has execed, and err is what failed in
 * the init or the command. The init makes plan->ns->sockets in the jail's
 * network namespace; this process's copies (O_CLOEXEC) land in fds, room
 * for n_sockets, in plan order, and are this process's to close. Until
 * jail_supervise has returned, another jail_spawn fails with EBUSY. */
int jail_spawn(struct jail_plan *plan, int *fds, struct jail_error *err);

/* The command's process: a child that shares our memory until it execs
 * (CLONE_VM | CLONE_VFORK), runs jail_enter and dies with the calling
 * thread. Its pid once it has execed, or -1 with err (it is reaped). Used
 * by jail_spawn and by the namespace layer's init. */
int jail_start_command(struct jail_plan *plan, struct jail_error *err);

/* Wait for the child as its supervisor, on any thread of this process
 * (see superviseAsync in binding.cc). From jail_spawn on, signals sent to
 * this process by another (kill; not the terminal's, which reach the
 * child's process group directly) are passed on to the child. When it has
 * ended, SIGKILL everything it left running (every descendant, whatever its
 * session) and reap it all. Returns the child's own wait status (in the
 * namespace layer, the command's, which the init reports), and puts back
 * the signal dispositions jail_spawn replaced. */
int jail_supervise(int pid);

/* Die of `sig` as the command did (default disposition, unblocked), dumping
 * no core. Returns only for a signal whose default is to ignore it. */
void jail_reraise(int sig);

/* Remove the directory tree at `path` (an absolute path) without following
 * a symlink in it, however deep it is, making directories 0700 where that
 * is what stops it, and staying on the file system `path` is on. */
int jail_rmtree(const char *path, struct jail_error *err);

#endif
