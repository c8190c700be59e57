/*
 * The observer (observe.h). The command installs the filter just before
 * its exec, with a listener, and sends the listener here over a socket
 * pair made before the clone; a thread started then is already waiting
 * for it, so even the first execve is answered while the thread that
 * cloned the command is still blocked in its vfork. For each notification
 * the thread reads the path arguments (process_vm_readv, page by page up
 * to PATH_MAX), and the directory a relative one starts from
 * (/proc/PID/fd/N or /proc/PID/cwd), checks that the notification is still
 * live (SECCOMP_IOCTL_NOTIF_ID_VALID: the pid was not reused meanwhile),
 * answers CONTINUE, and appends a record. Past the bounds a call is
 * answered at once and counted. Nothing read here is trusted for anything
 * but a report: the call goes on as the program made it.
 */
#define _GNU_SOURCE
#include "observe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0) /* Linux 5.5 */
#endif

static pthread_t thread;
static int running;
static int rx = -1;                /* the thread's end of the socket pair */
static int stop_pipe[2] = { -1, -1 };
/* The plan's table, copied: the plan is gone once spawn returns. */
static struct jail_observe_call calls[JAIL_OBSERVE_MAX_SYSCALLS];
static size_t n_calls;

/* What was recorded since the last take. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena;
static size_t used, cap, count;
static uint64_t dropped;

/* Read a NUL-terminated string of the caller, a page at a time (a read
 * across an unmapped page fails whole). Its length, or -1. */
static ssize_t read_string(pid_t pid, uint64_t addr, char *out, size_t size)
{
	size_t got = 0, page = (size_t)sysconf(_SC_PAGESIZE);

	while (got < size) {
		size_t want = page - (size_t)((addr + got) % page);
		struct iovec local, remote;
		char *nul;
		ssize_t n;

		if (want > size - got)
			want = size - got;
		local.iov_base = out + got;
		local.iov_len = want;
		remote.iov_base = (void *)(uintptr_t)(addr + got);
		remote.iov_len = want;
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return -1;
		nul = memchr(out + got, '\0', (size_t)n);
		if (nul)
			return nul - out;
		got += (size_t)n;
	}
	return -1; /* longer than PATH_MAX: the kernel refuses it too */
}

/* The directory a relative path starts from, as /proc shows it. */
static ssize_t read_base(pid_t pid, int dirfd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, dirfd);
	n = readlink(link, out, size);
	return n < 0 || (size_t)n >= size ? 0 : n;
}

static const struct jail_observe_call *call_of(int nr)
{
	size_t i;

	for (i = 0; i < n_calls; i++)
		if (calls[i].nr == nr)
			return &calls[i];
	return NULL;
}

static void append(const struct jail_observed *h, char s[4][PATH_MAX])
{
	size_t size = sizeof(*h) + h->len[0] + h->len[1] + h->len[2] + h->len[3];
	size_t at, i;

	size = (size + 7) & ~(size_t)7;
	pthread_mutex_lock(&lock);
	if (used + size > cap && cap < JAIL_OBSERVE_MAX_BYTES) {
		size_t grown = cap ? cap * 2 : 1u << 16;
		char *p;
		while (grown < used + size)
			grown *= 2;
		if (grown > JAIL_OBSERVE_MAX_BYTES)
			grown = JAIL_OBSERVE_MAX_BYTES;
		p = realloc(arena, grown);
		if (p) {
			arena = p;
			cap = grown;
		}
	}
	if (used + size > cap) {
		dropped++;
	} else {
		memcpy(arena + used, h, sizeof(*h));
		at = used + sizeof(*h);
		for (i = 0; i < 4; i++) {
			memcpy(arena + at, s[i], h->len[i]);
			at += h->len[i];
		}
		used += size;
		count++;
	}
	pthread_mutex_unlock(&lock);
}

