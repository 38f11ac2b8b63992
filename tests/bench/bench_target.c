/* bench_target N: with N = 0 sleeps; otherwise N threads (the main thread
   among them) spin inside libbench until killed.
   bench_target helpers N: N threads spin inside libbench, the main thread
   sleeps (as in a server whose main thread waits on its workers).
   bench_target quiet [MS]: sleeps, and every MS milliseconds (default
   1000; the first wake at a random instant of the period, so that many
   quiet processes do not wake together) calls into libbench a few times.
   On SIGTERM it prints "late_max_us=N": the latest it woke after its due
   time since it started, or since the last SIGUSR1 (sent once the host is
   quiet again after starting many): a tool holding it stopped makes that
   later.  */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void bench_spin (atomic_int *stop);
int bench_step (int x);

static atomic_int stop;

static void *
spinner (void *arg)
{
  (void)arg;
  bench_spin (&stop);
  return NULL;
}

static long long late_max;
static volatile sig_atomic_t reset;

static void
on_usr1 (int sig)
{
  (void)sig;
  reset = 1;
}

static void
on_term (int sig)
{
  (void)sig;
  char buf[64];
  int n = snprintf (buf, sizeof buf, "late_max_us=%lld\n", late_max / 1000);
  if (write (1, buf, (size_t)n) < 0)
    _exit (1);
  _exit (0);
}

static long long
ns (const struct timespec *t)
{
  return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int
quiet (long period)
{
  volatile int x = 0;
  struct timespec due, now;
  if (period < 1)
    period = 1000;
  signal (SIGTERM, on_term);
  signal (SIGUSR1, on_usr1);
  srand ((unsigned)getpid ());
  clock_gettime (CLOCK_MONOTONIC, &due);
  long long next = ns (&due) + (rand () % period) * 1000000LL;
  for (;;) {
    due.tv_sec = next / 1000000000LL;
    due.tv_nsec = next % 1000000000LL;
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
      ;
    clock_gettime (CLOCK_MONOTONIC, &now);
    if (reset)
      late_max = reset = 0;
    if (ns (&now) - next > late_max)
      late_max = ns (&now) - next;
    for (int i = 0; i < 100; i++)
      x = bench_step (x) & 0xffff;
    next += period * 1000000LL;
  }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "quiet") == 0)
    return quiet (argc > 2 ? atol (argv[2]) : 1000);
  if (argc > 1 && strcmp (argv[1], "helpers") == 0) {
    int n = argc > 2 ? atoi (argv[2]) : 4;
    for (int i = 0; i < n; i++) {
      pthread_t t;
      pthread_create (&t, NULL, spinner, NULL);
    }
    for (;;)
      pause ();
  }
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
