/* timed_target CTL ACK

   Times one system call with a timeout at a time, while a test triggers:
   how it ended (EINTR after a stop is a failure) and how long it took
   (with the full timeout again after each stop, it would end a whole
   timeout after the last trigger).  Two threads make the calls: the main
   thread, which ulp borrows for the system calls of a patch (the first
   thread of the process), and a worker.  A third one reads CTL.
   Commands (answers on ACK, one line each):
     "start WHO CALL MS" WHO is main or worker; CALL one of
                         epoll    epoll_wait(MS) on an idle pipe
                         epoll2   epoll_pwait2({MS}) on an idle pipe
                         sigwait  sigtimedwait({MS}) for SIGUSR2 (blocked)
                         aio      io_getevents({MS}) on an idle AIO context
                         recv     recv on a socketpair end whose SO_RCVTIMEO
                                  is MS, nothing sent unless poked
                         read     the same with read
                         send     send of a byte on a socketpair end whose
                                  SO_SNDTIMEO is MS, its buffer full
                         accept   accept on a TCP socket listening on
                                  127.0.0.1 whose SO_RCVTIMEO is MS
                         nopoll   not a wait: WHO installs a seccomp filter
                                  that kills the process on poll
                         -> "started" once the call is about to be made
     "signal WHO"        SIGUSR1 to WHO (a handler, no SA_RESTART) -> "sent"
     "poke WHO"          a byte for WHO's recv or read -> "sent"
     "tid WHO"           -> WHO's thread id
     "result WHO"        waits for the call to end
                         -> "rc=R errno=NAME took=SECONDS"
     "demo"              -> demo_message (), to see patches take effect
     "exit"              -> exits 0.  */
#include "ctl.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <linux/aio_abi.h>
#include <sys/epoll.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

const char *demo_message (void);

enum who
{
  MAIN,
  WORKER,
  NWHO
};

struct caller
{
  pthread_t thread;
  pid_t tid;
  pthread_mutex_t lock;
  pthread_cond_t changed;
  char call[16];
  int ms;
  int peer;    /* the other end of its recv's socket pair, or -1 */
  int pending; /* a call was asked for and has not ended */
  int started;
  long rc;
  int err;
  double took;
};

static struct caller callers[NWHO];

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct timespec
timespec_of (int ms)
{
  return (struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 };
}

static int
idle_epoll (int pipe_fds[2])
{
  struct epoll_event ev = { .events = EPOLLIN };
  int ep = epoll_create1 (0);
  if (pipe (pipe_fds) != 0 || ep < 0
      || epoll_ctl (ep, EPOLL_CTL_ADD, pipe_fds[0], &ev) != 0)
    exit (3);
  return ep;
}

static void
announce (struct caller *c)
{
  pthread_mutex_lock (&c->lock);
  c->started = 1;
  pthread_cond_broadcast (&c->changed);
  pthread_mutex_unlock (&c->lock);
}

static long
call_epoll (struct caller *c, int pwait2)
{
  struct epoll_event ev;
  struct timespec ts = timespec_of (c->ms);
  int fds[2], ep = idle_epoll (fds);
  announce (c);
  long rc = pwait2 ? epoll_pwait2 (ep, &ev, 1, &ts, NULL)
                   : epoll_wait (ep, &ev, 1, c->ms);
  int err = errno;
  close (ep);
  close (fds[0]);
  close (fds[1]);
  errno = err;
  return rc;
}

static long
call_sigwait (struct caller *c)
{
  sigset_t set;
  struct timespec ts = timespec_of (c->ms);
  sigemptyset (&set);
  sigaddset (&set, SIGUSR2);
  announce (c);
  return sigtimedwait (&set, NULL, &ts);
}

static void
set_timeout (int fd, int option, int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  if (setsockopt (fd, SOL_SOCKET, option, &tv, sizeof tv) != 0)
    exit (3);
}

static void
set_peer (struct caller *c, int fd)
{
  pthread_mutex_lock (&c->lock);
  c->peer = fd;
  pthread_mutex_unlock (&c->lock);
}

