/*
 * The jail's init once it has exec'd: a freestanding program (no libc, raw
 * syscalls) that the addon keeps in a sealed memfd and the init (ns.c)
 * execs after it has started the command. The init is first a vfork of
 * Node that shares Node's memory; exec'ing this leaves nothing of Node's
 * (memory, environment, argv) in the process that lives as long as the
 * command, and Node's page tables are never copied.
 *
 *   jail-init <report fd> <command pid> <flags: JAIL_INIT_* in report.h>
 *   jail-init                         (no arguments: exits 0; the addon's probe)
 *
 * It reports EXECED on the report socket, then waits for signals, all of
 * them blocked (the mask survives exec), reaps, passes on what comes from
 * outside, and reports the command's wait status when it ends, as serve()
 * in ns.c does for the forked init.
 */
#include <asm/fcntl.h>
#include <asm/signal.h>
#include <asm/unistd.h>
#include <linux/prctl.h>
#include <linux/wait.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define AT_FDCWD (-100)
#define MSG_NOSIGNAL 0x4000
#define MSG_DONTWAIT 0x40
#define SI_USER 0
#define SI_QUEUE (-1)
#define SI_TKILL (-6)
#define EINTR 4
#define ECHILD 10

#if defined(__x86_64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The kernel enters with the stack pointer at argc; keep it 16-aligned. */
__asm__(".text\n.global _start\n_start:\n"
	"xor %rbp, %rbp\nmov %rsp, %rdi\nand $-16, %rsp\ncall start\nhlt\n");
#elif defined(__aarch64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}

__asm__(".text\n.global _start\n_start:\n"
	"mov x29, #0\nmov x30, #0\nmov x0, sp\nbl start\nbrk #0\n");
#else
#error "no init helper for this architecture (the addon forks the init instead)"
#endif

#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *to, int c, size_t n);
void *memset(void *to, int c, size_t n)
{
	volatile unsigned char *p = to; /* not turned back into a memset call */

	while (n--)
		*p++ = (unsigned char)c;
	return to;
}

static _Noreturn void die(int code)
{
	for (;;)
		sys(__NR_exit_group, code, 0, 0);
}

