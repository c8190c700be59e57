/*
 * The namespace layer's processes. The supervisor (Node) forks an init in
 * new user, mount and PID namespaces; the init builds the view, starts the
 * command as PID 2 with the existing jail_enter steps, passes signals on,
 * reaps, and reports to the supervisor on a socket. When the init exits,
 * the kernel ends every process left in the namespace.
 */
#ifndef JAIL_NS_H
#define JAIL_NS_H

#include <limits.h>
#include <stdint.h>
#include "jail.h"

/* What the init sends on the report socket (SOCK_SEQPACKET: a record is
 * one message): with the plan's sockets, first one SOCKETS record; then
 * one EXECED or FAILED record, then (after EXECED) one STATUS record.
 * Strings are copied in: pointers mean nothing in another process. */
enum jail_report_kind {
	JAIL_REPORT_EXECED = 1, /* the command has exec'd */
	JAIL_REPORT_FAILED,     /* a step failed; nothing ran. value: errno */
	JAIL_REPORT_STATUS,     /* the command ended. value: its wait status */
	JAIL_REPORT_SOCKETS,    /* value: how many; the fds ride along (SCM_RIGHTS) */
};

struct jail_report {
	int32_t kind;
	int32_t value;
	int32_t has_path;
	char step[32];
	char syscall[32];
	char path[4096 - 3 * 4 - 2 * 32]; /* a record is one page */
};

struct jail_init_args {
	struct jail_plan *plan;
	int report; /* the init's end of the report socket pair */
	int peer;   /* the supervisor's end: closed in the init */
	const int *stdio; /* the command's 0, 1 and 2 (jail_spawn_child); NULL: as they are */
	const char *cwd;  /* without plan->ns: where the command starts; NULL: stay */
};

/* The init's body, for clone(2) without CLONE_VM: a copy of the caller,
 * which only makes syscalls (no allocation: other threads may have held
 * locks at the fork). Never returns. Without plan->ns (the library's
 * Landlock-only layer) it makes no namespace: it starts the command as a
 * child subreaper and ends what the command left running before it
 * reports the status. */
int jail_init_main(void *args);

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
