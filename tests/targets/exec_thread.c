/* exec_thread OUT SECONDS: the main thread runs tr_loop (see tr_loop.h),
   a second thread vforks on SIGUSR1 (as in vforker: it cannot stop for
   SECONDS), and a third one, as soon as it sees itself traced
   (TracerPid), calls execve on this program: "exec_thread OUT exec'd",
   which runs tr_loop alone with the prefix "exec'd".  */
#include <string.h>

#include "tr_loop.h"

static char **args;

static void *
execer (void *arg)
{
  (void)arg;
  while (!tr_traced ())
    tr_sleep (0.001);
  char *argv[] = { args[0], args[1], "exec'd", NULL };
  execv ("/proc/self/exe", argv);
  perror ("execv");
  exit (1);
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 3)
    return 2;
  if (strcmp (argv[2], "exec'd") == 0)
    tr_loop (argv[1], "exec'd", 1, 0, NULL);
  args = argv;
  tr_vfork_seconds = atof (argv[2]);
  tr_block_usr1 ();
  pthread_create (&t, NULL, tr_vforker, NULL);
  pthread_create (&t, NULL, execer, NULL);
  tr_loop (argv[1], "", 1, 0, NULL);
  return 0;
}
