/* Delivery from the plugin: rpm may run inside any program that links
   librpm, threads and locks included, so the work is not done in a fork
   of it but by a program of its own: the helper (%_ulp_helper), spawned
   with what went through in the transaction on its command line and the
   catalogs read beforehand on descriptor 3.  It reports on a pipe, one
   line each, "N text", "W text" (a warning) or "D text" (debug); the
   lines go to rpm's log.  Its ptrace waits never see rpm's children.

   At the deadline the helper is asked to stop (SIGTERM): it finishes or
   rolls back the step under way, releases every thread, reports and
   exits.  It is never killed: a SIGKILL in the middle of a step is safe
   by design (transition.h), but leaves no report of it.  One that has
   not exited GRACE_SECONDS later is left to finish on its own (every step
   it takes has a timeout of its own) and rpm goes on; its results still
   go to syslog.  */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>

#include "clock.h"
#include "plugin.h"

#define DEFAULT_DEADLINE 60 /* seconds */
#define LONGEST_DEADLINE 86400
#define CATALOG_FD 3
/* How long the helper has to exit after SIGTERM.  Releasing the threads
   takes well under a second (transition.c); a step inside its callback
   ends first, which may take longer only when the target does not answer
   the calls it is asked to make.  */
#define GRACE_SECONDS 5

extern char **environ;

struct argv
{
  char **v;
  size_t n, cap;
};

static int
push (struct argv *a, const char *s)
{
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 32;
    char **v = realloc (a->v, cap * sizeof *v);
    if (!v)
      return -1;
    a->v = v;
    a->cap = cap;
  }
  if (!(a->v[a->n] = strdup (s)))
    return -1;
  a->v[++a->n] = NULL;
  return 0;
}

static void
argv_free (struct argv *a)
{
  for (size_t i = 0; i < a->n; i++)
    free (a->v[i]);
  free (a->v);
}

static int
push_livepatch (struct argv *a, const struct livepatch *lp)
{
  char count[32];
  snprintf (count, sizeof count, "%zu", lp->nfiles);
  if (push (a, lp->erased ? "erase" : "install") < 0 || push (a, lp->nevra) < 0
      || push (a, lp->name) < 0 || push (a, lp->target) < 0)
    return -1;
  if (lp->erased)
    return 0;
  if (push (a, count) < 0)
    return -1;
  for (size_t i = 0; i < lp->nfiles; i++)
    if (push (a, lp->files[i]) < 0)
      return -1;
  return 0;
}

/* ulp_post_hook transaction SECONDS CATALOG_DIR CATALOG_FILE RECORD...  */
static int
helper_argv (const struct plugin_state *s, double budget, int has_catalog,
             struct argv *a)
{
  char *helper = rpmExpand ("%{?_ulp_helper}", NULL);
  char seconds[32];
  snprintf (seconds, sizeof seconds, "%.3f", budget);
  int rc = push (a, helper && *helper ? helper : "ulp_post_hook");
  free (helper);
  if (rc < 0 || push (a, "transaction") < 0 || push (a, seconds) < 0
      || push (a, s->catalog_dir) < 0
      || push (a, has_catalog ? "/proc/self/fd/3" : "-") < 0)
    return -1;
  for (size_t i = 0; i < s->n; i++)
    if (s->lp[i].done && push_livepatch (a, &s->lp[i]) < 0)
      return -1;
  return 0;
}

/* The catalogs read before the transaction, in a file of their own that
   only the helper gets: -1 when there are none.  */
static int
catalog_file (const struct plugin_state *s)
{
  if (!s->catalog.n)
    return -1;
  int fd = memfd_create ("ulp-catalog", MFD_CLOEXEC);
  FILE *f = fd >= 0 ? fdopen (dup (fd), "w") : NULL;
  if (!f) {
    if (fd >= 0)
      close (fd);
    return -1;
  }
  char line[2048];
  for (size_t i = 0; i < s->catalog.n; i++) {
    ulp_catalog_format (&s->catalog.v[i], line, sizeof line);
    fprintf (f, "%s\n", line);
  }
  if (fclose (f) != 0) {
    close (fd);
    return -1;
  }
  return fd;
}

/* The helper starts with rpm's environment, no signal blocked or ignored,
   standard output and error on OUT, and no other descriptor of rpm's: one
   left running past the deadline holds nothing of rpm's open (a program
   reading rpm's output would wait for it).  */
static int
spawn (char **argv, int out, int catalog, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, all;
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawn_file_actions_init (&fa);
  posix_spawnattr_init (&attr);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, out, 1);
  posix_spawn_file_actions_adddup2 (&fa, out, 2);
  if (catalog >= 0)
    posix_spawn_file_actions_adddup2 (&fa, catalog, CATALOG_FD);
  posix_spawn_file_actions_addclosefrom_np (&fa, catalog >= 0 ? 4 : 3);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr,
                            POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn (pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  return rc;
}

/* A line without a known mark comes from the helper's standard error.  */
static void
log_line (char *line)
{
  if (*line == 'W')
    rpmlog (RPMLOG_WARNING, "ulp: %s\n", line + 1);
  else if (*line == 'D')
    rpmlog (RPMLOG_DEBUG, "ulp: %s\n", line + 1);
  else if (*line == 'N')
    rpmlog (RPMLOG_NOTICE, "ulp: %s\n", line + 1);
  else if (*line)
    rpmlog (RPMLOG_WARNING, "ulp: %s\n", line);
}

