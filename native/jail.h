/*
 * The native half of jail: a syscall shim. It takes a finished plan (paths
 * with access masks, ruleset attributes, a BPF program, argv and envp) and
 * performs fixed steps in a fixed order. It makes no policy decisions.
 */
#ifndef JAIL_H
#define JAIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel.h"
#include "observe.h"

struct jail_path_rule {
	const char *path; /* a realpath: no symlink in it */
	uint64_t access;
	/* What the TypeScript side saw when it checked the path; the object
	 * opened must be that one (else ESTALE). Unchecked when has_identity
	 * is 0. */
	int has_identity;
	uint64_t dev;
	uint64_t ino;
	/* Not a grant but an entry beside a hidden path: when it is gone
	 * (ENOENT), it is left out rather than the run refused. */
	int optional;
};

/* One entry of the namespace layer's view, applied in plan order. */
enum jail_view_kind {
	JAIL_VIEW_BIND,    /* the object at source (outside) appears at path */
	JAIL_VIEW_DIR,     /* a directory (made empty when missing) */
	JAIL_VIEW_SYMLINK, /* a symlink to target, unless something is there */
	JAIL_VIEW_PROC,    /* a procfs of the jail's PID namespace */
	JAIL_VIEW_DEVPTS,  /* a new devpts instance */
	JAIL_VIEW_TMPFS,   /* an empty tmpfs, mode 0555 */
	JAIL_VIEW_RULE,    /* only a Landlock rule, on the object at source
			    * outside, which a bind already shows at path */
	JAIL_VIEW_EMPTY,   /* an empty read-only file or directory (is_dir)
			    * over what is at path: a hidden path */
	JAIL_VIEW_OVERLAY, /* an overlayfs at path: the directory at path
			    * outside below, target/upper and target/work
			    * (outside) above */
};

struct jail_view_entry {
	enum jail_view_kind kind;
	const char *path;   /* absolute, in the view */
	const char *source; /* bind, rule: absolute, outside; NULL means path */
	const char *target; /* symlink; overlay: the directory holding upper/ and work/ */
	/* bind, rule: what the TypeScript side saw at the source (else ESTALE). */
	int has_identity;
	uint64_t dev;
	uint64_t ino;
	int read_only; /* bind */
	int device;    /* bind: device nodes stay usable (no nodev) */
	int is_dir;    /* empty: a directory, else a file */
	uint64_t access; /* Landlock rights on what is mounted (or on the
			  * directory); 0: no rule */
};

/* A socket the init makes in the jail's network namespace, bound (and
 * listening, for SOCK_STREAM), for the supervisor: a proxy outside that only
 * the jail can reach. */
struct jail_socket {
	int family;       /* AF_INET or AF_INET6 */
	int type;         /* SOCK_STREAM or SOCK_DGRAM */
	uint8_t addr[16]; /* network order; the first 4 for AF_INET */
	uint16_t port;
	const char *name; /* "tcp 127.0.0.1:8081", for errors */
};

/* As many as one SCM_RIGHTS message carries in the init's fixed buffer. */
#define JAIL_MAX_SOCKETS 16

/* The namespace layer: new user, mount and PID namespaces (and network,
 * with net), a view built from `view`, the command run by an init. */
struct jail_namespaces {
	uint32_t uid; /* outside ids, each mapped to itself */
	uint32_t gid;
	int net;         /* also a network namespace, with lo up */
	const char *cwd; /* in the view */
	const struct jail_view_entry *view;
	size_t n_view;
	const struct jail_socket *sockets; /* only with net */
	size_t n_sockets;                  /* at most JAIL_MAX_SOCKETS */
};

struct jail_port_rule {
	uint64_t port;
	uint64_t access;
};

struct jail_plan {
	/* The namespace layer; NULL for the Landlock-only layer. With it, the
	 * path rules come from the view's entries and `paths` is ignored. */
	const struct jail_namespaces *ns;

	/* Landlock: skipped when has_landlock is 0. */
	int has_landlock;
	struct jail_ruleset_attr attr;
	size_t attr_size; /* 8, 16 or 24: what the kernel's ABI accepts */
	const struct jail_path_rule *paths;
	size_t n_paths;
	const struct jail_port_rule *ports;
	size_t n_ports;
	uint32_t restrict_flags;

