/*
 * The init of the namespace layer, and the probe for it. The init is PID 1
 * of the jail: a child of the supervisor that never returns to JavaScript
 * and makes only syscalls. It maps the supervisor's ids to themselves,
 * builds the view (view.c), starts the command (PID 2) as the fallback
 * layer does, then reaps whatever ends and passes on the signals that come
 * from outside. It reports to the supervisor on a socket: the plan's
 * listening sockets (made in the jail's network namespace) first, then
 * the exec or the failure, the command's wait status last.
 *
 * Where the helper runs (jail_init_helper), the init shares the
 * supervisor's memory (a vfork) until it has started the command, then
 * execs the helper (init.c), which reaps, passes signals on and reports
 * from then on; nothing of Node's is copied or stays in the jail. Else it
 * is a fork of the supervisor that does all of it itself (serve()).
 */
#define _GNU_SOURCE
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* One of the plan's sockets, bound (and listening); -1 with *sc. */
static int make_socket(const struct jail_socket *s, const char **sc)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a;
	socklen_t len = s->family == AF_INET ? sizeof(a.in) : sizeof(a.in6);
	int fd, one = 1, saved;

	memset(&a, 0, sizeof(a));
	if (s->family == AF_INET) {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(s->port);
		memcpy(&a.in.sin_addr, s->addr, 4);
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(s->port);
		memcpy(&a.in6.sin6_addr, s->addr, 16);
	}
	*sc = "socket";
	fd = socket(s->family, s->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Not for UDP: there it would let the command bind the same address
	 * beside ours (with the option too) and take its datagrams. For TCP
	 * a listener excludes that, and the option only skips TIME_WAIT. An
	 * IPv6 socket takes only what it names: '::' and '0.0.0.0' can both
	 * be had, whatever the namespace's bindv6only. */
	*sc = "setsockopt";
	if ((s->type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (s->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		goto failed;
	*sc = "bind";
	if (bind(fd, (struct sockaddr *)&a, len) < 0)
		goto failed;
	*sc = "listen";
	if (s->type == SOCK_STREAM && listen(fd, 128) < 0)
		goto failed;
	return fd;
failed:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The plan's sockets, made here so that they are the jail's network
 * namespace's: only the jail reaches them, and no port of the host's is
 * taken. They go to the supervisor in one message and are closed here
 * before the command starts: it never holds them, and the init's own
 * memory and fds are out of its reach (not dumpable: jail_init_main). */
static int pass_sockets(const struct jail_namespaces *ns, int report_fd, struct jail_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * JAIL_MAX_SOCKETS)];
		struct cmsghdr align;
	} control;
	struct jail_report r;
	struct iovec iov = { &r, sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf };
	struct cmsghdr *c;
	int fds[JAIL_MAX_SOCKETS];
	const char *sc;
	size_t n, i;
	ssize_t sent;

	if (ns->n_sockets == 0)
		return 0;
	if (ns->n_sockets > JAIL_MAX_SOCKETS) { /* the binding refuses more */
		errno = EINVAL;
		return jail_fail(err, "network", "sendmsg", NULL);
	}
	for (n = 0; n < ns->n_sockets; n++) {
		fds[n] = make_socket(&ns->sockets[n], &sc);
		if (fds[n] < 0) {
			jail_fail(err, "network", sc, ns->sockets[n].name);
			for (i = 0; i < n; i++)
				close(fds[i]);
			return -1;
		}
	}
	memset(&r, 0, sizeof(r));
	memset(&control, 0, sizeof(control));
	r.kind = JAIL_REPORT_SOCKETS;
	r.value = (int32_t)n;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	while ((sent = sendmsg(report_fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (sent < 0)
		jail_fail(err, "network", "sendmsg", NULL);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return sent < 0 ? -1 : 0;
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

static void report_as(int fd, enum jail_report_kind kind, int value, const struct jail_error *e, int flags)
{
	struct jail_report r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.value = value;
	if (e) {
		copy(r.step, sizeof(r.step), e->step);
		copy(r.syscall, sizeof(r.syscall), e->syscall);
		copy(r.path, sizeof(r.path), e->path);
		r.has_path = e->path != NULL;
	}
	/* One message, whole or not at all. EPIPE when the supervisor is
	 * gone: then there is no one to tell. */
	while (send(fd, &r, sizeof(r), MSG_NOSIGNAL | flags) < 0 && errno == EINTR)
		;
}

static void report(int fd, enum jail_report_kind kind, int value, const struct jail_error *e)
{
	report_as(fd, kind, value, e, 0);
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
 * the command's process group directly, and one from inside is dropped.
 * Without a PID namespace (the fallback) every sender counts as outside:
 * the jail's own processes could signal the command directly anyway. */
static int from_outside(const siginfo_t *si, int own_pid_ns)
{
	return (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL) &&
	       (si->si_pid == 0 || !own_pid_ns);
}

/* Die with the supervisor when the thread that forked us ends: SIGKILL,
 * which ends the PID namespace, or (the fallback) SUPERVISOR_GONE. If it
 * ended before the prctl, its end of the report socket is closed already
 * (fds close before the parent-death signal), which hangs ours up. */
static int die_with_supervisor(int report_fd, int own_pid_ns, struct jail_error *err)
{
	struct pollfd p = { .fd = report_fd, .events = POLLOUT };

	if (prctl(PR_SET_PDEATHSIG, own_pid_ns ? SIGKILL : SUPERVISOR_GONE, 0, 0, 0) < 0)
		return jail_fail(err, "namespaces", "prctl", NULL);
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)))
		_exit(125);
	return 0;
}

static _Noreturn void serve(int command, int report_fd, const sigset_t *waited, int own_pid_ns, int stops)
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
			while ((pid = waitpid(-1, &status, WNOHANG | __WALL | (stops ? WUNTRACED | WCONTINUED : 0))) > 0) {
				if (pid == command && (WIFSTOPPED(status) || WIFCONTINUED(status))) {
					/* as in init.c: never waits */
					report_as(report_fd, WIFSTOPPED(status) ? JAIL_REPORT_STOPPED : JAIL_REPORT_CONTINUED,
						  WIFSTOPPED(status) ? WSTOPSIG(status) : 0, NULL, MSG_DONTWAIT);
				} else if (pid == command) {
					/* All that is left ends before the status goes
					 * (as in init.c): as PID 1, kill(-1) reaches
					 * the jail's every other process; without a PID
					 * namespace what is left is ours, as subreaper. */
					if (own_pid_ns) {
						kill(-1, SIGKILL);
						while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
							;
					} else {
						jail_end_descendants();
					}
					report(report_fd, JAIL_REPORT_STATUS, status, NULL);
					_exit(0);
				}
			}
		} else if (sig == SUPERVISOR_GONE && !own_pid_ns) {
			/* End all that is ours before we go (the command
			 * is not reaped yet: its pid is still its own). */
			kill(command, SIGKILL);
			jail_end_descendants();
			_exit(125);
		} else if (sig > 0 && from_outside(&si, own_pid_ns)) {
			kill(command, sig);
		}
	}
}

