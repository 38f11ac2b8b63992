/* monitor LOG: a long-running user of libdemo.  Its monitor thread calls
   demo_message() every millisecond and appends to LOG each result that
   differs from the one before, so the log is the exact sequence of code
   versions the process ran: a patched process whose original code ran again
   would show it.  The main thread only sleeps.  */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *demo_message (void);

static void *
monitor (void *path)
{
  char last[256] = "";
  for (;;) {
    const char *now = demo_message ();
    if (strcmp (now, last) != 0) {
      FILE *f = fopen (path, "a");
      if (!f)
        return NULL;
      fprintf (f, "%s\n", now);
      fclose (f);
      snprintf (last, sizeof last, "%s", now);
    }
    usleep (1000);
  }
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 2 || pthread_create (&t, NULL, monitor, argv[1]) != 0)
    return 2;
  for (;;)
    pause ();
}
