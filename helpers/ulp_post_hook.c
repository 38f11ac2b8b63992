/* ulp_post_hook: the helper a livepatch package's %post and %postun call
   (through %ulp_post_hook and %ulp_postun_hook in macros.ulp) when the rpm
   plugin is not there to do the work.

     ulp_post_hook [install] PACKAGE VERSION TARGET [DIR]
       replaces every patch on library TARGET with the containers in DIR
       (default LIBDIR/ulp/PACKAGE/VERSION), in one stop per process;
     ulp_post_hook remove PACKAGE VERSION TARGET
       reverts every patch on library TARGET;
     ulp_post_hook transaction ...
       the rpm plugin's worker (transaction.c).

   It never fails the package's scriptlet: problems are logged (stdout and
   syslog) and it exits 0; only a malformed call exits 2, and one that
   SIGINT, SIGTERM or SIGHUP interrupted 128 + the signal, once the step
   under way is finished or rolled back and every thread released.  */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "delivery.h"
#include "error.h"
#include "post_hook.h"
#include "transition.h"

#ifndef ULP_LIBDIR
#define ULP_LIBDIR "/usr/lib64"
#endif

struct request
{
  int remove;
  const char *package, *version, *target;
  char dir[PATH_MAX];
};

static void
say (void *ctx, int failure, const char *line)
{
  (void)ctx;
  printf ("ulp_post_hook: %s%s\n", failure ? "warning: " : "", line);
  fflush (stdout);
}

static void
note (const struct request *r, const char *text)
{
  syslog (LOG_NOTICE, "%s: %s", r->package, text);
  printf ("ulp_post_hook: %s: %s\n", r->package, text);
}

static int
parse (int argc, char **argv, struct request *r)
{
  int i = 1;
  if (argc > 1
      && (strcmp (argv[1], "install") == 0
          || strcmp (argv[1], "remove") == 0)) {
    r->remove = strcmp (argv[1], "remove") == 0;
    i = 2;
  }
  int left = argc - i;
  if (left < 3 || left > 4 || (r->remove && left != 3))
    return -1;
  r->package = argv[i];
  r->version = argv[i + 1];
  r->target = argv[i + 2];
  if (!*r->package || !*r->version || !*r->target || strchr (r->target, '/'))
    return -1;
  if (left == 4)
    snprintf (r->dir, sizeof r->dir, "%s", argv[i + 3]);
  else
    snprintf (r->dir, sizeof r->dir, "%s/ulp/%s/%s", ULP_LIBDIR, r->package,
              r->version);
  return 0;
}

/* Inside a chroot (an image or package build root) the processes running
   are not the system the package is installed into.  When init's root
   cannot be read (a container may forbid it) this is not a chroot we can
   tell; without /proc there is nothing to patch anyway.  */
static int
in_build_root (void)
{
  struct stat root, init_root;
  const char *brp = getenv ("RPM_BUILD_ROOT");
  if (brp && *brp)
    return 1;
  if (stat ("/", &root) != 0 || stat ("/proc/1/root/.", &init_root) != 0)
    return 0;
  return root.st_dev != init_root.st_dev || root.st_ino != init_root.st_ino;
}

/* Why the package's processes are left alone, or NULL to go on.  */
static const char *
reason_to_step_aside (const struct request *r, char *buf, size_t size)
{
  const char *plugin = getenv ("ULP_RPM_PLUGIN");
  if (plugin && *plugin)
    return "the rpm plugin applies livepatches in this transaction";
  if (in_build_root ())
    return "inside a build root or chroot: no process patched";
  char component[128];
  ulp_livepatch_component (r->package, component, sizeof component);
  int enabled = ulp_livepatch_enabled (component);
  if (enabled < 0) {
    snprintf (buf, size, "no process patched: %s", ulp_error ());
    return buf;
  }
  if (!enabled) {
    snprintf (buf, size, "LIVEPATCH_%s=never: no process patched", component);
    return buf;
  }
  return NULL;
}

static void
deliver (const struct request *r)
{
  glob_t g = { 0 };
  char pattern[PATH_MAX + 8];
  struct ulp_catalog catalog = { NULL, 0 };
  struct ulp_delivery d = { .package = r->package,
                            .target = r->target,
                            .timeout = 30,
                            .catalog = &catalog,
                            .log = say };
  if (!r->remove) {
    snprintf (pattern, sizeof pattern, "%s/*.so", r->dir);
    if (glob (pattern, 0, NULL, &g) != 0) {
      note (r, "no container found; nothing applied");
      return;
    }
    d.apply = g.gl_pathv;
    d.napply = g.gl_pathc;
  }
  ulp_catalog_read_dir (NULL, &catalog);
  struct ulp_trigger_summary sum;
  ulp_deliver (&d, &sum);
  globfree (&g);
  ulp_catalog_free (&catalog);
}

/* 128 + the signal that interrupted the transition, or 0.  */
static int
interrupted_status (const struct request *r)
{
  char text[200];
  int status = ulp_transition_exit_status (
      ": the processes not reported SUCCESS keep what they had, every "
      "thread released",
      text, sizeof text);
  if (status)
    note (r, text);
  return status;
}

int
main (int argc, char **argv)
{
  struct request r = { 0 };
  if (argc > 1 && strcmp (argv[1], "transaction") == 0)
    return run_transaction (argc - 1, argv + 1);
  if (parse (argc, argv, &r) < 0) {
    fprintf (stderr, "usage: ulp_post_hook [install] PACKAGE VERSION TARGET "
                     "[DIR]\n       ulp_post_hook remove PACKAGE VERSION "
                     "TARGET\n");
    return 2;
  }
  openlog ("ulp_post_hook", LOG_PID, LOG_DAEMON);
  char buf[800];
  const char *why = reason_to_step_aside (&r, buf, sizeof buf);
  if (why)
    note (&r, why);
  else
    deliver (&r);
  int status = interrupted_status (&r);
  closelog ();
  return status;
}
