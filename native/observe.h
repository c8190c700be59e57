/*
 * The observer behind --report-denials: a second seccomp filter, from the
 * plan, sends the path syscalls it names to the supervisor (user
 * notification); a thread here reads each call's facts and lets it go on
 * as it was (SECCOMP_USER_NOTIF_FLAG_CONTINUE). It decides nothing:
 * Landlock and the view enforce, and TypeScript judges the records after
 * the run.
 */
#ifndef JAIL_OBSERVE_H
#define JAIL_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

/* Which arguments of a syscall to read: up to two (dirfd, path) pairs;
 * path -1 means none, dirfd -1 means relative to the cwd. With deref >= 0,
 * args[deref] points at a u64 that replaces it in the record (openat2's
 * open_how.flags). Syscall numbers come from the plan: no table here. */
struct jail_observe_call {
	int nr;
	int8_t path[2];
	int8_t dirfd[2];
	int8_t deref;
};

struct jail_observer {
	const void *filter; /* struct sock_filter[] */
	size_t filter_len;  /* in bytes */
	const struct jail_observe_call *calls;
	size_t n_calls;
	int sock; /* the command sends its listener here (jail_observe_start) */
};

/* The bounds on what is kept between two takes; beyond them a call is let
 * through unread and only counted. */
#define JAIL_OBSERVE_MAX_CALLS 100000
#define JAIL_OBSERVE_MAX_SYSCALLS 32 /* entries in the plan's table */
#define JAIL_OBSERVE_MAX_BYTES (32u << 20)

/* One record as jail_observe_take lays them out, each followed by its
 * strings (len[i] bytes, no NUL): path, base, path2, base2. base is the
 * directory a relative path starts from, as /proc shows the caller's dirfd
 * or cwd ("" when the path is absolute or that could not be read). */
struct jail_observed {
	int32_t nr;
	uint32_t pid;
	uint64_t args[6];
	uint16_t len[4];
};

/* Start the thread and make the socket the command sends its listener on
 * (obs->sock, the end the command uses). -1 with errno. */
int jail_observe_start(struct jail_observer *obs);

/* After the clone: close this process's copy of the command's end, so that
 * the thread sees end of file when no listener comes. */
void jail_observe_spawned(struct jail_observer *obs);

/* In the command, before exec: install the filter with a listener, send it
 * over obs->sock and close both. -1 with errno and *sc. */
int jail_observe_install(struct jail_observer *obs, const char **sc);

/* Stop the thread (every jailed process has ended, or none started). */
void jail_observe_stop(void);

/* Hand over what was recorded (malloc'd; the caller frees it), how many
 * records, and how many calls went unrecorded; starts afresh. */
char *jail_observe_take(size_t *bytes, size_t *n, uint64_t *dropped);

#endif
