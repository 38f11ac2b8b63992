#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>

#include "command.h"
#include "container.h"
#include "error.h"
#include "transition.h"
#include "trigger.h"

enum
{
  OPT_REVERT = 256,
  OPT_REVERT_ALL,
  OPT_TIMEOUT,
  OPT_RETRIES,
  OPT_TIMING
};

static const struct option long_options[]
    = { { "revert", no_argument, NULL, OPT_REVERT },
        { "revert-all", required_argument, NULL, OPT_REVERT_ALL },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "timing", no_argument, NULL, OPT_TIMING },
        { "quiet", no_argument, NULL, 'q' },
        { "process", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 } };

static int
usage (void)
{
  return ulp_command_usage ("trigger", stderr);
}

static int
parse_number (const char *s, double min, double max, double *out)
{
  char *end;
  double v = strtod (s, &end);
  if (!*s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Files a wildcard matched that are no live patch (the unpacked build of
   one, a library next to them) are left out, with a note; a file named
   outright is never left out.  */
static size_t
keep_packed (char **paths, size_t from, size_t to, const char *pattern)
{
  size_t kept = from;
  for (size_t i = from; i < to; i++) {
    if (ulp_container_is_packed (paths[i])) {
      paths[kept++] = paths[i];
      continue;
    }
    fprintf (stderr,
             "ulp trigger: %s (matched by '%s'): not a packed live patch, "
             "left out\n",
             paths[i], pattern);
    free (paths[i]);
  }
  for (size_t i = kept; i < to; i++)
    paths[i] = NULL;
  return kept;
}

/* Expands each PATCH (quoted wildcards included) into container paths.  */
static int
expand_patches (char **args, int n, glob_t *g)
{
  memset (g, 0, sizeof *g);
  for (int i = 0; i < n; i++) {
    int has_wildcard = strpbrk (args[i], "*?[") != NULL;
    int flags = (i ? GLOB_APPEND : 0) | (has_wildcard ? 0 : GLOB_NOCHECK);
    size_t before = g->gl_pathc;
    int rc = glob (args[i], flags, NULL, g);
    if (rc == GLOB_NOMATCH)
      return ulp_fail ("%s: no container matches", args[i]);
    if (rc != 0)
      return ulp_fail ("%s: cannot expand", args[i]);
    if (has_wildcard)
      g->gl_pathc = keep_packed (g->gl_pathv, before, g->gl_pathc, args[i]);
    if (g->gl_pathc == before)
      return ulp_fail ("%s: no packed live patch matches", args[i]);
  }
  return 0;
}

static int
parse_options (int argc, char **argv, struct ulp_trigger_options *o, int *quiet)
{
  double v;
  int c;
  while ((c = getopt_long (argc, argv, "p:q", long_options, NULL)) != -1) {
    switch (c) {
    case 'p':
      o->selector = optarg;
      break;
    case 'q':
      *quiet = 1;
      break;
    case OPT_REVERT:
      o->revert = 1;
      break;
    case OPT_REVERT_ALL:
      if (!*optarg)
        return ulp_fail ("--revert-all needs a library name or 'target'");
      o->revert_all = optarg;
      break;
    case OPT_TIMEOUT:
      if (parse_number (optarg, 0.001, 86400, &o->timeout) < 0)
        return ulp_fail ("--timeout=%s: expected seconds", optarg);
      break;
    case OPT_RETRIES:
      if (parse_number (optarg, 0, 1000000, &v) < 0)
        return ulp_fail ("--retries=%s: expected a count", optarg);
      o->retries = (int)v;
      break;
    case OPT_TIMING:
      o->timing = 1;
      break;
    default:
      return ulp_fail ("bad option");
    }
  }
  if (optind == argc && !o->revert_all)
    return ulp_fail ("no PATCH given");
  if (o->revert && o->revert_all && optind < argc)
    return ulp_fail ("--revert and --revert-all cannot be combined with "
                     "patches");
  if (o->revert_all && strcmp (o->revert_all, "target") == 0 && optind == argc)
    return ulp_fail ("--revert-all=target needs a PATCH");
  return 0;
}

/* On a busy host every time slice the tool gives up costs a whole
   scheduling period while targets wait stopped: run ahead of them.  The
   work is bounded by --timeout.  Without the privilege this quietly does
   nothing.  */
static void
raise_priority (void)
{
  setpriority (PRIO_PROCESS, 0, -20);
}

/* One line per result (with -q, only failures), then the timing of each
   process that went through.  */
static void
print_results (const struct ulp_results *r, int quiet)
{
  char line[1500];
  for (size_t i = 0; i < r->n; i++) {
    if (quiet && r->v[i].outcome != ULP_FAILED)
      continue;
    ulp_result_format (&r->v[i], line, sizeof line);
    puts (line);
  }
  for (size_t i = 0; i < r->n; i++)
    if (r->v[i].stopped_us >= 0 && (i == 0 || r->v[i - 1].pid != r->v[i].pid))
      printf ("timing: pid %d stopped_us=%lld thread_max_us=%lld\n",
              (int)r->v[i].pid, r->v[i].stopped_us, r->v[i].thread_max_us);
}

/* SIGINT, SIGTERM or SIGHUP during the transition: every thread was
   released, a process whose step was under way is SUCCESS or FAILED with
   its own reason, the others FAILED "interrupted by SIG...".  The status is
   the one a shell gives a command the signal ended.  */
static int
interrupted_status (void)
{
  char text[200];
  int status = ulp_transition_exit_status ("; every thread was released", text,
                                           sizeof text);
  if (status) {
    fflush (stdout);
    fprintf (stderr, "ulp trigger: %s\n", text);
  }
  return status;
}

int
cmd_trigger (int argc, char **argv)
{
  struct ulp_trigger_options o = { .timeout = 10, .retries = 100 };
  int quiet = 0;
  raise_priority ();
  if (parse_options (argc, argv, &o, &quiet) < 0) {
    fprintf (stderr, "ulp trigger: %s\n", ulp_error ());
    return usage ();
  }
  glob_t g;
  struct ulp_container *containers = NULL;
  if (expand_patches (argv + optind, argc - optind, &g) < 0
      || ulp_containers_prepare (g.gl_pathv, g.gl_pathc, o.revert, &containers)
             < 0) {
    fprintf (stderr, "ulp trigger: %s\n", ulp_error ());
    globfree (&g);
    return ULP_EXIT_USAGE;
  }
  struct ulp_results results;
  struct ulp_trigger_summary sum = { 0, 0, 0 };
  size_t covered = 0; /* results of processes running a covered build */
  int rc = ulp_trigger (containers, g.gl_pathc, &o, &results);
  if (rc == 0) {
    print_results (&results, quiet);
    ulp_results_count (&results, &sum);
    for (size_t i = 0; i < results.n; i++)
      covered += !results.v[i].other_build;
    ulp_results_free (&results);
  }
  if (rc < 0)
    fprintf (stderr, "ulp trigger: %s\n", ulp_error ());
  else if (!quiet)
    printf ("summary: %zu succeeded, %zu skipped, %zu failed\n", sum.succeeded,
            sum.skipped, sum.failed);
  if (rc == 0 && sum.succeeded + sum.skipped + sum.failed == 0 && o.selector)
    fprintf (stderr, "ulp trigger: no process matches '%s'\n", o.selector);
  else if (rc == 0 && !o.selector && !o.revert && g.gl_pathc && !covered)
    fprintf (stderr, "ulp trigger: no running process maps a build these "
                     "containers cover\n");
  ulp_containers_free (containers, g.gl_pathc);
  globfree (&g);
  int interrupted = interrupted_status ();
  if (interrupted)
    return interrupted;
  if (rc < 0)
    return ULP_EXIT_USAGE;
  if (sum.failed
      || (o.selector && sum.succeeded + sum.skipped + sum.failed == 0))
    return ULP_EXIT_FAILED;
  return ULP_EXIT_OK;
}
