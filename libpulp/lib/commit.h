/* Making the code of a stopped process match a new state, so that a tool
   killed at any instant leaves it running either its old or its new code
   (see ulp/state.h and patch.h for the slots and pads):
     1. slots for newly patched functions are claimed, pointing at the
        functions' own bodies (one write of the commit page);
     2. their pads and entries are written: calls take two jumps and land
        where they did;
     3. the new state goes to the copy not in use;
     4. one write of the commit page points every slot at its new target
        and names the new copy: the switch;
     5. functions no longer patched get their NOPs back, then their slots
        are freed (one more write of the commit page).
   A tool dying before 4 leaves the old code running (with some harmless
   jumps, cleared by the next trigger), after 4 the new code.  */
#ifndef ULP_COMMIT_H
#define ULP_COMMIT_H

#include "process.h"
#include "transition.h"

/* With every thread of P stopped: makes the functions at ADDRS (and any
   left half-unpatched by an earlier run) call what ST says, and ST the
   state of P.  P must have its state mapping; NOW is its commit page as
   read in this stop, or NULL to read it.  */
enum ulp_stop_result ulp_commit (struct ulp_process *p,
                                 const struct ulp_commit *now,
                                 const struct ulp_runtime *st,
                                 const uint64_t *addrs, size_t naddrs,
                                 struct ulp_stop *stop);

#endif
