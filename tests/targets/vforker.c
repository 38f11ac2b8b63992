/* vforker OUT SECONDS [futex]: the main thread runs tr_loop (see
   tr_loop.h) and another thread calls vfork on each SIGUSR1; the child
   sleeps SECONDS before it exits, so that thread cannot stop that long.
   With "futex", the main thread waits only in plain futex waits, where a
   trigger never borrows it to load a patch.  */
#include <string.h>

#include "tr_loop.h"

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 3 && argc != 4)
    return 2;
  int futex = argc == 4 && strcmp (argv[3], "futex") == 0;
  tr_vfork_seconds = atof (argv[2]);
  tr_block_usr1 ();
  pthread_create (&t, NULL, tr_vforker, NULL);
  tr_loop (argv[1], "", futex ? 10 : 1, futex, NULL);
  return 0;
}
