#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "container.h"
#include "error.h"
#include "patch.h"
#include "process.h"

static int
is_applied (pid_t pid, const char *path)
{
  struct ulp_container c;
  struct ulp_process p;
  struct ulp_runtime *st = malloc (sizeof *st);
  int rc = -1;
  if (!st)
    return ulp_fail ("out of memory");
  if (ulp_container_open (path, &c) < 0) {
    free (st);
    return -1;
  }
  if (ulp_process_open (pid, &p) < 0)
    ulp_fail ("pid %d: no such process", (int)pid);
  else {
    if (ulp_process_read_state (&p, st) < 0)
      ulp_fail ("pid %d: %s", (int)pid, ulp_error ());
    else
      rc = ulp_state_find (st, c.meta.id) >= 0;
    ulp_process_close (&p);
  }
  ulp_container_free (&c);
  free (st);
  return rc;
}

int
cmd_check (int argc, char **argv)
{
  const char *pid = NULL;
  int c;
  while ((c = getopt (argc, argv, "p:")) != -1)
    if (c == 'p')
      pid = optarg;
    else
      pid = NULL, argc = 0;
  if (!pid || optind != argc - 1 || strspn (pid, "0123456789") != strlen (pid)
      || !*pid) {
    return ulp_command_usage ("check", stderr);
  }
  int applied = is_applied ((pid_t)atoi (pid), argv[optind]);
  if (applied < 0) {
    fprintf (stderr, "ulp check: %s\n", ulp_error ());
    return ULP_EXIT_USAGE;
  }
  puts (applied ? "applied" : "not applied");
  return applied ? ULP_EXIT_OK : ULP_EXIT_FAILED;
}