	/* seccomp: skipped when filter_len is 0 (struct sock_filter array). */
	const void *filter;
	size_t filter_len; /* in bytes, a multiple of 8 */

	/* --report-denials: a second filter whose listener goes to the
	 * supervisor (observe.h); NULL without it. spawn only. */
	struct jail_observer *observer;

	int drop_caps;       /* empty every capability set, bounding included */
	const int *keep_fds; /* passed on to the program, besides 0-2 */
	size_t n_keep_fds;

	const char *file; /* absolute path, already looked up */
	char *const *argv;
	char *const *envp;

	int ruleset_fd; /* set by jail_prepare */

	/* -1, or a pipe the command reads one byte from once it is confined,
	 * before its exec (jail_spawn only): 'g' and it execs; anything else,
	 * or end of file, and it ends having run nothing (ECANCELED). So a
	 * command can be made ready while the caller still checks that it
	 * may run. */
	int go_fd;

	/* -1, or a pipe read the same way before the command's file system is
	 * touched (jail_spawn only): 'v' and it goes on. In the namespace
	 * layer the init waits just before it builds the view, its namespaces
	 * made; in the Landlock-only layer jail_prepare waits before it opens
	 * the rules' paths. So the caller makes what the view shows (the
	 * private TMPDIR) while the namespaces are made. */
	int view_gate_fd;

	/* -1, or a pipe (a socket) the command reads 'r' from before it is
	 * confined by the ruleset (the namespace layer only): the caller adds
	 * the view's rule entries to the ruleset itself (jail_view_rules)
	 * while the init builds the rest of the view, which skips them, and
	 * starts the command. Anything else, or end of file, and it ends
	 * having run nothing (ECANCELED). */
	int rules_fd;
};

/* Where a step failed, shaped like Node's fs errors by the binding. */
struct jail_error {
	const char *step;
	const char *syscall;
	int code; /* errno */
	const char *path;
};

#ifndef __cplusplus
/* For the .c files: record where a step failed (errno) and return -1. */
#define FAIL(e, st, sc, p)                                                     \
	do {                                                                   \
		(e)->step = (st);                                              \
		(e)->syscall = (sc);                                           \
		(e)->code = errno;                                             \
		(e)->path = (p);                                               \
		return -1;                                                     \
	} while (0)

/* The same as a function, for code that cleans up before it returns. */
static inline int jail_fail(struct jail_error *e, const char *step, const char *sc, const char *path)
{
	e->step = step;
	e->syscall = sc;
	e->code = errno;
	e->path = path;
	return -1;
}

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Kernel facts. landlock_abi is 0 when Landlock is absent; then
 * landlock_errno says why (ENOSYS: not built, EOPNOTSUPP: disabled). */
struct jail_facts {
	int landlock_abi;
	int landlock_errno;
	int landlock_errata;
	int seccomp; /* 1 when seccomp filters are available */
	int no_new_privs;
};

void jail_probe(struct jail_facts *out);

/* Open `path` as O_PATH following no symlink anywhere in it (ELOOP); with
 * has_identity, refuse another object than dev/ino (ESTALE). `proc` is
 * where procfs is mounted, for kernels (or outer filters) without
 * openat2. With `st`, the object's fstat lands there. Returns the fd, or
 * -1 with errno and *sc the syscall. */
struct stat;
int jail_open_checked(const char *path, int has_identity, uint64_t dev,
		      uint64_t ino, const char *proc, struct stat *st, const char **sc);

/* Steps that may run before a fork: open paths, build the ruleset. */
int jail_prepare(struct jail_plan *plan, struct jail_error *err);

/* Steps that confine the calling thread and exec. Returns only on failure. */
int jail_enter(struct jail_plan *plan, struct jail_error *err);

/* Release what jail_prepare holds, when jail_enter was not reached. */
void jail_release(struct jail_plan *plan);

/* One byte from `fd` (go_fd, view_gate_fd): 0 when it is `word` (or fd is
 * -1); else, another byte or end of file, -1 with ECANCELED in err. */
int jail_await(int fd, char word, struct jail_error *err);

#endif
