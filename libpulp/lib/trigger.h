/* Applying and reverting live patches in running processes: choosing the
   processes, matching containers to the build-ID each process maps,
   running the transition and reporting one line per process and patch.
   The ulp tool and the rpm plugin both call this.  */
#ifndef ULP_TRIGGER_H
#define ULP_TRIGGER_H

#include <stdio.h>

#include "catalog.h"
#include "container.h"

struct ulp_trigger_options
{
  const char *selector; /* PID, process name or wildcard; NULL: all */
  int revert;
  const char *revert_all; /* library file name, "target", or NULL */
  double timeout;
  int retries;
  int quiet;
  int timing;
  /* Without a selector, also report processes that map the library but
     lack the runtime (skipped); otherwise they are not mentioned.  */
  int report_unpatchable;
  /* When set, each line names the package of the build a process runs:
     "NAME (pid N, libfoo-1.2-3.x86_64): ...".  */
  const struct ulp_catalog *catalog;
};

struct ulp_trigger_summary
{
  size_t succeeded, skipped, failed;
};

int ulp_trigger (struct ulp_container *containers, size_t n,
                 const struct ulp_trigger_options *options, FILE *out,
                 struct ulp_trigger_summary *summary);

/* Processes chosen by SELECTOR (see above).  STRICT is set when it names
   one PID, whose problems are errors rather than skips.  */
int ulp_select_pids (const char *selector, pid_t **pids, size_t *n,
                     int *strict);

#endif
