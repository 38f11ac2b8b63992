/* Shared by the fixtures of tests/43-transition.bats (vforker, dstate,
   exec_thread, seccomp_kill).

   tr_loop: the main thread's loop.  Every 10 ms it writes
   "PREFIX MESSAGE count=N maxgap=MS" to OUT (through a rename), where
   MESSAGE is demo_message () and MAXGAP the longest time, in milliseconds,
   between two iterations since the start: a main thread held stopped by a
   tracer shows there.

   tr_vforker: a thread that, on each SIGUSR1, calls vfork; the child
   sleeps tr_vfork_seconds and exits, so the thread waits in vfork (D
   state) that long.  */
#ifndef TR_LOOP_H
#define TR_LOOP_H

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TR_UNUSED __attribute__ ((unused))

const char *demo_message (void);

static double tr_vfork_seconds TR_UNUSED;

static double
tr_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
tr_sleep (double seconds)
{
  struct timespec ts
      = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
  while (nanosleep (&ts, &ts) != 0)
    ;
}

/* A wait the trigger never borrows a thread from (a plain futex wait).  */
static TR_UNUSED void
tr_futex_sleep (double seconds)
{
  static unsigned word;
  struct timespec ts
      = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
  syscall (SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}

/* WRITE_EVERY: iterations between two writes of OUT; PLAIN_FUTEX: wait
   with tr_futex_sleep; TICK, if any, runs at every iteration.  */
static TR_UNUSED void
tr_loop (const char *out, const char *prefix, int write_every, int plain_futex,
         void (*tick) (double now))
{
  char tmp[4096];
  double last = tr_now (), maxgap = 0;
  long count = 0;
  snprintf (tmp, sizeof tmp, "%s.tmp", out);
  for (;;) {
    double now = tr_now ();
    if (now - last > maxgap)
      maxgap = now - last;
    last = now;
    if (tick)
      tick (now);
    if (count++ % write_every == 0) {
      FILE *f = fopen (tmp, "w");
      if (!f)
        exit (1);
      fprintf (f, "%s%s%s count=%ld maxgap=%ld\n", prefix, *prefix ? " " : "",
               demo_message (), count, (long)(maxgap * 1000));
      fclose (f);
      rename (tmp, out);
    }
    if (plain_futex)
      tr_futex_sleep (0.01);
    else
      tr_sleep (0.01);
  }
}

/* Whether the calling thread is traced (TracerPid in its status).  */
static TR_UNUSED int
tr_traced (void)
{
  char line[256];
  int tracer = 0;
  FILE *f = fopen ("/proc/thread-self/status", "re");
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "TracerPid: %d", &tracer) == 1)
      break;
  if (f)
    fclose (f);
  return tracer != 0;
}

/* SIGUSR1 is blocked in every thread (call before creating any), so that
   only tr_vforker's sigwait takes it.  */
static TR_UNUSED void
tr_block_usr1 (void)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGUSR1);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
}

static TR_UNUSED void *
tr_vforker (void *arg)
{
  sigset_t set;
  int sig;
  (void)arg;
  sigemptyset (&set);
  sigaddset (&set, SIGUSR1);
  for (;;) {
    sigwait (&set, &sig);
    if (vfork () == 0) {
      struct timespec ts
          = { (time_t)tr_vfork_seconds,
              (long)((tr_vfork_seconds - (time_t)tr_vfork_seconds) * 1e9) };
      nanosleep (&ts, NULL);
      _exit (0);
    }
  }
  return NULL;
}

#endif
