/* lock_holder OUT MODE: the main thread runs tr_loop (see tr_loop.h) while
   another thread holds a lock of the C library or the dynamic loader for
   good, and a third thread sleeps.  A patch loaded by a thread of the
   process (dlopen, malloc) would wait on that lock forever.
     phdr    the thread spins inside a dl_iterate_phdr callback (the
             loader's list lock is held)
     malloc  the main thread blocks in write () inside malloc_stats (), on
             a full pipe that no one reads (the main arena's lock is held);
             the loop runs in a thread with an arena of its own  */
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <string.h>

#include "tr_loop.h"

static volatile int inside;

static int
spin_inside (struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)info, (void)size, (void)arg;
  inside = 1;
  for (;;)
    __asm__ volatile("pause");
  return 0;
}

static void *
hold_loader_lock (void *arg)
{
  (void)arg;
  dl_iterate_phdr (spin_inside, NULL);
  return NULL;
}

/* Standard error becomes a full pipe: malloc_stats blocks writing it.  */
static void
jam_stderr (void)
{
  int fds[2];
  char junk[4096];
  if (pipe (fds) != 0)
    exit (1);
  memset (junk, 'x', sizeof junk);
  fcntl (fds[1], F_SETFL, O_NONBLOCK);
  while (write (fds[1], junk, sizeof junk) > 0)
    ;
  fcntl (fds[1], F_SETFL, 0);
  dup2 (fds[1], 2);
}

static const char *out;

static void *
loop (void *arg)
{
  (void)arg;
  free (malloc (64)); /* this thread's own arena, before the main one jams */
  inside = 1;
  tr_loop (out, "", 1, 0, NULL);
  return NULL;
}

static void *
sleeper (void *arg)
{
  (void)arg;
  for (;;)
    tr_sleep (1);
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 3)
    return 2;
  out = argv[1];
  pthread_create (&t, NULL, sleeper, NULL);
  if (strcmp (argv[2], "phdr") == 0) {
    pthread_create (&t, NULL, hold_loader_lock, NULL);
    while (!inside)
      tr_sleep (0.001);
    tr_sleep (0.05);
    tr_loop (out, "", 1, 0, NULL);
    return 0;
  }
  pthread_create (&t, NULL, loop, NULL);
  while (!inside)
    tr_sleep (0.001);
  jam_stderr ();
  malloc_stats ();
  return 0;
}
