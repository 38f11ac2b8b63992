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
  if (!chosen)
    return;
  size_t length = strlen (name);
  if (strncmp (chosen, name, length) != 0)
    return;
  if (chosen[length] == '\0') {
    fprintf (stderr, "ulp: failpoint %s: dying\n", name);
    fflush (stderr);
    kill (getpid (), SIGKILL);
  } else if (strcmp (chosen + length, ":stop") == 0) {
    fprintf (stderr, "ulp: failpoint %s: stopping\n", name);
    fflush (stderr);
    /* To this thread, which then stops before it takes another step: sent
       to the process, the signal may wake another thread first.  */
    tgkill (getpid (), gettid (), SIGSTOP);
  }
}