static long
call_recv (struct caller *c, int with_read)
{
  int sv[2];
  char byte;
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    exit (3);
  set_timeout (sv[0], SO_RCVTIMEO, c->ms);
  set_peer (c, sv[1]);
  announce (c);
  long rc = with_read ? read (sv[0], &byte, 1) : recv (sv[0], &byte, 1, 0);
  int err = errno;
  set_peer (c, -1);
  close (sv[0]);
  close (sv[1]);
  errno = err;
  return rc;
}

static long
call_send (struct caller *c)
{
  int sv[2];
  char block[4096] = { 0 };
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    exit (3);
  set_timeout (sv[0], SO_SNDTIMEO, c->ms);
  while (send (sv[0], block, sizeof block, MSG_DONTWAIT) > 0)
    ;
  announce (c);
  long rc = send (sv[0], block, 1, 0);
  int err = errno;
  close (sv[0]);
  close (sv[1]);
  errno = err;
  return rc;
}

static long
call_accept (struct caller *c)
{
  struct sockaddr_in at
      = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int s = socket (AF_INET, SOCK_STREAM, 0);
  if (s < 0 || bind (s, (struct sockaddr *)&at, sizeof at) != 0
      || listen (s, 1) != 0)
    exit (3);
  set_timeout (s, SO_RCVTIMEO, c->ms);
  announce (c);
  long rc = accept (s, NULL, NULL);
  int err = errno;
  close (s);
  errno = err;
  return rc;
}

static long
call_aio (struct caller *c)
{
  aio_context_t ctx = 0;
  struct io_event ev;
  struct timespec ts = timespec_of (c->ms);
  if (syscall (SYS_io_setup, 1, &ctx) != 0)
    exit (3);
  announce (c);
  long rc = syscall (SYS_io_getevents, ctx, 1, 1, &ev, &ts);
  int err = errno;
  syscall (SYS_io_destroy, ctx);
  errno = err;
  return rc;
}

static long
forbid_poll (struct caller *c)
{
  struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_poll, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof code / sizeof code[0], code };
  announce (c);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static long
make_call (struct caller *c)
{
  if (strcmp (c->call, "epoll") == 0)
    return call_epoll (c, 0);
  if (strcmp (c->call, "epoll2") == 0)
    return call_epoll (c, 1);
  if (strcmp (c->call, "sigwait") == 0)
    return call_sigwait (c);
  if (strcmp (c->call, "recv") == 0)
    return call_recv (c, 0);
  if (strcmp (c->call, "read") == 0)
    return call_recv (c, 1);
  if (strcmp (c->call, "send") == 0)
    return call_send (c);
  if (strcmp (c->call, "accept") == 0)
    return call_accept (c);
  if (strcmp (c->call, "nopoll") == 0)
    return forbid_poll (c);
  if (strcmp (c->call, "aio") == 0)
    return call_aio (c);
  announce (c);
  errno = ENOSYS;
  return -1;
}

/* Makes the calls asked of C, one at a time, forever.  */
static void *
serve (void *arg)
{
  struct caller *c = arg;
  pthread_mutex_lock (&c->lock);
  c->tid = gettid ();
  pthread_cond_broadcast (&c->changed);
  pthread_mutex_unlock (&c->lock);
  for (;;) {
    pthread_mutex_lock (&c->lock);
    while (!c->pending || c->started)
      pthread_cond_wait (&c->changed, &c->lock);
    pthread_mutex_unlock (&c->lock);
    double start = now ();
    long rc = make_call (c);
    int err = rc < 0 ? errno : 0;
    double took = now () - start;
    pthread_mutex_lock (&c->lock);
    c->rc = rc;
    c->err = err;
    c->took = took;
    c->pending = 0;
    pthread_cond_broadcast (&c->changed);
    pthread_mutex_unlock (&c->lock);
  }
  return NULL;
}

