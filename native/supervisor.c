/*
 * The supervisor, outside the jail: start the command in a child that dies
 * with us, pass on the signals sent to us, wait for it, then end whatever
 * it left running, so that nothing of the jail's is alive when the caller
 * removes the private TMPDIR.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns.h"
#include "warm.h"

/* The child's pid, from before it runs: the kernel stores it there
 * (CLONE_PARENT_SETTID), so that no thread of ours sees a child without
 * its pid. -1 before there is one, and once it has ended. */
static volatile sig_atomic_t supervised = -1;
JAIL_STATIC_ASSERT(sizeof(sig_atomic_t) == sizeof(pid_t), "the kernel stores a pid_t");

/* Signals that came while there was no child to pass them to: bit n is
 * signal n (all of `forwarded` are below 32). */
static volatile sig_atomic_t early;

/* Handlers between their read of `supervised` and their kill(). The thread
 * that reaps (jail_supervise: Node's main thread, or one of libuv's pool
 * with superviseAsync) is not always the one a handler interrupts, so it
 * waits for them to be done: then no kill() can reach a reused pid. */
static int forwarding;

/* The signals that came (bit n: signal n) since jail_spawn began, whoever
 * sent them: jail_signals_seen. */
static volatile sig_atomic_t seen;

/* From jail_spawn until jail_supervise has returned: the child, and the
 * globals here, are that call's. With superviseAsync JavaScript runs
 * meanwhile, and a second spawn() must not take them over. */
static int active;

/* Signals another process sent us go on to the command; those the kernel or
 * the terminal generated (Ctrl-C, a hangup) reached its process group too.
 * Node's other threads do not block signals, so this may run on any of
 * them, at any time from forward_signals() on; one that comes before the
 * child exists is kept for it. Whoever clears its bit passes it on, once. */
static void forward_to(int sig)
{
	/* read once: kill(-1, …) would reach everyone */
	pid_t pid = __atomic_load_n(&supervised, __ATOMIC_SEQ_CST);
	int bit = 1 << sig;

	if (pid <= 0) {
		__atomic_fetch_or(&early, bit, __ATOMIC_SEQ_CST);
		pid = __atomic_load_n(&supervised, __ATOMIC_SEQ_CST);
		if (pid <= 0 || !(__atomic_fetch_and(&early, ~bit, __ATOMIC_SEQ_CST) & bit))
			return; /* jail_spawn passes it on */
	}
	kill(pid, sig);
}

static void forward(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	(void)ctx;
	__atomic_fetch_or(&seen, 1 << sig, __ATOMIC_SEQ_CST);
	if (si->si_code != SI_USER && si->si_code != SI_QUEUE && si->si_code != SI_TKILL)
		return;
	__atomic_fetch_add(&forwarding, 1, __ATOMIC_SEQ_CST);
	forward_to(sig);
	__atomic_fetch_sub(&forwarding, 1, __ATOMIC_SEQ_CST);
	errno = saved;
}

/* SIGTSTP too, in the namespace layer: Ctrl-Z reached the command's
 * process group, and the command decides whether it stops (a program that
 * handles it tidies the terminal first); this process stops when the
 * command has (follow_stops). Not in the fallback, whose command is this
 * process's own child: a stopped parent learns nothing when another
 * process continues its child, so it would stay stopped while the command
 * ran on; there this process stops at Ctrl-Z with it, as before. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGTSTP };
static int handled[LEN(forwarded)];

/* The child exists: pass on what came before it did. */
static void pass_early(pid_t pid)
{
	int bits = __atomic_exchange_n(&early, 0, __ATOMIC_SEQ_CST);
	size_t i;

	for (i = 0; i < LEN(forwarded); i++)
		if (handled[i] && (bits & (1 << forwarded[i])))
			kill(pid, forwarded[i]);
}
static struct sigaction saved_actions[LEN(forwarded)];

/* From before the child exists until it is reaped, so that no signal
 * can take this process down without cleaning up after it. */
