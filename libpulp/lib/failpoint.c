#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failpoint.h"

void
ulp_failpoint (const char *name)
{
  const char *chosen = getenv ("ULP_FAILPOINT");
  if (!chosen || strcmp (chosen, name) != 0)
    return;
  fprintf (stderr, "ulp: failpoint %s: dying\n", name);
  fflush (stderr);
  kill (getpid (), SIGKILL);
}
