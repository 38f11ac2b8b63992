/* sleeper REPORT: threads blocked in read, nanosleep, epoll_wait, a futex
   wait and a condition variable.  Anything a trigger could disturb (EINTR,
   a short sleep, a wakeup nobody sent) is appended to REPORT.  */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *demo_message (void);

static const char *report_path;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void
report (const char *what)
{
  pthread_mutex_lock (&report_lock);
  FILE *f = fopen (report_path, "a");
  if (f) {
    fprintf (f, "%s\n", what);
    fclose (f);
  }
  pthread_mutex_unlock (&report_lock);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
reader (void *arg)
{
  int fds[2];
  char c;
  (void)arg;
  if (pipe (fds) != 0)
    return NULL;
  ssize_t n = read (fds[0], &c, 1);
  report (n < 0 && errno == EINTR ? "read: EINTR" : "read: returned");
  return NULL;
}

static void *
sleeper (void *arg)
{
  (void)arg;
  for (;;) {
    struct timespec ts = { 0, 300000000 };
    double start = now ();
    if (nanosleep (&ts, NULL) != 0)
      report (errno == EINTR ? "nanosleep: EINTR" : "nanosleep: failed");
    else if (now () - start < 0.299)
      report ("nanosleep: short sleep");
  }
  return NULL;
}

static void *
poller (void *arg)
{
  struct epoll_event ev;
  (void)arg;
  int ep = epoll_create1 (0);
  int n = epoll_wait (ep, &ev, 1, -1);
  report (n < 0 && errno == EINTR ? "epoll_wait: EINTR"
                                  : "epoll_wait: returned");
  return NULL;
}

static void *
futex_waiter (void *arg)
{
  static unsigned word;
  (void)arg;
  for (;;) {
    long rc = syscall (SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    if (rc != 0)
      report (errno == EINTR ? "futex: EINTR" : "futex: returned");
    if (rc != 0 && errno != EAGAIN)
      return NULL;
  }
}

static void *
cond_waiter (void *arg)
{
  static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  (void)arg;
  pthread_mutex_lock (&m);
  pthread_cond_wait (&c, &m);
  report ("cond: woken");
  pthread_mutex_unlock (&m);
  return NULL;
}

int
main (int argc, char **argv)
{
  void *(*bodies[]) (void *)
      = { reader, sleeper, poller, futex_waiter, cond_waiter };
  if (argc != 2)
    return 2;
  report_path = argv[1];
  demo_message ();
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    pthread_t t;
    pthread_create (&t, NULL, bodies[i], NULL);
  }
  sleeper (NULL);
  return 0;
}
