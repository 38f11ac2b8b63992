/* stress NTHREADS ALLOWED...: NTHREADS threads call demo_message in a tight
   loop; any result not in ALLOWED is reported on stderr and exits 3.  On
   SIGTERM prints the call count and exits 0.  STRESS_MAIN=1 in the
   environment: the main thread calls it in a loop too (and SIGTERM does
   nothing).  */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *demo_message (void);

static char **allowed;
static int nallowed;
static atomic_long calls;

static int
is_allowed (const char *s)
{
  for (int i = 0; i < nallowed; i++)
    if (strcmp (s, allowed[i]) == 0)
      return 1;
  return 0;
}

static void *
caller (void *arg)
{
  (void)arg;
  for (;;) {
    const char *s = demo_message ();
    if (!is_allowed (s)) {
      fprintf (stderr, "unexpected result '%s'\n", s);
      _exit (3);
    }
    atomic_fetch_add_explicit (&calls, 1, memory_order_relaxed);
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  sigset_t term;
  int sig;
  if (argc < 3)
    return 2;
  allowed = argv + 2;
  nallowed = argc - 2;
  sigemptyset (&term);
  sigaddset (&term, SIGTERM);
  pthread_sigmask (SIG_BLOCK, &term, NULL);
  for (int i = 0; i < atoi (argv[1]); i++) {
    pthread_t t;
    pthread_create (&t, NULL, caller, NULL);
  }
  if (getenv ("STRESS_MAIN"))
    caller (NULL);
  sigwait (&term, &sig);
  printf ("calls %ld\n", atomic_load (&calls));
  return 0;
}
