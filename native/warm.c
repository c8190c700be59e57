/*
 * The warm init (warm.h): the namespace layer's init made ahead of the
 * library's next spawn.
 *
 * Making the layer's namespaces is most of what the kernel does for a spawn
 * (a network namespace alone: about a millisecond). A program that spawns
 * again and again (the library, on its main thread) gets its next init
 * made ahead: once a spawn's child is reaped, a thread of ours clones one
 * (jail_warm_init_main, ns.c) while the caller goes on, and the next spawn
 * with the same ids and network takes it rather than cloning. It shares
 * our memory and, until it is taken, our descriptor table, so that what
 * the spawn opens later (the command's stdio, the plan's ruleset) is there
 * for it. The thread that cloned it stays blocked while the init, and then
 * its command, may use its memory (the stack, errno), until the spawn that
 * took it, or dropped it, lets it go.
 *
 * What a clone copies, and would copy differently at the spawn, is checked
 * when it is taken, and a difference drops it: the effective ids, the
 * resource limits, the nice value, and the mount table (a mount or unmount
 * since: its copy of the tree is not the machine's any more). The umask is
 * handed to it. Other per-thread state a clone copies (CPU affinity, a
 * seccomp filter added to the caller's thread later) is the thread's as it
 * was when the first spawn made it.
 *
 * Once woken, the init builds the view; the spawning thread, free
 * meanwhile, adds the view's rule-only entries (root's /etc, entry by
 * entry) to the ruleset (jail_view_rules), and the command waits for its
 * word before it is confined (plan->rules_fd). Started in two halves
 * (jail_warm_begin, then jail_warm_finish or jail_warm_cancel), the
 * spawning thread returns to its caller before it says the word: the
 * library checks meanwhile that the plan it kept still holds, and ends
 * the command, which ran nothing, when it does not.
 */
#define _GNU_SOURCE
#include "warm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns.h"
#include "view.h"

enum warm_state { WARM_NONE, WARM_MAKING, WARM_READY, WARM_TAKEN };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	enum warm_state state;
	int thread;   /* started */
	int off;      /* jail_spawn was used: none any more */
	int pending;  /* one will be wanted (warm_ask) */
	int asked;    /* one is wanted, as ask_uid, ask_gid, ask_net say */
	uint32_t ask_uid, ask_gid;
	int ask_net;
	/* the one made, and what it was made with */
	struct jail_init_args args;
	uid_t euid;
	gid_t egid;
	int nice;
	struct rlimit lim[RLIM_NLIMITS];
	pid_t pid;
	int pidfd;
	int report[2];  /* [0] ours, [1] the init's */
	int wake[2];    /* [0] ours, [1] the init's */
	int release[2]; /* the thread waits on [0] */
	int mounts;     /* /proc/self/mounts: POLLPRI once the mount table changed */
	char *stack;
} warm = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .state = WARM_NONE };

#define WARM_STACK (JAIL_INIT_STACK + JAIL_CHILD_STACK)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void warm_limits(struct rlimit *lim)
{
	int r;

	for (r = 0; r < RLIM_NLIMITS; r++)
		if (getrlimit(r, &lim[r]) < 0)
			lim[r].rlim_cur = lim[r].rlim_max = 0;
}

/* This process's umask, read without changing it (umask(2) would, for
 * every thread, for a moment); (mode_t)-1 when /proc cannot say. */
static mode_t warm_umask(void)
{
	char buf[1024], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return (mode_t)-1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (mode_t)-1;
	buf[n] = '\0';
	p = strstr(buf, "\nUmask:\t");
	return p ? (mode_t)strtol(p + 8, NULL, 8) : (mode_t)-1;
}

