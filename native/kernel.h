/*
 * Kernel ABI the addon needs, defined here rather than taken from
 * <linux/landlock.h>: distributions ship headers older than their kernels
 * (Debian 12's stops at Landlock ABI 3), and the addon must build the same
 * everywhere. Values are the kernel's uapi ones (include/uapi/linux/landlock.h,
 * include/uapi/linux/seccomp.h, include/uapi/linux/openat2.h,
 * include/uapi/linux/mount.h); the access-right bits themselves live in
 * src/landlock/abi.ts, because choosing rights is policy.
 */
#ifndef JAIL_KERNEL_H
#define JAIL_KERNEL_H

#include <stdint.h>
#include <sys/syscall.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444 /* same number on every arch */
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437 /* Linux 5.6; same number on every arch */
#endif
/* The mount API of Linux 5.2 and mount_setattr (5.12): same numbers on
 * every arch. Landlock (5.13) implies all of them. */
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_seccomp
#error "this architecture has no seccomp syscall number"
#endif

/* struct landlock_ruleset_attr, ABI 6 size (fs, net, scoped): 24 bytes. */
struct jail_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};
#define JAIL_RULESET_ATTR_SIZE_V1 8  /* kernels before ABI 4 reject larger */
#define JAIL_RULESET_ATTR_SIZE_V4 16 /* kernels before ABI 6 reject larger */
#define JAIL_RULESET_ATTR_SIZE_V6 24

/* struct landlock_path_beneath_attr: packed, 12 bytes. */
struct jail_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* struct landlock_net_port_attr (ABI 4): 16 bytes. */
struct jail_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

#define JAIL_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define JAIL_LANDLOCK_CREATE_RULESET_ERRATA (1U << 1)
#define JAIL_LANDLOCK_RULE_PATH_BENEATH 1
#define JAIL_LANDLOCK_RULE_NET_PORT 2

/* openat2(2): struct open_how, 24 bytes, and its resolve flags. */
struct jail_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define JAIL_RESOLVE_NO_MAGICLINKS 0x02
#define JAIL_RESOLVE_NO_SYMLINKS 0x04
#define JAIL_RESOLVE_BENEATH 0x08

/* The mount API: open_tree(2), move_mount(2), fsopen(2), fsconfig(2),
 * fsmount(2), mount_setattr(2). */
struct jail_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};
#define JAIL_OPEN_TREE_CLONE 1
#define JAIL_AT_RECURSIVE 0x8000
#define JAIL_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define JAIL_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define JAIL_FSOPEN_CLOEXEC 1
#define JAIL_FSMOUNT_CLOEXEC 1
#define JAIL_FSCONFIG_SET_FLAG 0
#define JAIL_FSCONFIG_SET_STRING 1
#define JAIL_FSCONFIG_CMD_CREATE 6
#define JAIL_MOUNT_ATTR_RDONLY 0x01
#define JAIL_MOUNT_ATTR_NOSUID 0x02
#define JAIL_MOUNT_ATTR_NODEV 0x04
#define JAIL_MOUNT_ATTR_NOEXEC 0x08

/* seccomp(2) */
#define JAIL_SECCOMP_SET_MODE_FILTER 1
#define JAIL_CLOSE_RANGE_CLOEXEC (1U << 2)

#ifdef __cplusplus
#define JAIL_STATIC_ASSERT static_assert
#else
#define JAIL_STATIC_ASSERT _Static_assert
#endif
JAIL_STATIC_ASSERT(sizeof(struct jail_ruleset_attr) == 24, "ruleset_attr");
JAIL_STATIC_ASSERT(sizeof(struct jail_path_beneath_attr) == 12, "path_beneath_attr");
JAIL_STATIC_ASSERT(sizeof(struct jail_net_port_attr) == 16, "net_port_attr");
JAIL_STATIC_ASSERT(sizeof(struct jail_open_how) == 24, "open_how");
JAIL_STATIC_ASSERT(sizeof(struct jail_mount_attr) == 32, "mount_attr");

#endif