static void forward_signals(int stops)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < LEN(forwarded); i++)
		handled[i] = (forwarded[i] != SIGTSTP || stops) && sigaction(forwarded[i], &sa, &saved_actions[i]) == 0;
}

static void restore_signals(void)
{
	size_t i;

	supervised = -1;
	for (i = 0; i < LEN(forwarded); i++)
		if (handled[i])
			sigaction(forwarded[i], &saved_actions[i], NULL);
}


/* The caller's three descriptors become 0, 1 and 2. Each is first copied
 * above 2, so that one given as another's number (stdout as 0) is not
 * overwritten before it is moved; jail_enter then clears close-on-exec. */
int jail_move_stdio(const int fd[3], struct jail_error *err)
{
	int tmp[3], i;

	for (i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(fd[i], F_DUPFD_CLOEXEC, 3)) < 0)
			FAIL(err, "stdio", "fcntl", NULL);
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			FAIL(err, "stdio", "dup2", NULL);
	for (i = 0; i < 3; i++)
		close(tmp[i]);
	return 0;
}

/* A command started by an init that will exec the helper (ns.h) waits
 * for that exec: until then the init shares the supervisor's memory, and
 * nothing of the jail's may run while /proc/1/cmdline is Node's argv.
 * The init's end of the pipe closes at its exec (or its exit). */