static void
start_call (struct caller *c, const char *call, int ms)
{
  pthread_mutex_lock (&c->lock);
  while (c->pending)
    pthread_cond_wait (&c->changed, &c->lock);
  snprintf (c->call, sizeof c->call, "%s", call);
  c->ms = ms;
  c->pending = 1;
  c->started = 0;
  pthread_cond_broadcast (&c->changed);
  while (!c->started)
    pthread_cond_wait (&c->changed, &c->lock);
  pthread_mutex_unlock (&c->lock);
}

static void
report_result (struct caller *c)
{
  pthread_mutex_lock (&c->lock);
  while (c->pending)
    pthread_cond_wait (&c->changed, &c->lock);
  ctl_reply ("rc=%ld errno=%s took=%.6f", c->rc,
             c->err ? strerrorname_np (c->err) : "0", c->took);
  pthread_mutex_unlock (&c->lock);
}

static void
report_tid (struct caller *c)
{
  pthread_mutex_lock (&c->lock);
  while (!c->tid)
    pthread_cond_wait (&c->changed, &c->lock);
  ctl_reply ("%d", (int)c->tid);
  pthread_mutex_unlock (&c->lock);
}

static struct caller *
caller_named (const char *name)
{
  if (strcmp (name, "main") == 0)
    return &callers[MAIN];
  if (strcmp (name, "worker") == 0)
    return &callers[WORKER];
  return NULL;
}

static void
on_usr1 (int sig)
{
  (void)sig;
}

static void
command (const char *cmd)
{
  char verb[16], who[16], call[16];
  int ms = 0;
  int n = sscanf (cmd, "%15s %15s %15s %d", verb, who, call, &ms);
  struct caller *c = n >= 2 ? caller_named (who) : NULL;
  if (n == 4 && c && strcmp (verb, "start") == 0) {
    start_call (c, call, ms);
    ctl_reply ("started");
  } else if (n == 2 && c && strcmp (verb, "signal") == 0) {
    pthread_kill (c->thread, SIGUSR1);
    ctl_reply ("sent");
  } else if (n == 2 && c && strcmp (verb, "poke") == 0) {
    pthread_mutex_lock (&c->lock);
    int sent = c->peer >= 0 && write (c->peer, "x", 1) == 1;
    pthread_mutex_unlock (&c->lock);
    ctl_reply (sent ? "sent" : "nothing to poke");
  } else if (n == 2 && c && strcmp (verb, "tid") == 0)
    report_tid (c);
  else if (n == 2 && c && strcmp (verb, "result") == 0)
    report_result (c);
  else if (strcmp (cmd, "demo") == 0)
    ctl_reply ("%s", demo_message ());
  else if (strcmp (cmd, "exit") == 0) {
    ctl_reply ("bye");
    _exit (0);
  } else
    ctl_reply ("unknown command '%s'", cmd);
}

static void *
control (void *arg)
{
  char cmd[256];
  (void)arg;
  while (ctl_read (cmd, sizeof cmd))
    command (cmd);
  _exit (0);
  return NULL;
}

int
main (int argc, char **argv)
{
  struct sigaction sa = { .sa_handler = on_usr1 };
  sigset_t usr2;
  pthread_t ctl_thread;
  if (argc != 3) {
    fprintf (stderr, "usage: timed_target CTL ACK\n");
    return 2;
  }
  sigaction (SIGUSR1, &sa, NULL); /* no SA_RESTART */
  sigemptyset (&usr2);
  sigaddset (&usr2, SIGUSR2);
  pthread_sigmask (SIG_BLOCK, &usr2, NULL);
  demo_message ();
  for (int i = 0; i < NWHO; i++) {
    pthread_mutex_init (&callers[i].lock, NULL);
    callers[i].peer = -1;
    pthread_cond_init (&callers[i].changed, NULL);
  }
  callers[MAIN].thread = pthread_self ();
  pthread_create (&callers[WORKER].thread, NULL, serve, &callers[WORKER]);
  ctl_open (argv[1], argv[2]);
  pthread_create (&ctl_thread, NULL, control, NULL);
  serve (&callers[MAIN]);
  return 0;
}