static long number(const char *s)
{
	long n = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > 100000000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* The kernel's siginfo: 128 bytes; for kill(), the sender's pid at 16
 * on both architectures. */
struct info {
	int32_t signo, err, code, pad;
	int32_t pid, uid;
	char rest[128 - 24];
};

/* The kernel's struct sigaction (asm/signal.h names glibc's otherwise). */
struct action {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void ignore(int sig)
{
	(void)sig;
}

/* As serve() in ns.c: only signals from outside the PID namespace (si_pid
 * 0 there) reach the command; without one, every sender counts. */
static int from_outside(const struct info *si, int own_pid_ns)
{
	return (si->code == SI_USER || si->code == SI_QUEUE || si->code == SI_TKILL) && (si->pid == 0 || !own_pid_ns);
}

static void report(int fd, int kind, int value, long flags)
{
	struct jail_report r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.value = value;
	while (sys6(__NR_sendto, fd, (long)&r, sizeof(r), MSG_NOSIGNAL | flags, 0, 0) == -EINTR)
		;
}

/* ---- the fallback: no PID namespace ---------------------------------------- */

/* The parent's pid in /proc/<pid>/stat ("pid (comm) state ppid …"; comm may
 * hold spaces and parens), or -1. */
static long parent_of(const char *pid)
{
	char path[64] = "/proc/", stat[512], *p = path + 6, *close = NULL;
	long n, fd, ppid = 0;

	while (*pid && p < path + sizeof(path) - sizeof("/stat"))
		*p++ = *pid++;
	for (const char *s = "/stat"; (*p++ = *s); s++)
		;
	fd = sys6(__NR_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	n = sys(__NR_read, fd, stat, sizeof(stat) - 1);
	sys(__NR_close, fd, 0, 0);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	for (p = stat; *p; p++)
		if (*p == ')')
			close = p;
	if (!close || close[1] != ' ' || !close[2] || close[3] != ' ')
		return -1;
	for (p = close + 4; *p >= '0' && *p <= '9'; p++)
		ppid = ppid * 10 + (*p - '0');
	return ppid;
}

static void kill_children(long self)
{
	char buf[4096];
	long proc = sys6(__NR_openat, AT_FDCWD, (long)"/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
	long n, at;

	if (proc < 0)
		return;
	while ((n = sys(__NR_getdents64, proc, buf, sizeof(buf))) > 0) {
		for (at = 0; at < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + at);
			at += d->reclen;
			if (d->name[0] >= '1' && d->name[0] <= '9' && parent_of(d->name) == self)
				sys(__NR_kill, number(d->name), SIGKILL, 0);
		}
	}
	sys(__NR_close, proc, 0, 0);
}

/* As jail_end_descendants() in supervisor.c: what the command left running
 * came to us (child subreaper, which exec kept): kill our children and
 * reap, until there are none. */
static void end_descendants(void)
{
	long self = sys(__NR_getpid, 0, 0, 0), r;

	for (;;) {
		r = sys6(__NR_wait4, -1, 0, WNOHANG | __WALL, 0, 0, 0);
		if (r > 0 || r == -EINTR)
			continue;
		if (r < 0)
			return;
		kill_children(self);
		if (sys6(__NR_wait4, -1, 0, __WALL, 0, 0, 0) == -ECHILD)
			return;
	}
}

/* ---- the init --------------------------------------------------------------- */

_Noreturn void start(long *sp);
_Noreturn void start(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	long fd, command, own_pid_ns, stops, pid;
	struct action sa;
	struct info si;
	uint64_t all = ~0ULL;
	int status, sig;

	if (argc != 4)
		die(argc == 1 ? 0 : 125);
	fd = number(argv[1]);
	command = number(argv[2]);
	own_pid_ns = number(argv[3]);
	if (fd < 0 || command <= 0 || own_pid_ns < 0 || own_pid_ns > 3)
		die(125);
	stops = own_pid_ns & JAIL_INIT_REPORT_STOPS;
	own_pid_ns &= JAIL_INIT_OWN_PID_NS;
	/* exec made us dumpable again and reset the name (and the handlers) */
	sys(__NR_prctl, PR_SET_DUMPABLE, 0, 0);
	sys(__NR_prctl, PR_SET_NAME, "jail-init", 0);
	/* Nothing but the report socket stays open here. */
	if (fd > 0)
		sys(__NR_close_range, 0, fd - 1, 0);
	sys(__NR_close_range, fd + 1, ~0U, 0);
	/* PID 1 of a PID namespace is sent only signals it handles. None runs:
	 * all stay blocked and are taken below (so no restorer is needed).
	 * SIGCHLD keeps its default so that ended children wait to be reaped. */
	memset(&sa, 0, sizeof(sa));
	sa.handler = ignore;
	for (sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sys6(__NR_rt_sigaction, sig, (long)&sa, 0, 8, 0, 0);
	report(fd, JAIL_REPORT_EXECED, 0, 0);
	for (;;) {
		/* the command may have ended before we got here */
		while ((pid = sys6(__NR_wait4, -1, (long)&status, WNOHANG | __WALL | (stops ? WUNTRACED | WCONTINUED : 0), 0, 0, 0)) > 0) {
			if (pid != command)
				continue;
			if ((status & 0xff) == 0x7f || status == 0xffff) {
				/* stopped, or continued: the supervisor stops as
				 * it did. Never waits: one it misses only leaves
				 * it running. */
				report(fd, status == 0xffff ? JAIL_REPORT_CONTINUED : JAIL_REPORT_STOPPED, (status >> 8) & 0xff, MSG_DONTWAIT);
				continue;
			}
			/* All the command left running ends before its status
			 * goes: the caller takes the run as over when it comes,
			 * not when this process has exited, which in the
			 * namespace layer takes the namespaces down with it. As
			 * PID 1, kill(-1) reaches every other process of the
			 * jail, and all that die come here to be reaped. */
			if (own_pid_ns) {
				sys(__NR_kill, -1, SIGKILL, 0);
				while ((pid = sys6(__NR_wait4, -1, 0, __WALL, 0, 0, 0)) > 0 || pid == -EINTR)
					;
			} else {
				end_descendants();
			}
			report(fd, JAIL_REPORT_STATUS, status, 0);
			die(0);
		}
		sig = (int)sys6(__NR_rt_sigtimedwait, (long)&all, (long)&si, 0, 8, 0, 0);
		if (sig == SUPERVISOR_GONE && !own_pid_ns) {
			/* The fallback's parent-death signal (ns.c): end all that
			 * is ours before we go; nothing else will. */
			sys(__NR_kill, command, SIGKILL, 0);
			end_descendants();
			die(125);
		}
		if (sig > 0 && sig != SIGCHLD && from_outside(&si, (int)own_pid_ns))
			sys(__NR_kill, command, sig, 0);
	}
}
