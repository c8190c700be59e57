/*
 * The init of the namespace layer, and the probe for it. The init is PID 1
 * of the jail: a fork of the supervisor that never returns to JavaScript
 * and makes only syscalls. It maps the supervisor's ids to themselves,
 * builds the view (view.c), starts the command (PID 2) as the fallback
 * layer does, then reaps whatever ends and passes on the signals that come
 * from outside. It reports to the supervisor on a pipe: the exec or the
 * failure first, the command's wait status last.
 */
#define _GNU_SOURCE
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"
#include "view.h"

/* ---- the user namespace -------------------------------------------------- */

/* "N N 1": the id mapped to itself, one of it. */
static size_t id_map(char *out, uint32_t id)
{
	char digits[10];
	size_t n = 0, len = 0;

	do
		digits[n++] = (char)('0' + id % 10);
	while ((id /= 10) != 0);
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = n; i-- > 0;)
			out[len++] = digits[i];
		out[len++] = ' ';
	}
	out[len++] = '1';
	return len;
}

static int write_file(const char *path, const char *text, size_t len, struct jail_error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return jail_fail(err, "namespaces", "open", path);
	n = write(fd, text, len);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		jail_fail(err, "namespaces", "write", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Ownership reads as it does outside: uid and gid map to themselves (to 0
 * only for root). setgroups must be denied first for an unprivileged map. */
static int map_ids(uint32_t uid, uint32_t gid, struct jail_error *err)
{
	char map[32];

	if (write_file("/proc/self/setgroups", "deny", 4, err) < 0)
		return -1;
	if (write_file("/proc/self/uid_map", map, id_map(map, uid), err) < 0)
		return -1;
	return write_file("/proc/self/gid_map", map, id_map(map, gid), err);
}

/* ---- the network namespace ----------------------------------------------- */

static int loopback_up(struct jail_error *err)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return jail_fail(err, "namespaces", "socket", NULL);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		jail_fail(err, "namespaces", "ioctl", NULL);
		close(s);
		return -1;
	}
	close(s);
	return 0;
}

/* ---- what the jail sees of the init ------------------------------------ */

/* The init is a copy of Node: /proc/1/cmdline, which anyone may read,
 * would show the supervisor's argv (an embedding program's, with the
 * library). Blank this copy of it, and of the environment, and take a
 * name of our own. Where they are comes from /proc/self/stat (fields 48
 * to 51: arg_start, arg_end, env_start, env_end). */
static int hide_supervisor(struct jail_error *err)
{
	char stat[1024], *p;
	unsigned long area[4];
	ssize_t n;
	int fd, field, i;

	prctl(PR_SET_NAME, "jail-init", 0, 0, 0);
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, "namespaces", "open", "/proc/self/stat");
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0) {
		if (n == 0)
			errno = EIO;
		return jail_fail(err, "namespaces", "read", "/proc/self/stat");
	}
	stat[n] = '\0';
	p = strrchr(stat, ')'); /* the name may hold anything; fields follow it */
	for (field = 2, i = 0; p && *p && i < 4; p++) {
		if (*p != ' ')
			continue;
		if (++field < 48)
			continue;
		for (area[i] = 0; p[1] >= '0' && p[1] <= '9'; p++)
			area[i] = area[i] * 10 + (unsigned long)(p[1] - '0');
		i++;
	}
	if (i < 4 || area[1] < area[0] || area[3] < area[2]) {
		errno = EIO;
		return jail_fail(err, "namespaces", "read", "/proc/self/stat");
	}
	memset((void *)area[0], 0, area[1] - area[0]);
	memset((void *)area[2], 0, area[3] - area[2]);
	if (area[1] - area[0] > sizeof("jail-init"))
		memcpy((void *)area[0], "jail-init", sizeof("jail-init"));
	return 0;
}

/* ---- reports -------------------------------------------------------------- */

static void copy(char *to, size_t size, const char *from)
{
	size_t n = from ? strlen(from) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(to, from ? from : "", n);
	to[n] = '\0';
}

static void report(int fd, enum jail_report_kind kind, int value, const struct jail_error *e)
{
	struct jail_report r;
	const char *p = (const char *)&r;
	size_t left = sizeof(r);
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.value = value;
	if (e) {
		copy(r.step, sizeof(r.step), e->step);
		copy(r.syscall, sizeof(r.syscall), e->syscall);
		copy(r.path, sizeof(r.path), e->path);
		r.has_path = e->path != NULL;
	}
	/* EPIPE when the supervisor is gone: then there is no one to tell. */
	while (left > 0 && ((n = write(fd, p, left)) > 0 || errno == EINTR)) {
		if (n > 0) {
			p += n;
			left -= (size_t)n;
		}
	}
}

/* ---- the init -------------------------------------------------------------- */

static void ignore(int sig)
{
	(void)sig;
}

/* Every signal stays blocked (the supervisor blocked them all before the
 * fork) and is taken with sigwaitinfo. Handlers only matter because PID 1
 * never gets a signal whose disposition is the default one; the handlers
 * Node had are replaced, and SIGCHLD is left at its default so that ended
 * children wait to be reaped. */
