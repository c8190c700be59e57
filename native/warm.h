/*
 * The warm init (warm.c): the library's next spawn in the namespace layer
 * takes an init whose namespaces were made while its caller went on.
 */
#ifndef JAIL_WARM_H
#define JAIL_WARM_H

#include "jail.h"
#include "supervisor.h"

/* start_init for jail_spawn_child, with the warm init when one waits made
 * as this plan needs (and what it copied at its clone is still so): its
 * pid, as start_init's, or -2 when there is none (nothing was changed). */
int jail_warm_start(struct jail_plan *plan, struct jail_error *err, struct jail_stdio *io, int *reports, int *failed);

/* jail_warm_start in two halves, from the main thread: begin wakes the
 * warm init with the plan and returns with the command made ready, waiting
 * for a word before it confines itself (0; -2: no init fit, nothing was
 * changed; -1: failed, with err, nothing ran); with `gated`, always (else
 * only while root's /etc rules are added here). Then finish, for the same
 * plan, says the word and returns as jail_warm_start does (-2 for another
 * plan: nothing done), or cancel ends the init and the command, which ran
 * nothing. plan, err and io stay the caller's until then. begun: whether a
 * begun run waits for finish or cancel (for this plan; NULL: any). */
int jail_warm_begin(struct jail_plan *plan, struct jail_error *err, struct jail_stdio *io, int gated);
int jail_warm_finish(const struct jail_plan *plan, struct jail_stdio *io, int *reports, int *failed);
void jail_warm_cancel(void);
int jail_warm_begun(const struct jail_plan *plan);

/* After a spawn in the layer from the main thread: the next may want an
 * init like this one's (made by jail_warm_go, once its child is reaped, so
 * that the clone takes no core from the command). */
void jail_warm_ask(const struct jail_plan *plan);
void jail_warm_go(void);

/* No warm init in this process from now on (jail_spawn: every child of
 * the process must be its command's); one that waits is ended and reaped. */
void jail_warm_off(void);

#endif
