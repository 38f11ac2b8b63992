/* Applying and reverting live patches in running processes: choosing the
   processes, matching containers to the build-ID each process maps,
   running the transition and giving one result per process and patch.
   The ulp tool, the rpm plugin's worker and the %post helper all call
   this, and all print results through ulp_result_format.  */
#ifndef ULP_TRIGGER_H
#define ULP_TRIGGER_H

#include <sys/types.h>

#include "catalog.h"
#include "container.h"

struct ulp_trigger_options
{
  const char *selector; /* PID, process name or wildcard; NULL: all */
  int revert;
  const char *revert_all; /* library file name, "target", or NULL */
  /* With revert_all "target": where no container matches the build a
     process runs, its patches on the target are reverted all the same, so
     that what a cumulative package replaces does not outlive it.  */
  int revert_uncovered;
  double timeout;
  int retries;
  int timing;
  /* When set, each result names the package of the build a process runs
     ("libfoo-1.2-3.x86_64").  */
  const struct ulp_catalog *catalog;
};

enum ulp_outcome
{
  ULP_SUCCESS = 1,
  ULP_SKIPPED,
  ULP_FAILED
};

/* What became of one patch (or one revert-all) in one process.  */
struct ulp_result
{
  pid_t pid;
  char process[64]; /* its name, control characters defused */
  char build[400];  /* the package behind its build of the library, or "" */
  enum ulp_outcome outcome;
  char what[256]; /* the container, "revert-all=LIB", or the library */
  char reason[600];
  /* Skipped because the container was made for another build of the
     library than the one the process runs.  */
  int other_build;
  /* With the timing option, for a process that went through; else -1.  */
  long long stopped_us, thread_max_us;
};

struct ulp_results
{
  struct ulp_result *v;
  size_t n, cap;
};

struct ulp_trigger_summary
{
  size_t succeeded, skipped, failed;
};

/* Fills RESULTS (to be freed with ulp_results_free); -1 with ulp_error
   when nothing could be tried at all.  */
int ulp_trigger (struct ulp_container *containers, size_t n,
                 const struct ulp_trigger_options *options,
                 struct ulp_results *results);
void ulp_results_free (struct ulp_results *results);
void ulp_results_count (const struct ulp_results *results,
                        struct ulp_trigger_summary *summary);
/* "NAME (pid N[, BUILD]): OUTCOME WHAT[: REASON]".  */
void ulp_result_format (const struct ulp_result *r, char *out, size_t size);

/* Processes chosen by SELECTOR (see above).  STRICT is set when it names
   one PID, whose problems are errors rather than skips.  */
int ulp_select_pids (const char *selector, pid_t **pids, size_t *n,
                     int *strict);

#endif