static void own_signals(sigset_t *waited)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa.sa_handler = sig == SIGCHLD ? SIG_DFL : ignore;
		sigaction(sig, &sa, NULL); /* glibc refuses its own two: fine */
	}
	sigfillset(waited);
}

/* A signal sent by a process outside the PID namespace (the supervisor
 * passing one on, or anyone else who may signal us) goes to the command;
 * one from the kernel or the terminal (Ctrl-C, Ctrl-Z, a hangup) reached
 * the command's process group directly, and one from inside is dropped. */
static int from_outside(const siginfo_t *si)
{
	return (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL) &&
	       si->si_pid == 0;
}

/* Die with the supervisor: SIGKILL when the thread that forked us ends,
 * which ends the PID namespace. If it ended before the prctl, the pipe's
 * read end is closed already (fds close before the parent-death signal). */
static int die_with_supervisor(int report_fd, struct jail_error *err)
{
	struct pollfd p = { .fd = report_fd, .events = POLLOUT };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return jail_fail(err, "namespaces", "prctl", NULL);
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		_exit(125);
	return 0;
}

static _Noreturn void serve(int command, int report_fd, const sigset_t *waited)
{
	siginfo_t si;
	pid_t pid;
	int status, sig;

	/* The command has its own copies; nothing of Node's stays open here. */
	if (report_fd > 0)
		syscall(__NR_close_range, 0U, (unsigned)report_fd - 1, 0U);
	syscall(__NR_close_range, (unsigned)report_fd + 1, ~0U, 0U);
	for (;;) {
		sig = sigwaitinfo(waited, &si);
		if (sig == SIGCHLD) {
			while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
				if (pid == command) {
					report(report_fd, JAIL_REPORT_STATUS, status, NULL);
					_exit(0); /* the kernel ends all that is left */
				}
			}
		} else if (sig > 0 && from_outside(&si)) {
			kill(command, sig);
		}
	}
}

int jail_init_main(void *arg)
{
	const struct jail_init_args *a = arg;
	struct jail_plan *plan = a->plan;
	struct jail_error err;
	sigset_t waited;
	int command;

	memset(&err, 0, sizeof(err));
	own_signals(&waited);
	close(a->peer);
	if (die_with_supervisor(a->report, &err) < 0 || map_ids(plan->ns->uid, plan->ns->gid, &err) < 0)
		goto failed;
	/* No one in the jail reads this process's memory (Node's, with the
	 * environment the jail filtered) through /proc/1. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		jail_fail(&err, "namespaces", "prctl", NULL);
		goto failed;
	}
	if (hide_supervisor(&err) < 0)
		goto failed;
	if (plan->ns->net && loopback_up(&err) < 0)
		goto failed;
	if (jail_view_build(plan->ns, plan->ruleset_fd, &err) < 0)
		goto failed;
	command = jail_start_command(plan, &err);
	if (command < 0)
		goto failed;
	report(a->report, JAIL_REPORT_EXECED, 0, NULL);
	serve(command, a->report, &waited);
failed:
	report(a->report, JAIL_REPORT_FAILED, err.code, &err);
	_exit(125);
}

/* ---- the probe ------------------------------------------------------------- */

struct probe {
	uint32_t uid, gid;
	struct jail_error err;
};

/* The layer's own steps on a one-entry view: a fresh procfs is what a
 * container's masked /proc refuses. */
static int probe_main(void *arg)
{
	static const struct jail_view_entry proc = { .kind = JAIL_VIEW_PROC, .path = "/proc" };
	struct probe *p = arg;
	struct jail_namespaces ns = { .uid = p->uid, .gid = p->gid, .cwd = "/", .view = &proc, .n_view = 1 };

	if (map_ids(p->uid, p->gid, &p->err) < 0 || jail_view_build(&ns, -1, &p->err) < 0)
		_exit(1);
	_exit(0);
}

#define PROBE_STACK (64 * 1024)

void jail_probe_namespaces(struct jail_ns_facts *out)
{
	struct probe p;
	char *stack;
	int pid, status, saved;

	memset(&p, 0, sizeof(p));
	p.uid = (uint32_t)geteuid();
	p.gid = (uint32_t)getegid();
	out->ok = 0;
	out->step = "mmap";
	stack = mmap(NULL, PROBE_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		out->code = errno;
		return;
	}
	/* It shares our memory and we wait (vfork); its namespaces go with it. */
	pid = clone(probe_main, stack + PROBE_STACK,
		    CLONE_VM | CLONE_VFORK | SIGCHLD | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, &p);
	saved = errno;
	munmap(stack, PROBE_STACK);
	if (pid < 0) {
		out->code = saved;
		out->step = "clone";
		return;
	}
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
	out->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	out->code = out->ok ? 0 : p.err.code ? p.err.code : EIO;
	/* The id maps by name, else the syscall refused. */
	out->step = out->ok ? NULL
		  : p.err.path && strncmp(p.err.path, "/proc/self/", 11) == 0 ? p.err.path + 11
		  : p.err.syscall ? p.err.syscall : "clone";
}
