/*
 * landlock-only HANDLED_FS PATH:MASK... -- COMMAND [ARGS...]
 *
 * The Landlock-only baseline for fs-overhead.mjs: applies one Landlock
 * ruleset that handles the file-system rights HANDLED_FS and allows MASK
 * beneath each PATH (masks in hex or decimal; PATH is split at its last ':'),
 * sets no_new_privs, restricts itself and execs COMMAND (searched in PATH).
 * No seccomp, no capability drop, no Node: the same path rules as the jail
 * and nothing else, at near-zero start-up cost.
 *
 * The uapi is written out here because distribution headers (e.g. Debian
 * 12's linux/landlock.h) predate the rights jail uses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The same numbers on every architecture. */
#define NR_landlock_create_ruleset 444
#define NR_landlock_add_rule 445
#define NR_landlock_restrict_self 446
#define LANDLOCK_RULE_PATH_BENEATH 1

/* The kernel reads only the first `size` bytes: 8 = handled_access_fs only. */
struct landlock_ruleset_attr {
	uint64_t handled_access_fs;
};

struct landlock_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "landlock-only: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
	exit(125);
}

int main(int argc, char **argv)
{
	int sep = 1;
	while (sep < argc && strcmp(argv[sep], "--") != 0)
		sep++;
	if (sep < 2 || sep + 1 >= argc) {
		fprintf(stderr, "usage: landlock-only HANDLED_FS PATH:MASK... -- COMMAND [ARGS...]\n");
		return 125;
	}

	struct landlock_ruleset_attr attr = { .handled_access_fs = strtoull(argv[1], NULL, 0) };
	int ruleset = syscall(NR_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0)
		die("landlock_create_ruleset", NULL);

	for (int i = 2; i < sep; i++) {
		char *colon = strrchr(argv[i], ':');
		if (!colon) {
			fprintf(stderr, "landlock-only: %s: expected PATH:MASK\n", argv[i]);
			return 125;
		}
		*colon = '\0';
		struct landlock_path_beneath_attr rule = { .allowed_access = strtoull(colon + 1, NULL, 0) };
		rule.parent_fd = open(argv[i], O_PATH | O_CLOEXEC);
		if (rule.parent_fd < 0)
			die("open", argv[i]);
		if (syscall(NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
			die("landlock_add_rule", argv[i]);
		close(rule.parent_fd);
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("prctl(PR_SET_NO_NEW_PRIVS)", NULL);
	if (syscall(NR_landlock_restrict_self, ruleset, 0) < 0)
		die("landlock_restrict_self", NULL);
	close(ruleset);
	execvp(argv[sep + 1], argv + sep + 1);
	die("exec", argv[sep + 1]);
}
