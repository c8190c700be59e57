/*
 * The namespace layer's view: a fresh tmpfs as the root, holding exactly
 * what the plan lists, so that what is not granted does not exist. No
 * policy here: which paths, which rights and in which order come from the
 * plan (src/plan.ts).
 */
#ifndef JAIL_VIEW_H
#define JAIL_VIEW_H

#include "jail.h"

/* In a new user and mount namespace, as its owner: make the root of the
 * view, apply `ns->view` in order (adding each entry's Landlock rule to
 * `ruleset_fd`, when it is not -1, on the object it mounts; with
 * skip_rules, not the entries that are only a rule), pivot into
 * the view and chdir to `ns->cwd`. A failure is step "namespaces" (the
 * scaffolding) or "view" (an entry, with its path). Only syscalls: this
 * runs in a forked copy of Node, which must not allocate. */
int jail_view_build(const struct jail_namespaces *ns, int ruleset_fd, int skip_rules,
		    struct jail_error *err);

/* The entries that are only a Landlock rule (JAIL_VIEW_RULE: root's /etc,
 * entry by entry), added to `ruleset_fd` from this process, outside the
 * namespaces, each opened as jail_view_build opens it (no symlink, the
 * object the plan saw) but from this process's root: for the library's
 * spawn with a warm init (warm.c) and the CLI's stored run (spawnRules in
 * binding.cc), whose init builds the rest of the view meanwhile, called
 * with skip_rules (plan->rules_fd set). */
int jail_view_rules(const struct jail_namespaces *ns, int ruleset_fd, struct jail_error *err);

/* Whether the view has such entries (ns may be NULL: none). */
int jail_view_has_rules(const struct jail_namespaces *ns);

#endif