/* On the thread: clone a warm init as asked; 0 when made. */
static int warm_make(void)
{
	int flags = CLONE_VM | CLONE_FILES | CLONE_PIDFD | SIGCHLD | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
		    CLONE_NEWIPC | (warm.ask_net ? CLONE_NEWNET : 0);

	warm.report[0] = warm.report[1] = warm.wake[0] = warm.wake[1] = warm.release[0] = warm.release[1] = -1;
	warm.pidfd = -1;
	/* Before the clone copies the mount table: a change after it shows. */
	warm.mounts = open("/proc/self/mounts", O_RDONLY | O_CLOEXEC);
	warm.stack = mmap(NULL, WARM_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (warm.mounts < 0 || warm.stack == MAP_FAILED || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, warm.report) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, warm.wake) < 0 || pipe2(warm.release, O_CLOEXEC) < 0)
		goto failed;
	memset(&warm.args, 0, sizeof(warm.args));
	warm.args.report = warm.report[1];
	warm.args.peer = warm.report[0];
	warm.args.wake = warm.wake[1];
	warm.args.warm_uid = warm.ask_uid;
	warm.args.warm_gid = warm.ask_gid;
	warm.args.warm_net = warm.ask_net;
	warm.args.helper = -1;
	warm.euid = geteuid();
	warm.egid = getegid();
	warm.nice = getpriority(PRIO_PROCESS, 0);
	warm_limits(warm.lim);
	warm.pid = clone(jail_warm_init_main, warm.stack + JAIL_INIT_STACK, flags, &warm.args, &warm.pidfd);
	if (warm.pid > 0)
		return 0;
failed:
	if (warm.stack != MAP_FAILED)
		munmap(warm.stack, WARM_STACK);
	close_fd(&warm.mounts);
	close_fd(&warm.report[0]);
	close_fd(&warm.report[1]);
	close_fd(&warm.wake[0]);
	close_fd(&warm.wake[1]);
	close_fd(&warm.release[0]);
	close_fd(&warm.release[1]);
	return -1;
}

static void *warm_thread(void *unused)
{
	sigset_t all;
	char byte;

	(void)unused;
	/* Nothing of ours runs on this thread while an init may use it. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&warm.lock);
	for (;;) {
		while (!warm.asked || warm.off)
			pthread_cond_wait(&warm.changed, &warm.lock);
		warm.asked = 0;
		warm.state = WARM_MAKING;
		pthread_mutex_unlock(&warm.lock);
		if (warm_make() < 0) {
			pthread_mutex_lock(&warm.lock);
			warm.state = WARM_NONE;
			pthread_cond_broadcast(&warm.changed);
			continue;
		}
		pthread_mutex_lock(&warm.lock);
		warm.state = WARM_READY;
		pthread_cond_broadcast(&warm.changed);
		pthread_mutex_unlock(&warm.lock);
		/* Blocked until the init and its command are done with this
		 * thread's memory: whoever took or dropped it says so. */
		while (read(warm.release[0], &byte, 1) < 0 && errno == EINTR)
			;
		munmap(warm.stack, WARM_STACK);
		close_fd(&warm.mounts);
		close_fd(&warm.release[0]);
		close_fd(&warm.release[1]);
		pthread_mutex_lock(&warm.lock);
		warm.state = WARM_NONE;
		pthread_cond_broadcast(&warm.changed);
	}
	return NULL;
}

/* After a spawn in the layer from the main thread: the next spawn will
 * want an init like its (made once this one's command has ended: while it
 * runs, a clone would take a core from it). */
void jail_warm_ask(const struct jail_plan *plan)
{
	if (!plan->ns || getpid() != (pid_t)syscall(SYS_gettid) || getenv("JAIL_TEST_NO_WARM_INIT") || jail_init_helper() < 0)
		return;
	pthread_mutex_lock(&warm.lock);
	warm.pending = 1;
	warm.ask_uid = plan->ns->uid;
	warm.ask_gid = plan->ns->gid;
	warm.ask_net = plan->ns->net;
	pthread_mutex_unlock(&warm.lock);
}

/* A child of jail_spawn_child was reaped: make the init warm_ask asked
 * for, if any. */
void jail_warm_go(void)
{
	pthread_t t;

	if (getpid() != (pid_t)syscall(SYS_gettid))
		return;
	pthread_mutex_lock(&warm.lock);
	if (warm.pending && !warm.off && !warm.thread && pthread_create(&t, NULL, warm_thread, NULL) == 0) {
		pthread_detach(t);
		warm.thread = 1;
	}
	if (warm.pending && warm.thread && !warm.off)
		warm.asked = 1;
	warm.pending = 0;
	pthread_cond_broadcast(&warm.changed);
	pthread_mutex_unlock(&warm.lock);
}

