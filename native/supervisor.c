/*
 * The supervisor, outside the jail: start the command in a child, pass on
 * the signals sent to us, wait for it.
 */
#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
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
	volatile int failed;
};

/* The child shares our memory until it execs (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does): no page tables to copy, and a failed step is written
 * straight into the parent's err. Only syscalls happen here. */
static int child_main(void *arg)
{
	struct child *c = arg;

	jail_enter(c->plan, c->err); /* returns only when a step failed */
	c->failed = 1;
	_exit(125);
}

#define CHILD_STACK (128 * 1024)

int jail_spawn(struct jail_plan *plan, struct jail_error *err)
{
	struct child c = { plan, err, 0 };
	sigset_t all, old;
	char *stack;
	int pid, saved, status;

	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		FAIL(err, "spawn", "mmap", NULL);
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
		errno = saved;
		FAIL(err, "spawn", "clone", NULL);
	}
	if (c.failed) { /* it exited: nothing ran */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		restore_signals();
		errno = err->code;
		return -1;
	}
	return pid; /* it execed; jail_supervise waits for it */
}

int jail_supervise(int pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	restore_signals();
	return status;
}
