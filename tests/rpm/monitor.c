/* monitor LOG [MICROSECONDS]: a long-running user of libdemo.  Its monitor
   thread calls demo_message() every millisecond (or as given) and appends to
   LOG each result that differs from the one before, so the log is the sequence
   of code versions the process ran.  While a patched result comes back, the
   original code must not run at all: the library counts the original's calls,
   and any increase is logged as "ORIGINAL CODE RAN".  The main thread sleeps.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *demo_message (void);
long demo_original_count (void);

static void
append (const char *path, const char *line)
{
  FILE *f = fopen (path, "a");
  if (f) {
    fprintf (f, "%s\n", line);
    fclose (f);
  }
}

static const char *log_path;
static useconds_t interval = 1000;

static void *
monitor (void *unused)
{
  (void)unused;
  const char *path = log_path;
  char last[256] = "";
  long before = demo_original_count ();
  while (path) {
    const char *now = demo_message ();
    long count = demo_original_count ();
    int patched = strncmp (now, "original", 8) != 0;
    if (strcmp (now, last) != 0) {
      append (path, now);
      snprintf (last, sizeof last, "%s", now);
    } else if (patched && count != before)
      append (path, "ORIGINAL CODE RAN");
    before = count;
    usleep (interval);
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc < 2 || argc > 3)
    return 2;
  log_path = argv[1];
  if (argc == 3)
    interval = (useconds_t)atoi (argv[2]);
  if (pthread_create (&t, NULL, monitor, NULL) != 0)
    return 2;
  for (;;)
    pause ();
}