/* The ready init, taken (WARM_TAKEN); its state is the caller's then. */
static int warm_take(void)
{
	int took;

	pthread_mutex_lock(&warm.lock);
	took = warm.state == WARM_READY;
	if (took)
		warm.state = WARM_TAKEN;
	pthread_mutex_unlock(&warm.lock);
	return took;
}

/* A taken init that will not serve: told so (or killed), reaped, and the
 * thread let go. */
static void warm_drop(void)
{
	int status;

	if (send(warm.wake[0], "x", 1, MSG_NOSIGNAL) != 1)
		syscall(SYS_pidfd_send_signal, warm.pidfd, SIGKILL, NULL, 0);
	while (waitpid(warm.pid, &status, __WALL) < 0 && errno == EINTR)
		;
	close_fd(&warm.pidfd);
	close_fd(&warm.report[0]);
	close_fd(&warm.report[1]);
	close_fd(&warm.wake[0]);
	close_fd(&warm.wake[1]);
	if (write(warm.release[1], "r", 1) < 0) {
		/* a pipe of ours with room: cannot fail */
	}
}

/* No warm init in this process from now on (jail_spawn: every child must
 * be its command's); one there is dropped. */
void jail_warm_off(void)
{
	pthread_mutex_lock(&warm.lock);
	warm.off = 1;
	while (warm.state == WARM_MAKING)
		pthread_cond_wait(&warm.changed, &warm.lock);
	if (warm.state == WARM_READY) {
		warm.state = WARM_TAKEN;
		pthread_mutex_unlock(&warm.lock);
		warm_drop();
		pthread_mutex_lock(&warm.lock);
		while (warm.state != WARM_NONE)
			pthread_cond_wait(&warm.changed, &warm.lock);
	}
	pthread_mutex_unlock(&warm.lock);
}

/* The run the warm init took (jail_warm_begin), until jail_warm_finish or
 * jail_warm_cancel: the init and its command use these (the command's
 * frame, the word's socket) and the caller's plan, err and io. */
static struct {
	int begun;
	struct jail_plan *plan;
	struct jail_error *err;
	struct jail_command command;
	int ruleset;
	int done[2];  /* [0] ours: end of file once the init and the command exec'd or ended */
	int rules[2]; /* [1] ours: the command's word to go on (plan->rules_fd) */
} run = { .done = { -1, -1 }, .rules = { -1, -1 } };

static int main_thread(void)
{
	return getpid() == (pid_t)syscall(SYS_gettid);
}

/* Until the init has exec'd and the command has exec'd, or both ended,
 * they use run.command and the thread's stack. */
static void await_done(void)
{
	struct pollfd p = { .fd = run.done[0], .events = 0 };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	close_fd(&run.done[0]);
}

