/*
 * The namespace layer's processes. The supervisor (Node) starts an init in
 * new user, mount and PID namespaces (a vfork that execs the helper in
 * init.c once the command is started, or a fork where the helper cannot
 * run: ns.c); the init builds the view, starts the
 * command as PID 2 with the existing jail_enter steps, passes signals on,
 * reaps, and reports to the supervisor on a socket. When the init exits,
 * the kernel ends every process left in the namespace.
 */
#ifndef JAIL_NS_H
#define JAIL_NS_H

#include <limits.h>
#include <stdint.h>
#include "jail.h"

#include "report.h"

struct jail_command;

struct jail_init_args {
	struct jail_plan *plan;
	int report; /* the init's end of the report socket pair */
	int peer;   /* the supervisor's end: closed in the init */
	const int *stdio; /* the command's 0, 1 and 2 (jail_spawn_child); NULL: as they are */
	const char *cwd;  /* without plan->ns: where the command starts; NULL: stay */
	/* Set when the init shares the supervisor's memory (CLONE_VM |
	 * CLONE_VFORK) and execs the helper once the command is started;
	 * NULL when it is a fork that serves the command itself. */
	struct jail_command *command;
	int helper; /* the helper's memfd (jail_init_helper) */
	int stops;  /* report the command's stops (JAIL_REPORT_STOPPED) */
	/* A warm init's (jail_warm_init_main): its end of the socket it is
	 * woken on, and what it makes before it is: ids and network. */
	int wake;
	uint32_t warm_uid, warm_gid;
	int warm_net;
	int umask; /* the supervisor's at the spawn, for a warm init */
};

/* The helper's sealed memfd (init.c), made once; -1 when there is none
 * for this architecture or it cannot be exec'd here (then the init is a
 * fork of this process, as before). For tests, read once from the
 * environment: JAIL_TEST_FORK_INIT forces -1, so that both paths stay
 * tested; JAIL_TEST_INIT_EXEC_FAILS gives an fd whose exec fails. */
int jail_init_helper(void);

/* The init's body, for clone(2): with args->command, CLONE_VM | CLONE_VFORK
 * (it shares the caller's memory, so it changes nothing there that is the
 * process's: not its dumpable flag, not its argv), else without CLONE_VM (a
 * copy of the caller). Either way it only makes syscalls (no allocation:
 * other threads may hold locks). Never returns. Without plan->ns (the library's
 * Landlock-only layer) it makes no namespace: it starts the command as a
 * child subreaper and ends what the command left running before it
 * reports the status. */
int jail_init_main(void *args);

/* A warm init (supervisor.c): cloned with CLONE_VM | CLONE_FILES and the
 * layer's namespaces (CLONE_NEWNET when warm_net) before the spawn that
 * will take it, by a thread that stays blocked until it is done with the
 * memory. It maps its ids, brings up the loopback, and waits on
 * args->wake. A 'w' there: the rest of *args is filled in (plan, stdio,
 * command; plan->ns with the same ids and network); it takes its own copy
 * of the descriptor table, answers 'a', and goes on as jail_init_main
 * (with the helper). Anything else, or the socket's end: it exits 0. */
int jail_warm_init_main(void *args);

/* Whether this process may create the layer's namespaces: a real attempt
 * in a short-lived child (user, mount and PID namespaces, its own id maps,
 * a one-entry view with a fresh procfs). When not, code is the errno and
 * step says which part was refused ("clone", "uid_map", "mount", ...). */
struct jail_ns_facts {
	int ok;
	int code;
	const char *step;
};

void jail_probe_namespaces(struct jail_ns_facts *out);

#endif