static char *decimal(char *end, unsigned n)
{
	*--end = '\0';
	do
		*--end = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	return end;
}

/* The init that shares the supervisor's memory (a->command set): start the
 * command, which waits for our exec, and become the helper (init.c). Not
 * dumpable and no hide_supervisor here: both would be done to Node's own
 * memory; after the exec there is nothing of Node's left to hide, and the
 * helper makes itself not dumpable. A failed exec kills the command, which
 * has not passed its gate, so nothing ran. */
static int exec_helper(const struct jail_init_args *a, int own_pid_ns, struct jail_error *err)
{
	char fd[12], pid[12], flags_arg[4], *argv[5], *envp[1] = { NULL };
	int command, status, flags;

	command = jail_start_gated(a->command);
	if (command < 0) {
		*err = *a->command->err;
		return -1;
	}
	flags = fcntl(a->report, F_GETFD);
	argv[0] = "jail-init";
	argv[1] = decimal(fd + sizeof(fd), (unsigned)a->report);
	argv[2] = decimal(pid + sizeof(pid), (unsigned)command);
	argv[3] = decimal(flags_arg + sizeof(flags_arg),
			  (own_pid_ns ? JAIL_INIT_OWN_PID_NS : 0) | (a->stops ? JAIL_INIT_REPORT_STOPS : 0));
	argv[4] = NULL;
	if (flags >= 0 && fcntl(a->report, F_SETFD, flags & ~FD_CLOEXEC) == 0)
		syscall(__NR_execveat, a->helper, "", argv, envp, AT_EMPTY_PATH);
	jail_fail(err, "init", "execveat", NULL);
	kill(command, SIGKILL);
	while (waitpid(command, &status, __WALL) < 0 && errno == EINTR)
		;
	return -1;
}

