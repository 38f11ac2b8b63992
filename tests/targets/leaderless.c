/* leaderless FILE: a thread writes "MESSAGE VALUE" to FILE every 10 ms
   (atomically, through a rename) while the main thread has ended
   (pthread_exit in main): the process lives on with a zombie leader, and
   /proc/PID/maps and /proc/PID/mem show nothing of its memory.  */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

const char *demo_message (void);
int demo_value (int x);

static void *
report (void *file)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s.tmp", (const char *)file);
  for (;;) {
    FILE *f = fopen (tmp, "w");
    if (!f)
      return NULL;
    fprintf (f, "%s %d\n", demo_message (), demo_value (1));
    fclose (f);
    rename (tmp, (const char *)file);
    usleep (10000);
  }
}

int
main (int argc, char **argv)
{
  pthread_t reporter;
  if (argc != 2 || pthread_create (&reporter, NULL, report, argv[1]) != 0)
    return 2;
  pthread_exit (NULL);
}
