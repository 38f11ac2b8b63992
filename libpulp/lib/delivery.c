#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

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

static void
report (const struct ulp_delivery *d, int failure, const char *text)
{
  char line[1024];
  snprintf (line, sizeof line, "%s: %s", d->package, text);
  syslog (failure ? LOG_WARNING : LOG_NOTICE, "%s", line);
  if (d->log)
    d->log (d->ctx, failure, line);
}

static int
is_build_mismatch (const char *line)
{
  static const char tail[] = ": build-ID mismatch";
  size_t n = strlen (line), t = sizeof tail - 1;
  return n > t && strcmp (line + n - t, tail) == 0;
}

/* Length of the "NAME (pid N)" a report line starts with.  */
static size_t
process_key (const char *line)
{
  const char *end = strstr (line, "): ");
  return end ? (size_t)(end - line) + 1 : strlen (line);
}

static int
same_process (const char *a, const char *b)
{
  size_t n = process_key (a);
  return n == process_key (b) && strncmp (a, b, n) == 0;
}

/* A cumulative package carries a container for every build of its library:
   that the builds a process does not run have no match says nothing.  Only
   a process none of them matches is reported, once.  */
static int
worth_reporting (char **lines, size_t n, size_t i)
{
  if (!is_build_mismatch (lines[i]))
    return 1;
  for (size_t j = 0; j < n; j++)
    if (j != i && same_process (lines[i], lines[j])
        && (!is_build_mismatch (lines[j]) || j < i))
      return 0;
  return 1;
}

static void
count (struct ulp_trigger_summary *s, const char *line)
{
  if (strstr (line, "): SUCCESS "))
    s->succeeded++;
  else if (strstr (line, "): FAILED "))
    s->failed++;
  else
    s->skipped++;
}

/* Passes the engine's lines in BUF on to the report, counting them.  */
static int
report_lines (const struct ulp_delivery *d, char *buf,
              struct ulp_trigger_summary *s)
{
  size_t n = 0;
  char **lines = NULL;
  for (char *l = strtok (buf, "\n"); l; l = strtok (NULL, "\n")) {
    char **grown = realloc (lines, (n + 1) * sizeof *lines);
    if (!grown) {
      free (lines);
      return ulp_fail ("out of memory");
    }
    lines = grown;
    lines[n++] = l;
  }
  for (size_t i = 0; i < n; i++) {
    if (!worth_reporting (lines, n, i))
      continue;
    char text[800];
    size_t key = process_key (lines[i]);
    if (is_build_mismatch (lines[i]))
      snprintf (text, sizeof text,
                "%.*s: SKIPPED no container for the "
                "library build it runs (build-ID mismatch)",
                (int)key, lines[i]);
    else
      snprintf (text, sizeof text, "%s", lines[i]);
    report (d, strstr (text, "): FAILED ") != NULL, text);
    count (s, text);
  }
  free (lines);
  return 0;
}

static int
run_trigger (const struct ulp_delivery *d, struct ulp_container *c, size_t n,
             const struct ulp_trigger_options *o,
             struct ulp_trigger_summary *total)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&buf, &len);
  if (!mem)
    return ulp_fail ("out of memory");
  struct ulp_trigger_summary ignored;
  int rc = ulp_trigger (c, n, o, mem, &ignored);
  if (fclose (mem) != 0 || !buf)
    rc = ulp_fail ("out of memory");
  else if (report_lines (d, buf, total) < 0)
    rc = -1;
  free (buf);
  return rc < 0 ? -1 : 0;
}

static int
apply (const struct ulp_delivery *d, struct ulp_trigger_summary *s)
{
  struct ulp_container *c;
  if (ulp_containers_prepare (d->apply, d->napply, 0, &c) < 0)
    return -1;
  struct ulp_trigger_options o = { .revert_all = "target",
                                   .timeout = d->timeout,
                                   .retries = 100,
                                   .report_unpatchable = 1,
                                   .catalog = d->catalog };
  int rc = run_trigger (d, c, d->napply, &o, s);
  ulp_containers_free (c, d->napply);
  return rc;
}

static int
revert (const struct ulp_delivery *d, struct ulp_trigger_summary *s)
{
  struct ulp_trigger_options o = {
    .revert = 1, .timeout = d->timeout, .retries = 100, .catalog = d->catalog
  };
  o.quiet = d->napply > 0 || d->replaced; /* then most are no-ops */
  if (d->nrevert && run_trigger (d, d->revert, d->nrevert, &o, s) < 0)
    return -1;
  if (!d->revert_library)
    return 0;
  o.revert = 0;
  o.quiet = 0;
  o.report_unpatchable = 1;
  o.revert_all = d->revert_library;
  return run_trigger (d, NULL, 0, &o, s);
}

int
ulp_deliver (const struct ulp_delivery *d, struct ulp_trigger_summary *summary)
{
  memset (summary, 0, sizeof *summary);
  ulp_clear_error ();
  int rc = 0;
  if (d->napply && apply (d, summary) < 0)
    rc = -1;
  else if (revert (d, summary) < 0)
    rc = -1;
  if (rc < 0) {
    char why[700];
    snprintf (why, sizeof why, "no process patched: %s", ulp_error ());
    report (d, 1, why);
  }
  return rc;
}