/* The Landlock-only layer's init, for the library (jail_spawn_child): no
 * namespaces, so it is the command's parent and a child subreaper; what
 * the command leaves running comes to it and is ended when the command
 * ends, as the CLI's supervisor does. */
static _Noreturn void fallback_init(const struct jail_init_args *a, const sigset_t *waited)
{
	struct jail_error err;
	int command;

	memset(&err, 0, sizeof(err));
	prctl(PR_SET_NAME, "jail-init", 0, 0, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ||
	    (!a->command && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)) {
		jail_fail(&err, "spawn", "prctl", NULL);
		goto failed;
	}
	if (a->stdio && jail_move_stdio(a->stdio, &err) < 0)
		goto failed;
	if (a->cwd && chdir(a->cwd) < 0) {
		jail_fail(&err, "cwd", "chdir", a->cwd);
		goto failed;
	}
	if (a->command) {
		exec_helper(a, 0, &err);
		goto failed;
	}
	command = jail_start_command(a->plan, &err);
	if (command < 0)
		goto failed;
	report(a->report, JAIL_REPORT_EXECED, 0, NULL);
	serve(command, a->report, waited, 0, a->stops);
failed:
	report(a->report, JAIL_REPORT_FAILED, err.code, &err);
	_exit(125);
}

/* The init once its namespaces are made and its ids mapped: the command's
 * stdio, the plan's sockets, the view, then the command (with the helper,
 * the helper's exec). */
static _Noreturn void init_ready(const struct jail_init_args *a, const sigset_t *waited)
{
	struct jail_plan *plan = a->plan;
	struct jail_error err;
	int command;

	memset(&err, 0, sizeof(err));
	if (a->stdio && jail_move_stdio(a->stdio, &err) < 0)
		goto failed;
	/* No one in the jail reads this process's memory (Node's, with the
	 * environment the jail filtered) through /proc/1. (With the helper,
	 * exec_helper.) */
	if (!a->command && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		jail_fail(&err, "namespaces", "prctl", NULL);
		goto failed;
	}
	if (!a->command && hide_supervisor(&err) < 0)
		goto failed;
	if (plan->ns->net && pass_sockets(plan->ns, a->report, &err) < 0)
		goto failed;
	if (jail_await(plan->view_gate_fd, 'v', &err) < 0 ||
	    jail_view_build(plan->ns, plan->ruleset_fd, plan->rules_fd >= 0, &err) < 0)
		goto failed;
	if (a->command) {
		exec_helper(a, 1, &err);
		goto failed;
	}
	command = jail_start_command(plan, &err);
	if (command < 0)
		goto failed;
	report(a->report, JAIL_REPORT_EXECED, 0, NULL);
	serve(command, a->report, waited, 1, a->stops);
failed:
	report(a->report, JAIL_REPORT_FAILED, err.code, &err);
	_exit(125);
}

int jail_init_main(void *arg)
{
	const struct jail_init_args *a = arg;
	struct jail_plan *plan = a->plan;
	struct jail_error err;
	sigset_t waited;

	memset(&err, 0, sizeof(err));
	own_signals(&waited);
	close(a->peer);
	if (die_with_supervisor(a->report, plan->ns != NULL, &err) < 0)
		goto failed;
	if (!plan->ns)
		fallback_init(a, &waited);
	if (map_ids(plan->ns->uid, plan->ns->gid, &err) < 0 || (plan->ns->net && loopback_up(&err) < 0))
		goto failed;
	init_ready(a, &waited);
failed:
	report(a->report, JAIL_REPORT_FAILED, err.code, &err);
	_exit(125);
}

