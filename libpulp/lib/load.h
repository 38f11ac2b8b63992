/* What the tool maps into a process, through system calls it has one of
   the process's threads make (inject.h): the state mapping and the
   containers.  Each is a private mapping of a memfd, so that it is named
   in /proc/PID/maps ("/memfd:ulp-state", "/memfd:ulp:NAME") and copied,
   never shared, by fork.  Nothing runs in the process: a container's bytes
   are relocated by the tool (loader.h) against the objects the process
   has loaded and written through /proc/PID/mem, and no initializer runs.

   If the tool dies at any point here, the process is left with at most a
   mapping that nothing refers to; nothing it runs has changed.  */
#ifndef ULP_LOAD_H
#define ULP_LOAD_H

#include "container.h"
#include "inject.h"
#include "process.h"

/* Creates the state mapping of P, empty, as close to NEAR as the kernel
   allows (pads reach their slots with 32-bit displacements); sets
   P->state.  */
int ulp_load_state (struct ulp_injector *in, struct ulp_process *p,
                    uint64_t near);
/* Writes the empty state into P's state mapping: for one a tool dying
   right after mapping it left blank.  */
int ulp_load_state_init (struct ulp_process *p);

/* Whether container C is mapped in P already (recorded in ST, checked
   against its code), and where: *BASE.  */
int ulp_load_find (struct ulp_process *p, const struct ulp_runtime *st,
                   const struct ulp_container *c, uint64_t *base);
/* Maps container C, not mapped yet, into P, relocated against the objects
   P maps, symbols looked up first in the library mapped at TARGET_BASE;
   *BASE its load address.  The new mapping is recorded in ST.  With
   STATE_NEAR, P's state mapping, if it has none yet, is made in the same
   batch of calls (as ulp_load_state does).  */
int ulp_load_container (struct ulp_injector *in, struct ulp_process *p,
                        struct ulp_runtime *st, const struct ulp_container *c,
                        uint64_t target_base, uint64_t state_near,
                        uint64_t *base);

#endif