static void record(int listener, const struct seccomp_notif *req)
{
	static char s[4][PATH_MAX]; /* only this thread */
	const struct jail_observe_call *c = call_of(req->data.nr);
	struct jail_observed h;
	pid_t pid = (pid_t)req->pid;
	uint64_t id = req->id, word;
	struct iovec local = { &word, sizeof(word) }, remote;
	ssize_t n;
	int i, full;

	pthread_mutex_lock(&lock);
	full = count >= JAIL_OBSERVE_MAX_CALLS;
	if (full)
		dropped++;
	pthread_mutex_unlock(&lock);
	if (full || !c)
		return;
	memset(&h, 0, sizeof(h));
	h.nr = req->data.nr;
	h.pid = req->pid;
	memcpy(h.args, req->data.args, sizeof(h.args));
	for (i = 0; i < 2; i++) {
		if (c->path[i] < 0)
			continue;
		n = read_string(pid, req->data.args[c->path[i]], s[2 * i], PATH_MAX);
		h.len[2 * i] = n < 0 ? 0 : (uint16_t)n;
		if (n > 0 && s[2 * i][0] != '/') {
			int dirfd = c->dirfd[i] < 0 ? AT_FDCWD : (int)req->data.args[c->dirfd[i]];
			h.len[2 * i + 1] = (uint16_t)read_base(pid, dirfd, s[2 * i + 1], PATH_MAX);
		}
	}
	if (c->deref >= 0) {
		remote.iov_base = (void *)(uintptr_t)req->data.args[c->deref];
		remote.iov_len = sizeof(word);
		h.args[c->deref] = process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof(word) ? word : 0;
	}
	/* Still the same call of the same process: what was read is its. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
		return;
	append(&h, s);
}

/* The listener the command sends, or -1 when none comes (it failed before,
 * or we are told to stop). */
static int receive_listener(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct pollfd p[2] = { { rx, POLLIN, 0 }, { stop_pipe[0], POLLIN, 0 } };
	struct cmsghdr *c;
	int fd = -1;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (p[1].revents || recvmsg(rx, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Until every process under the filter has ended (the listener hangs up)
 * or we are told to stop. */
static void *serve(void *arg)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int listener = receive_listener();

	(void)arg;
	while (listener >= 0) {
		struct pollfd p[2] = { { listener, POLLIN, 0 }, { stop_pipe[0], POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || (!(p[0].revents & POLLIN) && (p[0].revents & (POLLHUP | POLLERR))))
			break;
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
			continue; /* ENOENT: the caller was gone before we took it */
		record(listener, &req);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT: it died meanwhile */
	}
	if (listener >= 0)
		close(listener);
	return NULL;
}

int jail_observe_start(struct jail_observer *obs)
{
	sigset_t all, old;
	int fds[2], rc;

	if (obs->n_calls > JAIL_OBSERVE_MAX_SYSCALLS) {
		errno = EINVAL;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -1;
	if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
		rc = errno;
		close(fds[0]);
		close(fds[1]);
		errno = rc;
		return -1;
	}
	rx = fds[0];
	obs->sock = fds[1];
	memcpy(calls, obs->calls, obs->n_calls * sizeof(*calls));
	n_calls = obs->n_calls;
	/* No signal handler of the supervisor's runs on this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&thread, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(fds[1]);
		obs->sock = -1;
		running = 1; /* so that stop closes the rest */
		jail_observe_stop();
		errno = rc;
		return -1;
	}
	running = 2;
	return 0;
}

void jail_observe_spawned(struct jail_observer *obs)
{
	if (obs->sock >= 0)
		close(obs->sock);
	obs->sock = -1;
}

int jail_observe_install(struct jail_observer *obs, const char **sc)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct sock_fprog prog;
	struct cmsghdr *c;
	int fd, saved;
	ssize_t sent;

	prog.len = (unsigned short)(obs->filter_len / sizeof(struct sock_filter));
	prog.filter = (struct sock_filter *)obs->filter;
	*sc = "seccomp";
	fd = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return -1;
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	*sc = "sendmsg";
	while ((sent = sendmsg(obs->sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	saved = errno;
	/* The command never holds the listener, nor the way to the thread. */
	close(fd);
	close(obs->sock);
	errno = saved;
	return sent < 0 ? -1 : 0;
}

void jail_observe_stop(void)
{
	if (!running)
		return;
	if (running == 2) {
		ssize_t w = write(stop_pipe[1], "", 1);
		(void)w;
		pthread_join(thread, NULL);
	}
	running = 0;
	close(rx);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	rx = stop_pipe[0] = stop_pipe[1] = -1;
	n_calls = 0;
}

char *jail_observe_take(size_t *bytes, size_t *n, uint64_t *lost)
{
	char *out;

	pthread_mutex_lock(&lock);
	out = arena;
	*bytes = used;
	*n = count;
	*lost = dropped;
	arena = NULL;
	used = cap = count = 0;
	dropped = 0;
	pthread_mutex_unlock(&lock);
	return out;
}
