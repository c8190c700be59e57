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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t supervised = -1;

/* Signals another process sent us go on to the command; those the kernel or
 * the terminal generated (Ctrl-C, a hangup) reached its process group too. */
static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (supervised > 0 && (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL))
		kill(supervised, sig);
}

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT };
static struct sigaction saved_actions[LEN(forwarded)];

/* From before the child exists until it is reaped, so that no signal
 * can take this process down without cleaning up after it. */
static void forward_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < LEN(forwarded); i++)
		sigaction(forwarded[i], &sa, &saved_actions[i]);
}

static void restore_signals(void)
{
	size_t i;

	supervised = -1;
	for (i = 0; i < LEN(forwarded); i++)
		sigaction(forwarded[i], &saved_actions[i], NULL);
}

struct child {
	struct jail_plan *plan;
	struct jail_error *err;
	pid_t parent;
	volatile int failed;
};

/* The child shares our memory until it execs (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does): no page tables to copy, and a failed step is written
 * straight into the parent's err. Only syscalls happen here. */
static int child_main(void *arg)
{
	struct child *c = arg;

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
	} else if (getppid() == c->parent) {
		jail_enter(c->plan, c->err); /* returns only when a step failed */
	}
	c->failed = 1;
	_exit(125);
}

#define CHILD_STACK (128 * 1024)

int jail_spawn(struct jail_plan *plan, struct jail_error *err)
{
	struct child c = { plan, err, getpid(), 0 };
	sigset_t all, old;
	siginfo_t si;
	char *stack;
	int pid, saved, status;

	/* After the command, every child of this process is ended (orphans
	 * become ours, below): there must be none of another's. */
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0) {
		errno = EBUSY;
		FAIL(err, "spawn", "waitid", NULL);
	}
	/* Orphans of the command's processes come to us rather than to init,
	 * even from a new session, so that end_descendants finds them all. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		FAIL(err, "spawn", "prctl", NULL);
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		saved = errno;
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		errno = saved;
		FAIL(err, "spawn", "mmap", NULL);
	}
	/* No handler of ours may run in the child before it resets them;
	 * its first step sets default dispositions, then an empty mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	forward_signals();
	pid = clone(child_main, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	saved = errno;
	if (pid > 0)
		supervised = pid;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK);
	if (pid < 0) {
		restore_signals();
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		errno = saved;
		FAIL(err, "spawn", "clone", NULL);
	}
	if (c.failed) { /* it exited: nothing ran */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		restore_signals();
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		errno = err->code;
		return -1;
	}
	return pid; /* it execed; jail_supervise waits for it */
}

/* SIGKILL every process whose parent is this one. Without a readable /proc
 * it finds none, and end_descendants then waits for them to end instead. */
static void kill_children(void)
{
	char path[sizeof("/proc//stat") + NAME_MAX], stat[512];
	const char *comm_end;
	struct dirent *e;
	pid_t self = getpid();
	DIR *proc = opendir("/proc");
	int fd, ppid;
	ssize_t n;

	if (!proc)
		return;
	while ((e = readdir(proc)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (n <= 0)
			continue;
		stat[n] = '\0';
		/* "pid (comm) state ppid …"; comm may hold spaces and parens. */
		comm_end = strrchr(stat, ')');
		if (comm_end && sscanf(comm_end + 1, " %*c %d", &ppid) == 1 && ppid == self)
			kill((pid_t)atoi(e->d_name), SIGKILL);
	}
	closedir(proc);
}

/* The command has ended: end what it left running, before anything is
 * cleaned up. All of it is ours to reap, as subreaper; a process group
 * would miss what called setsid. Killing a child we have not reaped is safe:
 * its pid cannot be reused until we reap it. Orphans of those we kill come
 * to us in turn, so: kill our children, reap, until there are none. */
static void end_descendants(void)
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

int jail_supervise(int pid)
{
	siginfo_t si;
	int status = 0;

	/* Wait without reaping, stop forwarding, then reap: a signal arriving
	 * meanwhile cannot reach a process that reused the pid. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	supervised = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	end_descendants();
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	restore_signals();
	return status;
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
