#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "error.h"

void
ulp_livepatch_component (const char *package, char *out, size_t size)
{
  static const char suffix[] = "-livepatches";
  size_t n = strlen (package), s = sizeof suffix - 1;
  if (n > s && strcmp (package + n - s, suffix) == 0)
    n -= s;
  size_t i = 0;
  for (; i < n && i + 1 < size; i++)
    out[i] = isalnum ((unsigned char)package[i])
                 ? (char)toupper ((unsigned char)package[i])
                 : '_';
  if (size)
    out[i] = '\0';
}

static const char *
sysconfig_path (void)
{
  const char *p = getenv ("ULP_SYSCONFIG");
  return p && *p ? p : ULP_DEFAULT_SYSCONFIG;
}

/* VALUE of a sysconfig line "KEY=VALUE", "KEY='VALUE'" or "KEY=\"VALUE\"",
   without quotes and trailing blanks; NULL when the line sets another key. */
static char *
sysconfig_value (char *line, const char *key)
{
  while (isspace ((unsigned char)*line))
    line++;
  size_t k = strlen (key);
  if (strncmp (line, key, k) != 0 || line[k] != '=')
    return NULL;
  char *v = line + k + 1, *end = v + strlen (v);
  while (end > v && isspace ((unsigned char)end[-1]))
    *--end = '\0';
  if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
    end[-1] = '\0';
    v++;
  }
  return v;
}

int
ulp_livepatch_enabled (const char *component)
{
  const char *path = sysconfig_path ();
  FILE *f = fopen (path, "re");
  if (!f)
    return errno == ENOENT ? 1 : ulp_fail ("%s: %s", path, strerror (errno));
  char key[256], line[1024], value[64] = "auto";
  snprintf (key, sizeof key, "LIVEPATCH_%s", component);
  while (fgets (line, sizeof line, f)) {
    line[strcspn (line, "\n")] = '\0';
    const char *v = sysconfig_value (line, key);
    if (v)
      snprintf (value, sizeof value, "%s", v); /* the last one counts */
  }
  fclose (f);
  if (strcmp (value, "auto") == 0)
    return 1;
  if (strcmp (value, "never") == 0)
    return 0;
  return ulp_fail ("%s: %s=%s: expected auto or never", path, key, value);
}

/* One write with O_APPEND: lines of concurrent transactions never mix.  A
   log that cannot be written costs no delivery; syslog has the line.  */
static void
append_to_log (const char *line)
{
  const char *path = getenv ("ULP_LOG");
  if (!path)
    path = ULP_DEFAULT_LOG;
  if (!*path)
    return;
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return;
  char stamped[1100];
  time_t now = time (NULL);
  struct tm tm;
  size_t n = strftime (stamped, sizeof stamped, "%Y-%m-%dT%H:%M:%SZ ",
                       gmtime_r (&now, &tm));
  int m = snprintf (stamped + n, sizeof stamped - n, "%s\n", line);
  if (m > 0 && (size_t)m < sizeof stamped - n)
    (void)!write (fd, stamped, n + (size_t)m);
  close (fd);
}

static void
report (const struct ulp_delivery *d, int failure, const char *text)
{
  char line[1024];
  snprintf (line, sizeof line, "%s: %s", d->package, text);
  syslog (failure ? LOG_WARNING : LOG_NOTICE, "%s", line);
  append_to_log (line);
  if (d->log)
    d->log (d->ctx, failure, line);
}

/* Whether every result of the process at I is about a container for
   another build: a cumulative package carries one for every build of its
   library, so only a process none of them matches is worth a line.  */
static int
only_other_builds (const struct ulp_results *r, size_t first, size_t end)
{
  for (size_t i = first; i < end; i++)
    if (!r->v[i].other_build)
      return 0;
  return 1;
}

static void
report_result (const struct ulp_delivery *d, const struct ulp_result *r)
{
  char line[1500];
  ulp_result_format (r, line, sizeof line);
  report (d, r->outcome == ULP_FAILED, line);
}

/* Passes the results on to the report, one process at a time.  */
static void
report_results (const struct ulp_delivery *d, const struct ulp_results *r,
                struct ulp_trigger_summary *s)
{
  memset (s, 0, sizeof *s);
  for (size_t first = 0, end; first < r->n; first = end) {
    for (end = first + 1; end < r->n && r->v[end].pid == r->v[first].pid;)
      end++;
    if (only_other_builds (r, first, end)) {
      struct ulp_result one = r->v[first];
      snprintf (one.what, sizeof one.what, "%s", d->target);
      snprintf (one.reason, sizeof one.reason,
                "no container for the library build it runs (build-ID "
                "mismatch)");
      report_result (d, &one);
      s->skipped++;
      continue;
    }
    for (size_t i = first; i < end; i++) {
      if (r->v[i].other_build)
        continue;
      report_result (d, &r->v[i]);
      s->succeeded += r->v[i].outcome == ULP_SUCCESS;
      s->skipped += r->v[i].outcome == ULP_SKIPPED;
      s->failed += r->v[i].outcome == ULP_FAILED;
    }
  }
}

/* Whether any process runs a build the containers were made for.  */
static int
covers_any (const struct ulp_results *r)
{
  for (size_t i = 0; i < r->n; i++)
    if (!r->v[i].other_build)
      return 1;
  return 0;
}

static int
run_trigger (const struct ulp_delivery *d, struct ulp_container *c, size_t n,
             const struct ulp_trigger_options *o, struct ulp_trigger_summary *s)
{
  struct ulp_results results;
  if (ulp_trigger (c, n, o, &results) < 0)
    return -1;
  report_results (d, &results, s);
  if (n && !covers_any (&results))
    report (d, 0, "no running process maps a build this package covers");
  char counts[200];
  snprintf (counts, sizeof counts, "%s %zu, skipped %zu, failed %zu",
            n ? "patched" : "reverted", s->succeeded, s->skipped, s->failed);
  report (d, 0, counts);
  ulp_results_free (&results);
  return 0;
}

static int
apply (const struct ulp_delivery *d, struct ulp_trigger_summary *s)
{
  struct ulp_container *c;
  if (ulp_containers_prepare (d->apply, d->napply, 0, &c) < 0)
    return -1;
  struct ulp_trigger_options o = { .revert_all = "target",
                                   .revert_uncovered = 1,
                                   .timeout = d->timeout,
                                   .retries = 100,
                                   .catalog = d->catalog };
  int rc = run_trigger (d, c, d->napply, &o, s);
  ulp_containers_free (c, d->napply);
  return rc;
}

static int
revert (const struct ulp_delivery *d, struct ulp_trigger_summary *s)
{
  struct ulp_trigger_options o = { .revert_all = d->target,
                                   .timeout = d->timeout,
                                   .retries = 100,
                                   .catalog = d->catalog };
  return run_trigger (d, NULL, 0, &o, s);
}

int
ulp_deliver (const struct ulp_delivery *d, struct ulp_trigger_summary *summary)
{
  memset (summary, 0, sizeof *summary);
  ulp_clear_error ();
  int rc = d->napply ? apply (d, summary) : revert (d, summary);
  if (rc < 0) {
    char why[700];
    snprintf (why, sizeof why, "no process patched: %s", ulp_error ());
    report (d, 1, why);
  }
  return rc;
}
