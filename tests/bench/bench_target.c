/* bench_target N: with N = 0 sleeps; otherwise N threads (the main thread
   among them) spin inside libbench until killed.  */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

void bench_spin (atomic_int *stop);

static atomic_int stop;

static void *
spinner (void *arg)
{
  (void)arg;
  bench_spin (&stop);
  return NULL;
}

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 0;
  if (n == 0)
    for (;;)
      sleep (60);
  for (int i = 1; i < n; i++) {
    pthread_t t;
    pthread_create (&t, NULL, spinner, NULL);
  }
  bench_spin (&stop);
  return 0;
}
