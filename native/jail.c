/*
 * The apply plan is two ordered tables of steps. jail_prepare runs what may
 * happen before a fork (it needs the file system as it is outside the jail);
 * jail_enter runs, in the process that becomes the command, what confines it.
 * A new step (a private mount namespace, say) is one more row in a table.
 */
#define _GNU_SOURCE
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <limits.h>
#include <linux/filter.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct step {
	const char *name;
	int (*run)(struct jail_plan *plan, struct jail_error *err);
};

void jail_probe(struct jail_facts *out)
{
	long abi;

	memset(out, 0, sizeof(*out));
	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
		      JAIL_LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		out->landlock_errno = errno;
	} else {
		out->landlock_abi = (int)abi;
		abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
			      JAIL_LANDLOCK_CREATE_RULESET_ERRATA);
		out->landlock_errata = abi < 0 ? 0 : (int)abi;
	}
	/* PR_GET_SECCOMP fails with EINVAL when seccomp is not built in. */
	out->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	out->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
}

/* ---- before the fork ---------------------------------------------------- */

/* For kernels before openat2 (Linux 5.6), or under an outer seccomp filter
 * that refuses it. O_NOFOLLOW alone is not enough: it follows symlinks
 * before the last component, and with O_PATH opens a last one as itself.
 * So the kernel must also say which object it opened (its path in
 * <proc>/self/fd) and what kind. */
