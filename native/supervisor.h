/*
 * The supervisor: the parent that stays outside the jail. It starts the
 * command, waits for it, passes on signals sent to it, and dies as the
 * command did. No policy here either: what to run comes as a finished plan.
 */
#ifndef JAIL_SUPERVISOR_H
#define JAIL_SUPERVISOR_H

#include "jail.h"
#include "ns.h"

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

/* The signals (bit n: signal n) that reached this process since the last
 * jail_spawn began, passed on or not: what a caller that abandons a
 * command made ready (plan->go_fd) owes the user. */
int jail_signals_seen(void);

/* A per-child spawn, for the library: many may run at once, and nothing
 * of it is process-wide (no subreaper, no signal forwarding, no globals).
 * The caller gives the child's stdio and working directory and gets a pidfd
 * (CLONE_PIDFD) to poll: readable once the child has ended. */
struct jail_stdio {
	int fd[3];       /* become the child's 0, 1 and 2 (this process keeps its own) */
	const char *cwd; /* chdir there first, outside the namespace layer
			  * (which has plan->ns->cwd); NULL: stay */
	int pidfd;       /* out: the child's pidfd (O_CLOEXEC) */
};

struct jail_child {
	int pid;    /* its init's */
	int pidfd;
	int report; /* the init's report socket */
};

/* Start the command as jail_spawn does, dying with the calling thread, but
 * for one caller among many: the child is an init (ns.h). With plan->ns it
 * is PID 1 of the jail, and whatever the command leaves running ends with
 * it; without, it is the command's parent and a child subreaper, and ends
 * what the command left running before it reports (this process stays no
 * subreaper). Returns the init's pid once the command has execed, filling
 * *out, or -1 with err (the strings of a failure in the init point into
 * *last). fds: as for jail_spawn. */
int jail_spawn_child(struct jail_plan *plan, struct jail_stdio *io, int *fds, struct jail_report *last,
		     struct jail_child *out, struct jail_error *err);

/* jail_spawn_child in two halves, for a caller with something to check
 * while the command is made ready (the library's kept plan): begin hands
 * the plan to the warm init (warm.h), and the command waits, having run
 * nothing, until jail_spawn_child with the same plan, io and err lets it
 * go on and returns as ever; jail_spawn_child_cancel ends it instead.
 * Returns 1 when begun; 0 when there was no warm init to take (nothing was
 * done: jail_spawn_child does it all); -1 with err when it failed (nothing
 * ran). The main thread's only. */
int jail_spawn_child_begin(struct jail_plan *plan, struct jail_stdio *io, struct jail_error *err);
void jail_spawn_child_cancel(void);

/* Once child->pidfd is readable: reap it and close its descriptors.
 * Returns 1 with its wait status (in the namespace layer, the command's,
 * from the init's report; without one, the init's own), 0 when it has not
 * ended yet, -1 with errno when it cannot be reaped (another reaped it:
 * ECHILD; then its descriptors are closed too). */
int jail_child_reap(struct jail_child *child, int *status);

/* As the command's subreaper, once it has ended: SIGKILL every child of
 * this process and reap them, until there are none (those it orphans come
 * here in turn). Only syscalls (the fallback's init runs it). */
void jail_end_descendants(void);

/* Make fd[0..2] this process's 0, 1 and 2 (the child's steps, and the
 * namespace layer's init). */
int jail_move_stdio(const int fd[3], struct jail_error *err);

/* The command's process: a child that shares our memory until it execs
 * (CLONE_VM | CLONE_VFORK), runs jail_enter and dies with the calling
 * thread. Its pid once it has execed, or -1 with err (it is reaped). Used
 * by jail_spawn and by the namespace layer's init. */
int jail_start_command(struct jail_plan *plan, struct jail_error *err);

/* The stacks of the command's child (CLONE_VM) and of the namespace
 * layer's init, which with the helper holds the command's above its own. */
#define JAIL_CHILD_STACK (128 * 1024)
#define JAIL_INIT_STACK (256 * 1024)

/* The command of an init that execs the helper (ns.h). It shares this
 * process's memory until it execs, and runs on after the init has exec'd,
 * so all it uses lives in the supervisor's frame. */
struct jail_command {
	struct jail_plan *plan;
	struct jail_error *err; /* the supervisor's: a failed step is written there */
	char *stack;            /* the top of its stack (the supervisor's mmap) */
	int parent;             /* the init's pid */
	int gate[2];            /* the command waits for end of file on gate[0] */
	volatile int failed;    /* set when a step failed: nothing ran */
};

/* In the init: start the command as jail_start_command does, but without
 * waiting for its exec: it first waits for the init to exec (when
 * c->gate[1], left open here and close-on-exec, closes). Its pid, or -1
 * with c->err. */
int jail_start_gated(struct jail_command *c);

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

/* The TMPDIR's lock (rmtree.c): jail_lockdir opens the directory `path` and
 * takes a shared lock on it, returning the descriptor that holds it;
 * jail_dirlocked says whether a process holds one (1) or not (0). */
int jail_lockdir(const char *path, struct jail_error *err);
int jail_dirlocked(const char *path, struct jail_error *err);

#endif