static void wait_gate(struct jail_command *c)
{
	char byte;

	if (c->gate[0] < 0)
		return;
	close(c->gate[1]);
	while (read(c->gate[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(c->gate[0]);
}

/* The child shares our memory until it execs (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does): no page tables to copy, and a failed step is written
 * straight into the parent's err. Only syscalls happen here. */
static int child_main(void *arg)
{
	struct jail_command *c = arg;

	/* Die with the supervisor, so that kill -9 of it ends the command too.
	 * The kernel sends the signal when the *thread* that made this child
	 * exits: jail_spawn runs on Node's main thread (addon calls happen
	 * there), which ends only with the process. getppid() catches a
	 * supervisor that died before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		c->err->step = "spawn";
		c->err->syscall = "prctl";
		c->err->code = errno;
		c->err->path = NULL;
	} else if (wait_gate(c), getppid() != c->parent) {
		/* the supervisor is gone: nothing to run for */
	} else {
		jail_enter(c->plan, c->err); /* returns only when a step failed */
	}
	c->failed = 1;
	_exit(125);
}

/* With `tid`, the kernel stores the child's pid there before it runs. */
static int clone_command(struct jail_plan *plan, struct jail_error *err, volatile sig_atomic_t *tid)
{
	struct jail_command c = { plan, err, NULL, getpid(), { -1, -1 }, 0 };
	int ruleset = plan->ruleset_fd;
	int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (tid ? CLONE_PARENT_SETTID : 0);
	char *stack;
	int pid, saved, status;

	stack = mmap(NULL, JAIL_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		FAIL(err, "spawn", "mmap", NULL);
	pid = clone(child_main, stack + JAIL_CHILD_STACK, flags, &c, (pid_t *)tid);
	saved = errno;
	/* The child wrote -1 over it in our shared memory when it closed its
	 * copy: ours is still open, for jail_release. */
	plan->ruleset_fd = ruleset;
	munmap(stack, JAIL_CHILD_STACK);
	if (pid < 0) {
		errno = saved;
		FAIL(err, "spawn", "clone", NULL);
	}
	if (c.failed) { /* it exited: nothing ran */
		if (tid)
			*tid = -1; /* before the reap frees the pid */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errno = err->code;
		return -1;
	}
	return pid;
}

int jail_start_command(struct jail_plan *plan, struct jail_error *err)
{
	return clone_command(plan, err, NULL);
}

int jail_start_gated(struct jail_command *c)
{
	int pid, saved;

	c->parent = getpid();
	if (pipe2(c->gate, O_CLOEXEC) < 0)
		FAIL(c->err, "spawn", "pipe2", NULL);
	/* No CLONE_VFORK: the command waits for our exec, not we for its. */
	pid = clone(child_main, c->stack, CLONE_VM | SIGCHLD, c);
	saved = errno;
	close(c->gate[0]);
	if (pid < 0) {
		close(c->gate[1]);
		errno = saved;
		FAIL(c->err, "spawn", "clone", NULL);
	}
	return pid; /* gate[1] stays open until the exec */
}

/* The namespace layer: the init's pid and the socket it reports on. One
 * supervised child at a time (the EBUSY rule), so one of each. */
static pid_t init_pid = -1;
static int init_reports = -1;
static struct jail_report last_report; /* what err points into */

/* Read one record (one message); 0 at end of file (the init is gone).
 * With fds (room for JAIL_MAX_SOCKETS), the descriptors that came with it
 * land there (O_CLOEXEC) and *n says how many; without, none are taken. */
static int read_report(int sock, struct jail_report *r, int *fds, size_t *n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * JAIL_MAX_SOCKETS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { r, sizeof(*r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t got;
	size_t k;

	if (fds) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		*n = 0;
	}
	while ((got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	for (c = fds && got >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); /* the buffer bounds it */
		memcpy(fds + *n, CMSG_DATA(c), k * sizeof(int));
		*n += k;
	}
	if (got > 0 && (got != sizeof(*r) || (msg.msg_flags & MSG_TRUNC))) {
		errno = EPROTO;
		return -1;
	}
	return got < 0 ? -1 : got > 0;
}

static void forget_init(void)
{
	if (init_reports >= 0)
		close(init_reports);
	init_reports = -1;
	init_pid = -1;
}

/* The init, in new namespaces (without plan->ns, in none: the library's
 * fallback, ns.h): user, mount, PID, IPC (System V objects and POSIX
 * message queues are the jail's own, none of the machine's), and network
 * when the plan says so. It reports on a socket rather than a pipe so that a
 * record can carry descriptors; SEQPACKET keeps each record one message.
 *
 * With the helper (jail_init_helper) the init shares our memory and this
 * thread waits (CLONE_VM | CLONE_VFORK, as for the command): no page
 * tables are copied, and it execs the helper once it has started the
 * command, so nothing of Node's stays in the jail. The command shares our
 * memory until its own exec, which comes after the init's; `done` tells
 * us when it has let go of it (its copy closes at exec, or exit, after the
 * kernel dropped its memory): until then its stack, the plan and err stay.
 * *failed says a step of it failed (err holds which).
 * Without the helper, a real fork (no CLONE_VM) that serves the command
 * itself, as before. */
static int start_init(struct jail_plan *plan, struct jail_error *err, volatile sig_atomic_t *tid, struct jail_stdio *io,
		      int *reports, int *failed)
{
	struct jail_command command = { plan, err, NULL, -1, { -1, -1 }, 0 };
	struct jail_init_args args = { .plan = plan, .report = -1, .peer = -1, .stdio = io ? io->fd : NULL, .cwd = io ? io->cwd : NULL,
				       .helper = jail_init_helper(), .stops = !io, .wake = -1 };
	int flags = SIGCHLD | (io ? CLONE_PIDFD : CLONE_PARENT_SETTID) |
		    (plan->ns ? CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (plan->ns->net ? CLONE_NEWNET : 0) : 0);
	int ruleset = plan->ruleset_fd, vm = args.helper >= 0;
	int fds[2], done[2] = { -1, -1 }, pid, saved;
	size_t size = JAIL_INIT_STACK + (vm ? JAIL_CHILD_STACK : 0);
	struct pollfd hup;
	char *stack;

	*failed = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		FAIL(err, "namespaces", "socketpair", NULL);
	args.peer = fds[0];
	args.report = fds[1];
	stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED || (vm && pipe2(done, O_CLOEXEC) < 0)) {
		saved = errno;
		if (stack != MAP_FAILED)
			munmap(stack, size);
		close(fds[0]);
		close(fds[1]);
		errno = saved;
		FAIL(err, "namespaces", stack == MAP_FAILED ? "mmap" : "pipe2", NULL);
	}
	if (vm) {
		command.stack = stack + size; /* the command's, above the init's */
		args.command = &command;
		flags |= CLONE_VM | CLONE_VFORK;
	}
	pid = clone(jail_init_main, stack + JAIL_INIT_STACK, flags, &args, io ? (pid_t *)&io->pidfd : (pid_t *)tid);
	saved = errno;
	close(fds[1]);
	if (vm) {
		/* Only syscalls that do not fail until it is done: errno is the
		 * command's too (one thread's TLS), and all signals are blocked. */
		close(done[1]);
		hup.fd = done[0];
		hup.events = 0;
		while (pid >= 0 && poll(&hup, 1, -1) < 0 && errno == EINTR)
			;
		close(done[0]);
		*failed = command.failed;
		plan->ruleset_fd = ruleset; /* the command closed its copy, in our memory */
	}
	munmap(stack, size); /* the init has exec'd or has its own copy */
	if (pid < 0) {
		close(fds[0]);
		errno = saved;
		FAIL(err, "namespaces", "clone", NULL);
	}
	*reports = fds[0];
	return pid;
}

/* Wait for the init to say the command has exec'd, taking the plan's
 * sockets on the way (fds: room for n_sockets); else fill err with what
 * failed in it (or EPIPE: it ended without a word; EPROTO: a record out of
 * place), close what came, and end and reap it. */
static int await_exec(int pid, int sock, int *fds, size_t n_sockets, struct jail_report *last, volatile sig_atomic_t *tid,
		      int failed, struct jail_error *err)
{
	int came[JAIL_MAX_SOCKETS], got, status;
	size_t n = 0, i;

	got = read_report(sock, last, came, &n);
	if (got > 0 && last->kind == JAIL_REPORT_SOCKETS) {
		if (n == n_sockets && last->value == (int32_t)n) {
			got = read_report(sock, last, NULL, NULL);
		} else {
			got = -1;
			errno = EPROTO;
		}
	}
	if (got > 0 && last->kind == JAIL_REPORT_EXECED && n == n_sockets && !failed) {
		memcpy(fds, came, n * sizeof(int));
		return 0;
	}
	if (got > 0 && last->kind == JAIL_REPORT_EXECED && failed) {
		/* the helper runs; the command wrote what failed into err */
	} else if (got > 0 && last->kind == JAIL_REPORT_FAILED) {
		err->step = last->step;
		err->syscall = last->syscall;
		err->code = last->value;
		err->path = last->has_path ? last->path : NULL;
	} else {
		err->step = "namespaces";
		err->syscall = "recvmsg";
		err->code = got < 0 ? errno : got == 0 ? EPIPE : EPROTO;
		err->path = NULL;
	}
	for (i = 0; i < n; i++)
		close(came[i]);
	if (tid)
		*tid = -1; /* before the reap frees the pid */
	/* Not reaped yet, so the pid is still the init's; after a record out
	 * of place it may be serving a command that runs. */
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
	errno = err->code;
	return -1;
}

int jail_spawn(struct jail_plan *plan, int *fds, struct jail_error *err)
{
	sigset_t all, old;
	siginfo_t si;
	int pid, failed = 0;

	/* After the command, every child of this process is ended (orphans
	 * become ours, below): there must be none of another's. A child still
	 * being supervised counts as one even once reaped. */
	if (__atomic_exchange_n(&active, 1, __ATOMIC_SEQ_CST)) {
		errno = EBUSY;
		FAIL(err, "spawn", "waitid", NULL);
	}
	jail_warm_off();
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0) {
		errno = EBUSY;
		jail_fail(err, "spawn", "waitid", NULL);
		goto refused;
	}
	/* Orphans of the command's processes come to us rather than to init,
	 * even from a new session, so that end_descendants finds them all. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		jail_fail(err, "spawn", "prctl", NULL);
		goto refused;
	}
	/* No handler of ours may run in the child before it resets them;
	 * its last step before exec sets default dispositions, then an empty
	 * mask (jail.c). */
	/* The observer's thread waits for the listener before the command
	 * exists: the command's own execve is answered while this thread is
	 * still blocked in the vfork. */
	if (plan->observer && jail_observe_start(plan->observer) < 0) {
		jail_fail(err, "observe", "pthread_create", NULL);
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		goto refused;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	early = 0;
	seen = 0;
	forward_signals(plan->ns != NULL);
	/* For tests: a signal from outside while a command is made ready. */
	if (plan->go_fd >= 0 && getenv("JAIL_TEST_SIGNAL_WHEN_READY"))
		kill(getpid(), SIGTERM);
	pid = plan->ns ? start_init(plan, err, &supervised, NULL, &init_reports, &failed)
		       : clone_command(plan, err, &supervised);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (plan->observer)
		jail_observe_spawned(plan->observer);
	if (pid > 0)
		pass_early(pid);
	if (pid > 0 && plan->ns) {
		init_pid = pid;
		if (await_exec(pid, init_reports, fds, plan->ns->n_sockets, &last_report, &supervised, failed, err) < 0) {
			forget_init();
			pid = -1;
		}
	}
	if (pid > 0)
		return pid; /* it execed; jail_supervise waits for it */
	restore_signals();
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	jail_observe_stop();
refused:
	__atomic_store_n(&active, 0, __ATOMIC_SEQ_CST);
	errno = err->code;
	return -1;
}

int jail_spawn_child(struct jail_plan *plan, struct jail_stdio *io, int *fds, struct jail_report *last,
		     struct jail_child *out, struct jail_error *err)
{
	sigset_t all, old;
	int pid, failed;

	out->report = -1;
	io->pidfd = -1;
	/* No handler of ours may run in the child before it resets them (the
	 * command's child shares our memory; the init waits for signals with
	 * all of them blocked). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (!jail_warm_begun(plan))
		jail_warm_cancel(); /* one begun for another plan never runs */
	pid = jail_warm_begun(plan) ? jail_warm_finish(plan, io, &out->report, &failed) : jail_warm_start(plan, err, io, &out->report, &failed);
	if (pid == -2)
		pid = start_init(plan, err, NULL, io, &out->report, &failed);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0 && await_exec(pid, out->report, fds, plan->ns ? plan->ns->n_sockets : 0, last, NULL, failed, err) < 0) {
		close(out->report);
		close(io->pidfd);
		out->report = io->pidfd = -1;
		errno = err->code;
		pid = -1;
	}
	out->pid = pid;
	out->pidfd = io->pidfd;
	if (pid > 0)
		jail_warm_ask(plan);
	return pid;
}

int jail_spawn_child_begin(struct jail_plan *plan, struct jail_stdio *io, struct jail_error *err)
{
	sigset_t all, old;
	int r;

	io->pidfd = -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = jail_warm_begin(plan, err, io, 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r == 0 ? 1 : r == -2 ? 0 : -1;
}

void jail_spawn_child_cancel(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	jail_warm_cancel();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int jail_child_reap(struct jail_child *c, int *status)
{
	struct jail_report r;
	pid_t got;
	int saved;

	while ((got = waitpid(c->pid, status, WNOHANG | __WALL)) < 0 && errno == EINTR)
		;
	if (got == 0)
		return 0;
	saved = errno;
	/* The init sent the command's status before it exited, and its end
	 * of the socket is closed now: this never waits. */
	if (got > 0 && c->report >= 0 && recv(c->report, &r, sizeof(r), MSG_DONTWAIT) == (ssize_t)sizeof(r) &&
	    r.kind == JAIL_REPORT_STATUS)
		*status = r.value;
	if (c->report >= 0)
		close(c->report);
	close(c->pidfd);
	c->report = c->pidfd = -1;
	jail_warm_go();
	errno = saved;
	return got > 0 ? 1 : -1;
}

/* The parent's pid in /proc/<pid>/stat ("pid (comm) state ppid …"; comm
 * may hold spaces and parens), or -1. */
static pid_t parent_of(const char *pid)
{
	char path[sizeof("/proc//stat") + NAME_MAX], stat[512], *p;
	ssize_t n;
	pid_t ppid = 0;
	int fd;

	if (strlen(pid) > NAME_MAX)
		return -1;
	memcpy(path, "/proc/", 6);
	memcpy(path + 6, pid, strlen(pid));
	memcpy(path + 6 + strlen(pid), "/stat", sizeof("/stat"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1; /* gone meanwhile */
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	p = strrchr(stat, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -1;
	for (p += 4; *p >= '0' && *p <= '9'; p++)
		ppid = ppid * 10 + (*p - '0');
	return ppid;
}

/* SIGKILL every process whose parent is this one. Without a readable /proc
 * it finds none, and jail_end_descendants then waits for them to end
 * instead. Only syscalls, on the stack: the fallback's init (a fork of a
 * threaded process) runs it too. */
static void kill_children(void)
{
	char buf[4096];
	pid_t self = getpid();
	long n, at;
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (proc < 0)
		return;
	while ((n = syscall(SYS_getdents64, proc, buf, sizeof(buf))) > 0) {
		for (at = 0; at < n;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + at);
			at += d->reclen;
			if (d->name[0] >= '1' && d->name[0] <= '9' && parent_of(d->name) == self)
				kill((pid_t)strtol(d->name, NULL, 10), SIGKILL);
		}
	}
	close(proc);
}

/* The command has ended: end what it left running, before anything is
 * cleaned up. All of it is ours to reap, as subreaper; a process group
 * would miss what called setsid. Killing a child we have not reaped is safe:
 * its pid cannot be reused until we reap it. Orphans of those we kill come
 * to us in turn, so: kill our children, reap, until there are none. */
void jail_end_descendants(void)
{
	pid_t r;

	for (;;) {
		r = waitpid(-1, NULL, WNOHANG | __WALL);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue; /* reaped one (or interrupted): look again */
		if (r < 0)
			return; /* ECHILD: none left */
		kill_children(); /* r == 0: some are alive */
		if (waitpid(-1, NULL, __WALL) < 0 && errno == ECHILD)
			return;
	}
}

/* The command stopped (SIGTSTP it took, SIGTTIN, SIGSTOP): stop with the
 * same signal, as a shell's job would, so that the shell takes the terminal
 * back and says so; fg or bg continues this process, and their SIGCONT
 * reaches the command as any signal does (its process group, or passed
 * on). With the default action for the time, so that it is not passed back
 * to the command.
 * Only the namespace layer's command is followed (see forwarded[]): the
 * init's report socket continues this process when a record comes (arm_wakeup): the command was continued by
 * another (its own child, kill -CONT from elsewhere), or ended, and this
 * process must not stay stopped while it runs (a SIGTERM to the jail would
 * wait for a fg that may never come). A record that came since the caller
 * looked, or comes before the stop takes effect, cancels it: the signal is
 * raised blocked (a SIGCONT discards a pending stop signal), the socket
 * looked at, and only then unblocked. SIGSTOP cannot be blocked: only the
 * look comes last. */
static void stop_as(int sig, int reports)
{
	/* reports: the init's socket, open while the init lives */
	static const struct timespec now = { 0, 0 };
	struct sigaction dfl, old;
	sigset_t set, mask;
	char byte;
	int had = 0, changed;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (sig != SIGSTOP)
		had = sigaction(sig, &dfl, &old) == 0;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, &mask);
	if (sig != SIGSTOP)
		raise(sig); /* pending on this thread until unblocked */
	/* a record waiting, or the init gone (0): the command has moved on */
	changed = recv(reports, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
	if (!changed && sig == SIGSTOP)
		raise(sig);
	else if (!changed)
		pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* stops here */
	if (sig != SIGSTOP)
		sigtimedwait(&set, NULL, &now); /* one that did not stop us */
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (had)
		sigaction(sig, &old, NULL);
}

/* The kernel continues this process whenever the init reports (SIGIO as
 * SIGCONT, si_code POLL_IN: forward() does not pass it on). Best effort:
 * without it, a stop lasts until fg. */
static void arm_wakeup(int sock)
{
	int flags = fcntl(sock, F_GETFL);

	if (flags >= 0 && fcntl(sock, F_SETSIG, SIGCONT) == 0 && fcntl(sock, F_SETOWN, getpid()) == 0)
		fcntl(sock, F_SETFL, flags | O_ASYNC);
}

/* Whether the namespace layer's command (PID 2 there, a child of the init)
 * is stopped now: 0 when it is not, else 1 (also when it cannot be told).
 * A stop report may be stale: a SIGTTIN or SIGTTOU the terminal sent the
 * whole process group stopped us too, and fg continued us and the command
 * at once, before the init said so. */
static int command_stopped(void)
{
	char path[64], list[512], status[2048], *p, *end, *line;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init_pid, (int)init_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	list[n] = '\0';
	for (p = list; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, status, sizeof(status) - 1);
		close(fd);
		if (n <= 0)
			continue;
		status[n] = '\0';
		line = strstr(status, "\nNSpid:");
		if (!line || !(end = strchr(line + 1, '\n')))
			continue;
		while (end > line && end[-1] >= '0' && end[-1] <= '9')
			end--;
		if (strncmp(end, "2\n", 2) != 0 || (end[-1] != '\t' && end[-1] != ' '))
			continue;
		line = strstr(status, "\nState:");
		if (!line)
			return 1;
		for (line += 7; *line == ' ' || *line == '\t'; line++)
			;
		return *line == 'T';
	}
	return 1;
}

/* Until the command ends: stop each time it stops. The namespace layer's
 * init reports its stops (start_init asks it to), then its status, which
 * lands in *last (kind 0: none came, the init was killed). The fallback's
 * command, our own child, is not followed (see forwarded[]). */
static void follow_stops(int pid, struct jail_report *last)
{
	struct jail_report more;
	int got;

	last->kind = 0;
	if (pid == init_pid) {
		arm_wakeup(init_reports);
		/* Only the last of what has come counts: a stop it has been
		 * continued from (fg continued us after a SIGTTIN that reached
		 * our process group too) is not followed. Until the status:
		 * the init blocks until it has sent that. */
		while (read_report(init_reports, last, NULL, NULL) > 0) {
			while (last->kind != JAIL_REPORT_STATUS &&
			       (got = (int)recv(init_reports, &more, sizeof(more), MSG_DONTWAIT)) == (int)sizeof(more))
				*last = more;
			if (last->kind == JAIL_REPORT_STOPPED && command_stopped())
				stop_as(last->value, init_reports);
			else if (last->kind != JAIL_REPORT_STOPPED && last->kind != JAIL_REPORT_CONTINUED)
				return;
		}
		last->kind = 0;
	}
}

int jail_supervise(int pid)
{
	struct jail_report r;
	siginfo_t si;
	int status = 0;

	follow_stops(pid, &r);
	/* Wait without reaping, stop forwarding (and let a handler that read
	 * the pid on another thread finish), then reap: a signal arriving
	 * meanwhile cannot reach a process that reused the pid. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	__atomic_store_n(&supervised, -1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&forwarding, __ATOMIC_SEQ_CST) > 0)
		sched_yield();
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* The namespace layer: the init reports the command's own status
	 * before it exits; without a report (it was killed), its own. */
	if (pid == init_pid) {
		if (r.kind == JAIL_REPORT_STATUS)
			status = r.value;
		forget_init();
	}
	jail_end_descendants();
	jail_observe_stop(); /* no process is left under its filter */
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	restore_signals();
	__atomic_store_n(&active, 0, __ATOMIC_SEQ_CST);
	return status;
}

int jail_signals_seen(void)
{
	return __atomic_load_n(&seen, __ATOMIC_SEQ_CST);
}

void jail_reraise(int sig)
{
	struct rlimit none = { 0, 0 };
	sigset_t set;

	/* No core of this process: its memory holds the environment the jail
	 * filtered, tokens and all. Not dumpable covers a core_pattern pipe,
	 * which ignores RLIMIT_CORE. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}
