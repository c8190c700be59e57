/*
 * The init's reports to the supervisor: one layout for the init in ns.c and
 * the exec'd helper in init.c, which is built without libc (stdint.h only).
 */
#ifndef JAIL_REPORT_H
#define JAIL_REPORT_H

#include <stdint.h>

/* What the init sends on the report socket (SOCK_SEQPACKET: a record is
 * one message): with the plan's sockets, first one SOCKETS record; then
 * one EXECED or FAILED record, then (after EXECED) one STATUS record,
 * after a STOPPED and CONTINUED record for each time the command stopped
 * and went on, when the supervisor asked for them (the CLI's, which stops
 * as the command did).
 * Strings are copied in: pointers mean nothing in another process. */
enum jail_report_kind {
	JAIL_REPORT_EXECED = 1, /* the command has exec'd */
	JAIL_REPORT_FAILED,     /* a step failed; nothing ran. value: errno */
	JAIL_REPORT_STATUS,     /* the command ended. value: its wait status */
	JAIL_REPORT_SOCKETS,    /* value: how many; the fds ride along (SCM_RIGHTS) */
	JAIL_REPORT_STOPPED,    /* the command stopped. value: the signal */
	JAIL_REPORT_CONTINUED,  /* the command was continued */
};

/* The helper's third argument: bit 0, PID 1 of its own PID namespace;
 * bit 1, report the command's stops. */
#define JAIL_INIT_OWN_PID_NS 1
#define JAIL_INIT_REPORT_STOPS 2

struct jail_report {
	int32_t kind;
	int32_t value;
	int32_t has_path;
	char step[32];
	char syscall[32];
	char path[4096 - 3 * 4 - 2 * 32]; /* a record is one page */
};

/* The fallback init's parent-death signal (the kernel's SIGRTMAX, 64, on
 * both architectures): its init is the subreaper that ends what the
 * command left running, so it must not be killed outright when the
 * supervisor goes (the command would die with it, and all it left would
 * live on, reparented beyond the jail). It takes this one instead, as it
 * takes any signal, and ends everything first (serve() in ns.c, init.c). */
#define SUPERVISOR_GONE 64

#endif
