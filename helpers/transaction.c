/* ulp_post_hook transaction: the rpm plugin's worker.  The plugin spawns
   the helper with what went through in the transaction, and reads its
   report on standard output, one line each, "N text" (notice), "W text"
   (warning) or "D text" (debug):

     ulp_post_hook transaction SECONDS CATALOG_DIR CATALOG_FILE RECORD...
       RECORD: install NEVRA NAME TARGET COUNT CONTAINER...
               erase NEVRA NAME TARGET

   CATALOG_FILE ("-" for none) holds the catalog entries the plugin read
   before the transaction: an erased package's catalog is gone by now.

   Installed packages go first: each replaces every patch on its target
   in one stop per process.  An erased package whose target an installed
   one took over has nothing left to revert; any other erasure reverts
   everything on its target.  No step starts after SECONDS.

   SIGINT, SIGTERM or SIGHUP (the plugin sends SIGTERM at its deadline)
   during a step: the step under way is finished or rolled back, every
   thread released, the packages left undone are named, and the helper
   exits with 128 + the signal.  Between steps the signal ends it at once:
   nothing is held then.  */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "delivery.h"
#include "clock.h"
#include "error.h"
#include "post_hook.h"
#include "transition.h"

#define LONGEST_STEP 10.0 /* seconds to stop the threads of one process */

struct record
{
  int erase;
  const char *nevra, *name, *target;
  char **files;
  size_t nfiles;
};

struct transaction
{
  double budget_end; /* CLOCK_MONOTONIC */
  const char *catalog_dir, *catalog_file;
  struct ulp_catalog catalog;
  struct record *v;
  size_t n;
};

static void
to_plugin (void *ctx, int failure, const char *line)
{
  (void)ctx;
  printf ("%c%s\n", failure ? 'W' : 'N', line);
  fflush (stdout);
}

static double
step_timeout (const struct transaction *t)
{
  double left = t->budget_end - ulp_now ();
  return left < LONGEST_STEP ? left : LONGEST_STEP;
}

static int
parse_record (char **argv, int left, struct record *r)
{
  memset (r, 0, sizeof *r);
  if (left < 4)
    return -1;
  r->erase = strcmp (argv[0], "erase") == 0;
  if (!r->erase && strcmp (argv[0], "install") != 0)
    return -1;
  r->nevra = argv[1];
  r->name = argv[2];
  r->target = argv[3];
  if (r->erase)
    return 4;
  char *end;
  long n = left > 4 ? strtol (argv[4], &end, 10) : -1;
  if (n < 0 || *end || n > left - 5)
    return -1;
  r->files = argv + 5;
  r->nfiles = (size_t)n;
  return 5 + (int)n;
}

static int
parse (int argc, char **argv, struct transaction *t)
{
  char *end;
  double seconds = argc > 3 ? strtod (argv[1], &end) : -1;
  if (seconds <= 0 || *end)
    return -1;
  t->budget_end = ulp_now () + seconds;
  t->catalog_dir = argv[2];
  t->catalog_file = argv[3];
  t->v = calloc ((size_t)argc, sizeof *t->v);
  if (!t->v)
    return -1;
  for (int i = 4; i < argc;) {
    int used = parse_record (argv + i, argc - i, &t->v[t->n++]);
    if (used < 0)
      return -1;
    i += used;
  }
  return 0;
}

/* An installed package took over R's target in this transaction.  */
static const struct record *
replacement (const struct transaction *t, const struct record *r)
{
  for (size_t i = 0; i < t->n; i++)
    if (!t->v[i].erase && strcmp (t->v[i].target, r->target) == 0)
      return &t->v[i];
  return NULL;
}

/* Whether R may touch processes; when not, says why.  */
static int
allowed (const struct transaction *t, const struct record *r)
{
  char component[128];
  ulp_livepatch_component (r->name, component, sizeof component);
  int enabled = ulp_livepatch_enabled (component);
  int interrupted = ulp_transition_interrupted ();
  if (enabled < 0)
    printf ("W%s: no process %s: %s\n", r->nevra,
            r->erase ? "reverted" : "patched", ulp_error ());
  else if (!enabled)
    printf ("N%s: LIVEPATCH_%s=never: no process touched\n", r->nevra,
            component);
  else if (interrupted)
    printf ("W%s: not %s: interrupted by %s; see ulp patches\n", r->nevra,
            r->erase ? "reverted" : "applied",
            ulp_transition_signal_name (interrupted));
  else if (step_timeout (t) < 0.5)
    printf ("W%s: not %s: no time left (%%_ulp_plugin_timeout); "
            "see ulp patches\n",
            r->nevra, r->erase ? "reverted" : "applied");
  return enabled > 0 && !interrupted && step_timeout (t) >= 0.5;
}

static void
deliver (const struct transaction *t, const struct record *r)
{
  const struct record *by = r->erase ? replacement (t, r) : NULL;
  if (by) {
    printf ("D%s: replaced by %s, which reverted what it did not take "
            "over\n",
            r->nevra, by->nevra);
    return;
  }
  if (!allowed (t, r))
    return;
  struct ulp_delivery d = { .package = r->nevra,
                            .target = r->target,
                            .apply = r->files,
                            .napply = r->nfiles,
                            .timeout = step_timeout (t),
                            .catalog = &t->catalog,
                            .log = to_plugin };
  struct ulp_trigger_summary sum;
  if (!r->erase && r->nfiles == 0)
    printf ("W%s: no container in the package; nothing applied\n", r->nevra);
  else
    ulp_deliver (&d, &sum);
}

/* A catalog that cannot be read only costs the report its package names. */
static void
read_catalogs (struct transaction *t)
{
  if (strcmp (t->catalog_file, "-") != 0)
    ulp_catalog_read (t->catalog_file, &t->catalog);
  ulp_catalog_read_dir (t->catalog_dir, &t->catalog);
  ulp_catalog_read_dir (NULL, &t->catalog);
  printf ("D%zu catalog entries from %s and $ULP_CATALOG_DIR\n", t->catalog.n,
          t->catalog_dir);
}

/* 128 + the signal that interrupted a step, or 0.  Said to syslog as
   well: the plugin may have stopped listening.  */
static int
interrupted_status (void)
{
  char text[200];
  int status = ulp_transition_exit_status (
      ": the step under way was finished or rolled back, every thread "
      "released",
      text, sizeof text);
  if (status) {
    printf ("W%s\n", text);
    syslog (LOG_WARNING, "%s", text);
  }
  return status;
}

int
run_transaction (int argc, char **argv)
{
  struct transaction t = { 0 };
  if (parse (argc, argv, &t) < 0) {
    fprintf (stderr,
             "usage: ulp_post_hook transaction SECONDS CATALOG_DIR "
             "CATALOG_FILE [install NEVRA NAME TARGET COUNT CONTAINER...|erase "
             "NEVRA NAME TARGET]...\n");
    free (t.v);
    return 2;
  }
  signal (SIGPIPE, SIG_IGN);
  openlog ("ulp-rpm-plugin", LOG_PID, LOG_DAEMON);
  read_catalogs (&t);
  for (int erase = 0; erase <= 1; erase++)
    for (size_t i = 0; i < t.n; i++)
      if (t.v[i].erase == erase) {
        deliver (&t, &t.v[i]);
        fflush (stdout);
      }
  int status = interrupted_status ();
  fflush (stdout);
  ulp_catalog_free (&t.catalog);
  free (t.v);
  closelog ();
  return status;
}