static int open_nofollow(const char *path, const char *proc, const char **sc)
{
	char link[64], digits[12], seen[PATH_MAX];
	struct stat st;
	size_t len = strlen(proc), k = 0;
	ssize_t n;
	int fd, saved, v;

	*sc = "open";
	if (len + sizeof("/self/fd/") + sizeof(digits) > sizeof(link)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* <proc>/self/fd/<fd>, without stdio: this may run in a forked copy
	 * of a multithreaded process. */
	memcpy(link, proc, len);
	memcpy(link + len, "/self/fd/", sizeof("/self/fd/"));
	len += sizeof("/self/fd/") - 1;
	for (v = fd; k == 0 || v > 0; v /= 10)
		digits[k++] = (char)('0' + v % 10);
	while (k > 0)
		link[len++] = digits[--k];
	link[len] = '\0';
	n = readlink(link, seen, sizeof(seen));
	if (n < 0 || fstat(fd, &st) < 0) {
		saved = errno;
		*sc = n < 0 ? "readlink" : "fstat";
		close(fd);
		errno = saved;
		return -1;
	}
	if ((size_t)n != strlen(path) || memcmp(seen, path, (size_t)n) != 0 || S_ISLNK(st.st_mode)) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

int jail_open_checked(const char *path, int has_identity, uint64_t dev,
		      uint64_t ino, const char *proc, struct stat *out, const char **sc)
{
	struct jail_open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = JAIL_RESOLVE_NO_SYMLINKS | JAIL_RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd, saved;

	*sc = "openat2";
	fd = (int)syscall(__NR_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_nofollow(path, proc, sc);
	if (fd < 0 || (!has_identity && !out))
		return fd;
	if (!out)
		out = &st;
	if (fstat(fd, out) == 0) {
		if (!has_identity || ((uint64_t)out->st_dev == dev && (uint64_t)out->st_ino == ino))
			return fd;
		errno = ESTALE;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Open a rule's path refusing a symlink anywhere in it (ELOOP), and, when
 * the plan says what the path was when it was checked, anything else
 * (ESTALE): the object granted is the object checked. */
static int open_checked(const struct jail_path_rule *r, struct jail_error *err)
{
	const char *sc;
	int fd = jail_open_checked(r->path, r->has_identity, r->dev, r->ino, "/proc", NULL, &sc);

	if (fd < 0)
		FAIL(err, "landlock-ruleset", sc, r->path);
	return fd;
}

static int step_ruleset(struct jail_plan *plan, struct jail_error *err)
{
	size_t i;

	if (!plan->has_landlock)
		return 0;
	plan->ruleset_fd = (int)syscall(__NR_landlock_create_ruleset,
					&plan->attr, plan->attr_size, 0);
	if (plan->ruleset_fd < 0)
		FAIL(err, "landlock-ruleset", "landlock_create_ruleset", NULL);

	/* In the namespace layer each view entry brings its rule, on the
	 * object it mounts (view.c); `paths` is not used. */
	for (i = 0; plan->ns == NULL && i < plan->n_paths; i++) {
		const struct jail_path_rule *r = &plan->paths[i];
		struct jail_path_beneath_attr attr = {
			.allowed_access = r->access,
			.parent_fd = open_checked(r, err),
		};
		int rc, saved;

		if (attr.parent_fd < 0 && r->optional && errno == ENOENT)
			continue;
		if (attr.parent_fd < 0)
			return -1;
		rc = (int)syscall(__NR_landlock_add_rule, plan->ruleset_fd,
				  JAIL_LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
		saved = errno;
		close(attr.parent_fd);
		errno = saved;
		if (rc < 0)
			FAIL(err, "landlock-ruleset", "landlock_add_rule",
			     r->path);
	}
	for (i = 0; i < plan->n_ports; i++) {
		struct jail_net_port_attr attr = {
			.allowed_access = plan->ports[i].access,
			.port = plan->ports[i].port,
		};
		if (syscall(__NR_landlock_add_rule, plan->ruleset_fd,
			    JAIL_LANDLOCK_RULE_NET_PORT, &attr, 0) < 0)
			FAIL(err, "landlock-ruleset", "landlock_add_rule", NULL);
	}
	return 0;
}

/* The Landlock-only layer opens the rules' paths here: not before the
 * caller has made them (view_gate_fd). The namespace layer's init waits
 * before its view instead (ns.c). */
static int step_view_gate(struct jail_plan *plan, struct jail_error *err)
{
	return plan->ns ? 0 : jail_await(plan->view_gate_fd, 'v', err);
}

static const struct step prepare_steps[] = {
	{ "view-gate", step_view_gate },
	{ "landlock-ruleset", step_ruleset },
};

/* ---- in the process that becomes the command ---------------------------- */

/* What a shell gives a program: default dispositions, an empty mask.
 * Node ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec. */
static int step_signals(struct jail_plan *plan, struct jail_error *err)
{
	struct sigaction dfl;
	sigset_t none;
	int sig;

	(void)plan;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc reserves two real-time signals and refuses them;
		 * exec resets those (they are caught, not ignored). */
		sigaction(sig, &dfl, NULL);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		FAIL(err, "signals", "sigprocmask", NULL);
	return 0;
}

/* fds 0-2 open across exec and blocking, as a shell leaves them; every
 * other fd closed at exec unless the plan keeps it. */
static int step_fds(struct jail_plan *plan, struct jail_error *err)
{
	int fd;
	size_t i;

	for (fd = 0; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0)
			continue; /* closed stays closed, as the caller chose */
		if (fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			FAIL(err, "fds", "fcntl", NULL);
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK) &&
		    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			FAIL(err, "fds", "fcntl", NULL);
	}
	if (syscall(__NR_close_range, 3U, ~0U, JAIL_CLOSE_RANGE_CLOEXEC) < 0) {
		struct rlimit lim;
		if (errno != ENOSYS && errno != EINVAL)
			FAIL(err, "fds", "close_range", NULL);
		if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
			FAIL(err, "fds", "getrlimit", NULL);
		for (fd = 3; (rlim_t)fd < lim.rlim_cur; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	for (i = 0; i < plan->n_keep_fds; i++) {
		if (fcntl(plan->keep_fds[i], F_SETFD, 0) < 0)
			FAIL(err, "fds", "fcntl", NULL);
	}
	return 0;
}

static int step_caps(struct jail_plan *plan, struct jail_error *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int cap;

	if (!plan->drop_caps)
		return 0;
	if (syscall(__NR_capget, &hdr, data) < 0)
		FAIL(err, "capabilities", "capget", NULL);
	/* Root regains the bounding set at exec; empty it while we may. Past
	 * the last capability the kernel knows, the drop says EINVAL. */
	if (data[0].effective & (1U << CAP_SETPCAP)) {
		for (cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; cap++)
			;
		if (errno != EINVAL || cap == 0)
			FAIL(err, "capabilities", "prctl", NULL);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		FAIL(err, "capabilities", "prctl", NULL);
	memset(data, 0, sizeof(data));
	if (syscall(__NR_capset, &hdr, data) < 0)
		FAIL(err, "capabilities", "capset", NULL);
	return 0;
}

static int step_no_new_privs(struct jail_plan *plan, struct jail_error *err)
{
	(void)plan;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL(err, "no-new-privs", "prctl", NULL);
	return 0;
}

static int step_landlock(struct jail_plan *plan, struct jail_error *err)
{
	if (!plan->has_landlock)
		return 0;
	if (syscall(__NR_landlock_restrict_self, plan->ruleset_fd,
		    plan->restrict_flags) < 0)
		FAIL(err, "landlock", "landlock_restrict_self", NULL);
	close(plan->ruleset_fd);
	plan->ruleset_fd = -1;
	return 0;
}

/* Before the main filter, which may refuse what this needs. The listener
 * leaves for the supervisor here, and this process closes it: the command
 * never holds it. */
static int step_observe(struct jail_plan *plan, struct jail_error *err)
{
	const char *sc;

	if (!plan->observer)
		return 0;
	if (jail_observe_install(plan->observer, &sc) < 0)
		FAIL(err, "observe", sc, NULL);
	return 0;
}

static int step_seccomp(struct jail_plan *plan, struct jail_error *err)
{
	struct sock_fprog prog;

	if (plan->filter_len == 0)
		return 0;
	prog.len = (unsigned short)(plan->filter_len / sizeof(struct sock_filter));
	prog.filter = (struct sock_filter *)plan->filter;
	if (syscall(__NR_seccomp, JAIL_SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		FAIL(err, "seccomp", "seccomp", NULL);
	return 0;
}

int jail_await(int fd, char word, struct jail_error *err)
{
	char byte = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && byte == word)
		return 0;
	errno = ECANCELED;
	FAIL(err, "spawn", "read", NULL);
}

/* plan->go_fd: confined, the command waits for the word to go (jail.h),
 * so that only its exec is left once it comes. */
static int step_go(struct jail_plan *plan, struct jail_error *err)
{
	return jail_await(plan->go_fd, 'g', err);
}

/* plan->rules_fd: the view's rule entries, added by the supervisor while
 * the init built the rest, are in the ruleset before it confines us. */
static int step_rules(struct jail_plan *plan, struct jail_error *err)
{
	return jail_await(plan->rules_fd, 'r', err);
}

static int step_exec(struct jail_plan *plan, struct jail_error *err)
{
	execve(plan->file, plan->argv, plan->envp);
	FAIL(err, "exec", "execve", plan->file);
}

/* Signals are reset last but for the exec: until then every one is
 * blocked (jail_spawn, jail_spawn_child), so no handler of Node's runs in
 * a child that shares its memory, and a Ctrl-Z cannot stop a command that
 * waits for the word to go (step_go) while jail waits for it. */
static const struct step enter_steps[] = {
	{ "fds", step_fds },
	{ "capabilities", step_caps },
	{ "no-new-privs", step_no_new_privs },
	{ "rules", step_rules },
	{ "landlock", step_landlock },
	{ "observe", step_observe },
	{ "seccomp", step_seccomp },
	{ "go", step_go },
	{ "signals", step_signals },
	{ "exec", step_exec },
};

static int run_steps(const struct step *steps, size_t n,
		     struct jail_plan *plan, struct jail_error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (steps[i].run(plan, err) < 0)
			return -1;
	return 0;
}

int jail_prepare(struct jail_plan *plan, struct jail_error *err)
{
	plan->ruleset_fd = -1;
	if (plan->filter_len % sizeof(struct sock_filter) != 0 ||
	    plan->filter_len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		errno = EINVAL;
		FAIL(err, "seccomp", "seccomp", NULL);
	}
	return run_steps(prepare_steps, LEN(prepare_steps), plan, err);
}

int jail_enter(struct jail_plan *plan, struct jail_error *err)
{
	return run_steps(enter_steps, LEN(enter_steps), plan, err);
}

void jail_release(struct jail_plan *plan)
{
	if (plan->ruleset_fd >= 0)
		close(plan->ruleset_fd);
	plan->ruleset_fd = -1;
}
