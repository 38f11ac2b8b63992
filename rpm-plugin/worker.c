/* The plugin's worker: a child process that applies and reverts the
   transaction's livepatches, so that the ptrace engine's waits never see
   rpm's own children, and a deadline can bound it.  Its report lines come
   back through a pipe and go to rpm's log (and, from the worker, to
   syslog).  */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>

#include "delivery.h"
#include "error.h"
#include "plugin.h"

#define DEFAULT_DEADLINE 60 /* seconds */
#define LONGEST_DEADLINE 86400
#define LONGEST_STEP 10.0 /* seconds to stop the threads of one process */

/* Worker side: report lines travel to rpm as "N text", "W text" (a
   warning) or "D text" (debug).  */
static void
to_pipe (void *ctx, int failure, const char *line)
{
  dprintf (*(int *)ctx, "%c%s\n", failure ? 'W' : 'N', line);
}

/* An erased package whose library an installed one patches now: an
   upgrade, whose new patches already replaced the old ones.  */
static int
replaced (const struct plugin_state *s, const struct livepatch *lp)
{
  for (size_t i = 0; i < s->n; i++)
    if (!s->lp[i].erased && s->lp[i].done
        && strcmp (s->lp[i].target, lp->target) == 0)
      return 1;
  return 0;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A package may take two stop-the-processes steps (apply, then revert
   leftovers); neither may run past the worker's budget.  */
static double
step_timeout (const struct plugin_state *s)
{
  double left = (s->budget_end - now ()) / 2;
  return left < LONGEST_STEP ? left : LONGEST_STEP;
}

/* The patch ids of the containers installed packages ship for LP's target
   (a reinstall, or an upgrade that carries a container over unchanged):
   those patches are the new package's now, not leftovers to revert.  */
static size_t
carried_over (const struct plugin_state *s, const struct livepatch *lp,
              uint8_t (*ids)[ULP_ID_LEN], size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct livepatch *new = &s->lp[i];
    if (new->erased || !new->done || strcmp (new->target, lp->target) != 0)
      continue;
    for (size_t j = 0; j < new->nfiles &&n < max; j++) {
      struct ulp_container c;
      if (ulp_container_open (new->files[j], &c) < 0)
        continue;
      memcpy (ids[n++], c.meta.id, ULP_ID_LEN);
      ulp_container_free (&c);
    }
  }
  return n;
}

static int
among (const uint8_t *id, uint8_t (*ids)[ULP_ID_LEN], size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp (ids[i], id, ULP_ID_LEN) == 0)
      return 1;
  return 0;
}

/* Moves the old containers whose patches are leftovers to the front of
   LP->old; returns their number.  */
static size_t
leftovers (const struct plugin_state *s, struct livepatch *lp)
{
  size_t max = 0;
  for (size_t i = 0; i < s->n; i++)
    max += s->lp[i].erased ? 0 : s->lp[i].nfiles;
  uint8_t (*ids)[ULP_ID_LEN] = calloc (max ? max : 1, ULP_ID_LEN);
  size_t nids = ids ? carried_over (s, lp, ids, max) : 0;
  size_t kept = 0;
  for (size_t i = 0; i < lp->nold; i++) {
    if (among (lp->old[i].meta.id, ids, nids))
      continue;
    struct ulp_container keep = lp->old[i];
    lp->old[i] = lp->old[kept];
    lp->old[kept++] = keep;
  }
  free (ids);
  return kept;
}

static void
deliver_one (const struct plugin_state *s, struct livepatch *lp, int fd)
{
  char component[128];
  struct ulp_delivery d = { .package = lp->nevra,
                            .timeout = step_timeout (s),
                            .catalog = &s->catalog,
                            .log = to_pipe,
                            .ctx = &fd };
  ulp_livepatch_component (lp->name, component, sizeof component);
  int enabled = ulp_livepatch_enabled (component);
  if (enabled < 0) {
    dprintf (fd, "W%s: no process patched: %s\n", lp->nevra, ulp_error ());
    return;
  }
  if (!enabled) {
    dprintf (fd, "N%s: LIVEPATCH_%s=never: no process touched\n", lp->nevra,
             component);
    return;
  }
  if (d.timeout < 0.5) {
    dprintf (fd,
             "W%s: not %s: no time left (%%_ulp_plugin_timeout); "
             "see ulp patches\n",
             lp->nevra, lp->erased ? "reverted" : "applied");
    return;
  }
  d.replaced = lp->erased && replaced (s, lp);
  if (lp->erased && lp->nold) {
    d.revert = lp->old;
    d.nrevert = d.replaced ? leftovers (s, lp) : lp->nold;
    if (!d.nrevert)
      return;
  } else if (lp->erased && !d.replaced)
    d.revert_library = lp->target;
  else if (lp->erased)
    return;
  else {
    d.apply = lp->files;
    d.napply = lp->nfiles;
  }
  struct ulp_trigger_summary sum;
  if (ulp_deliver (&d, &sum) == 0 && !(d.replaced && !sum.succeeded))
    dprintf (fd, "N%s: %s %zu, skipped %zu, failed %zu\n", lp->nevra,
             lp->erased ? "reverted" : "patched", sum.succeeded, sum.skipped,
             sum.failed);
}