int jail_warm_init_main(void *arg)
{
	struct jail_init_args *a = arg;
	struct jail_error err;
	sigset_t waited;
	char word = 0;

	memset(&err, 0, sizeof(err));
	own_signals(&waited);
	/* Failed here, it ends without a word: the spawn that comes for it
	 * finds it gone and makes an init as usual, which says what fails. */
	if (die_with_supervisor(a->report, 1, &err) < 0 || map_ids(a->warm_uid, a->warm_gid, &err) < 0 ||
	    (a->warm_net && loopback_up(&err) < 0))
		_exit(125);
	prctl(PR_SET_NAME, "jail-init", 0, 0, 0);
	while (read(a->wake, &word, 1) < 0 && errno == EINTR)
		;
	/* Until now every descriptor was the supervisor's too: close none
	 * before this copy of them is ours. */
	if (word != 'w' || unshare(CLONE_FILES) < 0)
		_exit(0);
	if (write(a->wake, "a", 1) != 1)
		_exit(125);
	close(a->wake);
	umask((mode_t)a->umask);
	close(a->peer);
	init_ready(a, &waited);
}

/* ---- the helper ------------------------------------------------------------ */

#include "init-helper.h" /* jail_init_elf[]: init.c, built by native/embed-init.mjs */

#if defined(__x86_64__)
#define JAIL_ELF_MACHINE 62
#elif defined(__aarch64__)
#define JAIL_ELF_MACHINE 183
#else
#define JAIL_ELF_MACHINE 0
#endif

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

static int helper_fd = -2; /* not made yet */

#define PROBE_STACK (64 * 1024)

static int probe_helper(void *fd)
{
	char *argv[] = { "jail-init", NULL }, *envp[] = { NULL };

	syscall(__NR_execveat, *(int *)fd, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/* Whether the helper runs here: an seccomp filter, an LSM or a noexec
 * policy may refuse what memfd_create allowed. A child that shares our
 * memory execs it with no arguments, and it exits 0. */
static int helper_runs(int fd)
{
	char *stack;
	int pid, status;

	stack = mmap(NULL, PROBE_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return 0;
	pid = clone(probe_helper, stack + PROBE_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &fd);
	munmap(stack, PROBE_STACK);
	if (pid < 0)
		return 0;
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int jail_init_helper(void)
{
	const unsigned char *elf = jail_init_elf;
	size_t size = jail_init_elf_size, done = 0;
	ssize_t n;
	int fd;

	if (helper_fd != -2)
		return helper_fd;
	helper_fd = -1;
	/* For tests: a helper whose exec fails (EACCES), and none at all. */
	if (getenv("JAIL_TEST_INIT_EXEC_FAILS"))
		return helper_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* An ELF of the architecture we were built for (e_machine at 18). */
	if (getenv("JAIL_TEST_FORK_INIT") || size < 64 || memcmp(elf, "\177ELF", 4) != 0 ||
	    elf[18] + 256 * elf[19] != JAIL_ELF_MACHINE)
		return -1;
	fd = memfd_create("jail-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL) /* before Linux 6.3 every memfd may be exec'd */
		fd = memfd_create("jail-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1; /* vm.memfd_noexec=2 says EACCES */
	while (done < size && ((n = write(fd, elf + done, size - done)) > 0 || errno == EINTR))
		done += n > 0 ? (size_t)n : 0;
	if (done < size || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
	    !helper_runs(fd)) {
		close(fd);
		return -1;
	}
	return helper_fd = fd;
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

	if (map_ids(p->uid, p->gid, &p->err) < 0 || jail_view_build(&ns, -1, 0, &p->err) < 0)
		_exit(1);
	_exit(0);
}

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
	/* It shares our memory and we wait (vfork); its namespaces go with it.
	 * The namespaces the init gets (start_init), but the network one. */
	pid = clone(probe_main, stack + PROBE_STACK,
		    CLONE_VM | CLONE_VFORK | SIGCHLD | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC, &p);
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