/* The helper's report as it comes: a line may span two relays.  */
struct report
{
  int fd;
  char buf[8192];
  size_t used;
};

static void
log_lines (struct report *r)
{
  char *start = r->buf, *nl;
  while ((nl = strchr (start, '\n'))) {
    *nl = '\0';
    log_line (start);
    start = nl + 1;
  }
  r->used -= (size_t)(start - r->buf);
  memmove (r->buf, start, r->used);
  if (r->used == sizeof r->buf - 1) { /* a line too long: pass it on as is */
    log_line (r->buf);
    r->used = 0;
  }
}

/* Logs the helper's lines as they come until it closes the pipe or the
   deadline passes.  Returns 0 on end of output, -1 on the deadline.  */
static int
relay (struct report *r, double deadline)
{
  for (;;) {
    int left_ms = (int)((deadline - ulp_now ()) * 1000);
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    if (left_ms <= 0)
      return -1;
    int ready = poll (&p, 1, left_ms);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return -1;
    ssize_t n = read (r->fd, r->buf + r->used, sizeof r->buf - 1 - r->used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      r->buf[r->used] = '\0';
      if (r->used) /* a last line without its newline */
        log_line (r->buf);
      r->used = 0;
      return 0;
    }
    r->used += (size_t)n;
    r->buf[r->used] = '\0';
    log_lines (r);
  }
}

/* Reaps PID if it exits by DEADLINE: 1 with *STATUS, else 0.  */
static int
reap_by (pid_t pid, double deadline, int *status)
{
  for (;;) {
    pid_t got = waitpid (pid, status, WNOHANG);
    if (got == pid)
      return 1;
    if (got < 0 && errno != EINTR) {
      *status = 0; /* reaped by someone else: nothing to say */
      return 1;
    }
    if (ulp_now () >= deadline)
      return 0;
    struct timespec pause = { 0, 10000000 };
    nanosleep (&pause, NULL);
  }
}

/* Output to its end and exit, both by DEADLINE.  */
static int
finished_by (struct report *r, pid_t pid, double deadline, int *status)
{
  return relay (r, deadline) == 0 && reap_by (pid, deadline, status);
}

/* Only an unexpected end is worth a line: the helper reports its own.  */
static void
log_exit (pid_t pid, int status)
{
  if (WIFSIGNALED (status))
    rpmlog (RPMLOG_WARNING,
            "ulp: the helper (pid %d) was ended by signal %d (%s)\n", (int)pid,
            WTERMSIG (status), strsignal (WTERMSIG (status)));
  else if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
    rpmlog (RPMLOG_DEBUG, "ulp: the helper (pid %d) exited with status %d\n",
            (int)pid, WEXITSTATUS (status));
}

void
plugin_find_catalogs (struct plugin_state *s)
{
  char *dir = rpmExpand ("%{?ulp_catalog_dir}", NULL);
  snprintf (s->catalog_dir, sizeof s->catalog_dir, "%s%s", s->root,
            dir && *dir ? dir : ULP_DEFAULT_CATALOG_DIR);
  free (dir);
}

static int
deadline_seconds (void)
{
  int seconds = rpmExpandNumeric ("%{?_ulp_plugin_timeout}");
  if (seconds <= 0)
    seconds = DEFAULT_DEADLINE;
  return seconds > LONGEST_DEADLINE ? LONGEST_DEADLINE : seconds;
}

/* Waits for the helper; past the deadline it is asked to stop, and past
   the grace it is left running (see the top of the file).  Never waits
   longer than both.  */
static void
await (pid_t pid, int out, int seconds)
{
  struct report r = { .fd = out };
  int status;
  if (finished_by (&r, pid, ulp_now () + seconds, &status)) {
    log_exit (pid, status);
    return;
  }
  rpmlog (RPMLOG_WARNING,
          "ulp: livepatching did not finish within %d s "
          "(%%_ulp_plugin_timeout); asked the helper (pid %d) to stop: "
          "SIGTERM\n",
          seconds, (int)pid);
  kill (pid, SIGTERM);
  if (finished_by (&r, pid, ulp_now () + GRACE_SECONDS, &status)) {
    log_exit (pid, status);
    return;
  }
  rpmlog (RPMLOG_WARNING,
          "ulp: the helper (pid %d) is still running %d s after SIGTERM; "
          "left to finish on its own, its results go to syslog; see ulp "
          "patches\n",
          (int)pid, GRACE_SECONDS);
}

void
plugin_deliver (struct plugin_state *s)
{
  int seconds = deadline_seconds ();
  struct argv a = { 0 };
  int fds[2] = { -1, -1 }, catalog = catalog_file (s);
  pid_t pid;
  /* The helper starts nothing new after 5/6 of the deadline, so that steps
     already under way finish before it is asked to stop.  */
  int rc = helper_argv (s, seconds * 5.0 / 6, catalog >= 0, &a) < 0 ? ENOMEM
           : pipe2 (fds, O_CLOEXEC) < 0                             ? errno
                                        : spawn (a.v, fds[1], catalog, &pid);
  if (fds[1] >= 0)
    close (fds[1]);
  if (catalog >= 0)
    close (catalog);
  if (rc != 0)
    rpmlog (RPMLOG_WARNING, "ulp: cannot run %s: %s; no livepatch applied\n",
            a.v ? a.v[0] : "the helper", strerror (rc));
  else
    await (pid, fds[0], seconds);
  if (fds[0] >= 0)
    close (fds[0]);
  argv_free (&a);
}