/* A catalog that cannot be read only costs the report its package names.
   Entries read again replace the earlier ones.  */
void
plugin_read_catalogs (struct plugin_state *s)
{
  ulp_catalog_read_dir (s->catalog_dir, &s->catalog);
  ulp_catalog_read_dir (NULL, &s->catalog);
}

/* Installed packages first: an upgrade's new patches replace the old ones
   in one stop; only then are leftovers of erased packages reverted.  */
static void
worker (struct plugin_state *s, int fd)
{
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGCHLD, SIG_DFL);
  signal (SIGPIPE, SIG_IGN);
  openlog ("ulp-rpm-plugin", LOG_PID, LOG_DAEMON);
  plugin_read_catalogs (s); /* with those of packages just installed */
  dprintf (fd, "D%zu catalog entries from %s and $ULP_CATALOG_DIR\n",
           s->catalog.n, s->catalog_dir);
  for (int erased = 0; erased <= 1; erased++)
    for (size_t i = 0; i < s->n; i++)
      if (s->lp[i].done && s->lp[i].erased == erased)
        deliver_one (s, &s->lp[i], fd);
  _exit (0);
}

static void
log_line (char *line)
{
  if (*line == 'W')
    rpmlog (RPMLOG_WARNING, "ulp: %s\n", line + 1);
  else if (*line == 'D')
    rpmlog (RPMLOG_DEBUG, "ulp: %s\n", line + 1);
  else
    rpmlog (RPMLOG_NOTICE, "ulp: %s\n", line + 1);
}

/* Logs the worker's lines as they come until it closes the pipe or the
   deadline passes.  Returns 0 on end of output, -1 on the deadline.  */
static int
relay (int fd, double deadline)
{
  char buf[8192];
  size_t used = 0;
  for (;;) {
    int left_ms = (int)((deadline - now ()) * 1000);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (left_ms <= 0)
      return -1;
    int ready = poll (&p, 1, left_ms);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return -1;
    ssize_t n = read (fd, buf + used, sizeof buf - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 0;
    used += (size_t)n;
    buf[used] = '\0';
    char *start = buf, *nl;
    while ((nl = strchr (start, '\n'))) {
      *nl = '\0';
      log_line (start);
      start = nl + 1;
    }
    used -= (size_t)(start - buf);
    memmove (buf, start, used);
    if (used == sizeof buf - 1) { /* a line too long: pass it on as is */
      log_line (buf);
      used = 0;
    }
  }
}

void
plugin_find_catalogs (struct plugin_state *s)
{
  char *dir = rpmExpand ("%{?ulp_catalog_dir}", NULL);
  snprintf (s->catalog_dir, sizeof s->catalog_dir, "%s%s", s->root,
            dir && *dir ? dir : ULP_DEFAULT_CATALOG_DIR);
  free (dir);
}

void
plugin_deliver (struct plugin_state *s)
{
  int seconds = rpmExpandNumeric ("%{?_ulp_plugin_timeout}");
  if (seconds <= 0)
    seconds = DEFAULT_DEADLINE;
  if (seconds > LONGEST_DEADLINE)
    seconds = LONGEST_DEADLINE;
  /* The worker starts nothing new after 5/6 of the deadline, so that loads
     already under way finish before it is killed.  */
  s->budget_end = now () + seconds * 5.0 / 6;
  int fds[2];
  if (pipe2 (fds, O_CLOEXEC) < 0) {
    rpmlog (RPMLOG_WARNING, "ulp: pipe: %s; no livepatch applied\n",
            strerror (errno));
    return;
  }
  fflush (NULL);
  pid_t pid = fork ();
  if (pid == 0) {
    close (fds[0]);
    worker (s, fds[1]);
  }
  close (fds[1]);
  if (pid < 0)
    rpmlog (RPMLOG_WARNING, "ulp: fork: %s; no livepatch applied\n",
            strerror (errno));
  else if (relay (fds[0], now () + seconds) < 0) {
    rpmlog (RPMLOG_WARNING,
            "ulp: livepatching did not finish within %d s "
            "(%%_ulp_plugin_timeout); stopped it\n",
            seconds);
    kill (pid, SIGKILL);
  }
  close (fds[0]);
  if (pid > 0)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
}