int jail_warm_begin(struct jail_plan *plan, struct jail_error *err, struct jail_stdio *io, int gated)
{
	struct rlimit lim[RLIM_NLIMITS];
	struct pollfd p[2];
	mode_t mask;
	char word = 0;

	/* A worker thread's children die with it: only the main thread's
	 * spawns take one (it dies with the process). */
	if (!plan->ns || !main_thread() || run.begun || !warm_take())
		return -2;
	p[0].fd = warm.mounts;
	p[0].events = POLLPRI;
	warm_limits(lim);
	mask = warm_umask();
	if (warm.args.warm_uid != plan->ns->uid || warm.args.warm_gid != plan->ns->gid || warm.args.warm_net != plan->ns->net ||
	    warm.euid != geteuid() || warm.egid != getegid() || warm.nice != getpriority(PRIO_PROCESS, 0) ||
	    memcmp(lim, warm.lim, sizeof(lim)) != 0 || mask == (mode_t)-1 || poll(p, 1, 0) != 0 || pipe2(run.done, O_CLOEXEC) < 0) {
		warm_drop();
		return -2;
	}
	run.plan = plan;
	run.err = err;
	run.ruleset = plan->ruleset_fd;
	run.command = (struct jail_command){ plan, err, warm.stack + WARM_STACK, -1, { -1, -1 }, 0 };
	/* The word the command waits for before it confines itself: root's
	 * /etc rules are added meanwhile (about half the view's time, while
	 * the init builds the rest), and a gated run's caller checks what it
	 * must. */
	if ((gated || (jail_view_has_rules(plan->ns) && run.ruleset >= 0)) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, run.rules) < 0)
		goto unfit;
	plan->rules_fd = run.rules[0];
	warm.args.plan = plan;
	warm.args.stdio = io->fd;
	warm.args.helper = jail_init_helper();
	warm.args.umask = (int)mask;
	warm.args.command = &run.command;
	p[0].fd = warm.wake[0];
	p[0].events = POLLIN;
	p[1].fd = warm.pidfd;
	p[1].events = POLLIN;
	/* Woken, it answers once it has its own descriptors; gone, it was
	 * not fit to serve (it failed before it waited, or was killed). */
	if (warm.args.helper < 0 || send(warm.wake[0], "w", 1, MSG_NOSIGNAL) != 1)
		goto unfit;
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (!(p[0].revents & POLLIN) || recv(warm.wake[0], &word, 1, 0) != 1 || word != 'a')
		goto unfit;
	/* Its copies are its own now: ours of its ends go. */
	close_fd(&warm.wake[0]);
	close_fd(&warm.wake[1]);
	close_fd(&warm.report[1]);
	close_fd(&run.rules[0]);
	close_fd(&run.done[1]);
	run.begun = 1;
	/* The view leaves them to us whenever the command waits for a word. */
	if (run.rules[1] >= 0 && jail_view_has_rules(plan->ns) && jail_view_rules(plan->ns, run.ruleset, err) < 0) {
		jail_warm_cancel();
		errno = err->code;
		return -1;
	}
	return 0;
unfit:
	plan->rules_fd = -1; /* the cold start adds the rules in the init */
	close_fd(&run.done[0]);
	close_fd(&run.done[1]);
	close_fd(&run.rules[0]);
	close_fd(&run.rules[1]);
	warm_drop();
	return -2;
}

int jail_warm_begun(const struct jail_plan *plan)
{
	return main_thread() && run.begun && (!plan || run.plan == plan);
}

/* The end of a begun run, the init and its command killed and reaped
 * (nothing ran: the command waits for the word), the thread let go. */
void jail_warm_cancel(void)
{
	struct jail_error mine;
	int status;

	if (!jail_warm_begun(NULL))
		return;
	/* What the command writes to err as it dies is not what failed. */
	mine = *run.err;
	close_fd(&run.rules[1]);
	syscall(SYS_pidfd_send_signal, warm.pidfd, SIGKILL, NULL, 0);
	await_done();
	while (waitpid(warm.pid, &status, __WALL) < 0 && errno == EINTR)
		;
	*run.err = mine;
	run.plan->ruleset_fd = run.ruleset;
	run.plan->rules_fd = -1;
	close_fd(&warm.report[0]);
	close_fd(&warm.pidfd);
	run.begun = 0;
	if (write(warm.release[1], "r", 1) < 0) {
		/* a pipe of ours with room: cannot fail */
	}
}

int jail_warm_finish(const struct jail_plan *plan, struct jail_stdio *io, int *reports, int *failed)
{
	int pid;

	if (!jail_warm_begun(plan))
		return -2;
	if (run.rules[1] >= 0 && send(run.rules[1], "r", 1, MSG_NOSIGNAL) != 1) {
		jail_warm_cancel();
		jail_fail(run.err, "view", "send", NULL); /* the init is gone */
		errno = run.err->code;
		return -1;
	}
	close_fd(&run.rules[1]);
	await_done();
	*failed = run.command.failed;
	run.plan->ruleset_fd = run.ruleset;
	run.plan->rules_fd = -1; /* closed: the command had its own copy */
	*reports = warm.report[0];
	io->pidfd = warm.pidfd;
	pid = warm.pid;
	warm.report[0] = warm.pidfd = -1;
	run.begun = 0;
	if (write(warm.release[1], "r", 1) < 0) {
		/* a pipe of ours with room: cannot fail */
	}
	return pid;
}

int jail_warm_start(struct jail_plan *plan, struct jail_error *err, struct jail_stdio *io, int *reports, int *failed)
{
	int r = jail_warm_begin(plan, err, io, 0);

	return r < 0 ? r : jail_warm_finish(plan, io, reports, failed);
}
