/* exitwatch PROGRAM: how each run of PROGRAM ends, seen from outside (the
   kernel's process events connector; needs root), so that a test that
   kills the tool at random instants can tell a kill that hit a running
   tool from one that came after it had exited.  Prints "ready" once
   listening, then one line per run of PROGRAM that ends:
       PID SUBCOMMAND LIFETIME_US exit=CODE | signal=SIGNO
   and, on SIGTERM or SIGINT, "lost N" (events the socket dropped) and
   "unnamed N" (runs gone before they could be looked at).  Exits 2 when
   the connector is not available.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RUNS 4096

struct run
{
  int pid;
  unsigned long long start_ns;
  char sub[32];
};

static struct run runs[MAX_RUNS];
static size_t nruns;
static volatile sig_atomic_t done;

static void
on_signal (int sig)
{
  (void)sig;
  done = 1;
}

/* The first argument after the program's name: its subcommand.  */
static void
subcommand (int pid, char *out, size_t len)
{
  char path[64], buf[256];
  snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
  snprintf (out, len, "?");
  int fd = open (path, O_RDONLY);
  if (fd < 0)
    return;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  size_t first = strlen (buf) + 1;
  if ((ssize_t)first < n)
    snprintf (out, len, "%s", buf + first);
}

int
main (int argc, char **argv)
{
  char program[PATH_MAX];
  if (argc != 2 || !realpath (argv[1], program)) {
    fprintf (stderr, "usage: exitwatch PROGRAM\n");
    return 1;
  }
  int s = socket (PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (s < 0)
    return 2;
  int size = 8 << 20;
  setsockopt (s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  struct sockaddr_nl addr = { .nl_family = AF_NETLINK,
                              .nl_groups = CN_IDX_PROC,
                              .nl_pid = (unsigned)getpid () };
  if (bind (s, (struct sockaddr *)&addr, sizeof addr) < 0)
    return 2;
  struct __attribute__ ((packed))
  {
    struct nlmsghdr h;
    struct cn_msg m;
    enum proc_cn_mcast_op op;
  } listen;
  memset (&listen, 0, sizeof listen);
  listen.h.nlmsg_len = sizeof listen;
  listen.h.nlmsg_type = NLMSG_DONE;
  listen.h.nlmsg_pid = (unsigned)getpid ();
  listen.m.id.idx = CN_IDX_PROC;
  listen.m.id.val = CN_VAL_PROC;
  listen.m.len = sizeof listen.op;
  listen.op = PROC_CN_MCAST_LISTEN;
  if (send (s, &listen, sizeof listen, 0) < 0)
    return 2;

  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  setvbuf (stdout, NULL, _IOLBF, 0);
  printf ("ready\n");

  unsigned long lost = 0, unnamed = 0;
  char buf[8192] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  while (!done) {
    ssize_t len = recv (s, buf, sizeof buf, 0);
    if (len < 0) {
      if (errno == ENOBUFS)
        lost++;
      else if (errno != EINTR)
        break;
      continue;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK (h, len);
         h = NLMSG_NEXT (h, len)) {
      if (h->nlmsg_type != NLMSG_DONE)
        continue;
      struct cn_msg *m = NLMSG_DATA (h);
      struct proc_event *e = (struct proc_event *)m->data;
      if (e->what == PROC_EVENT_EXEC) {
        int pid = e->event_data.exec.process_tgid;
        char path[64], exe[PATH_MAX];
        snprintf (path, sizeof path, "/proc/%d/exe", pid);
        ssize_t n = readlink (path, exe, sizeof exe - 1);
        if (n < 0) {
          unnamed++;
          continue;
        }
        exe[n] = '\0';
        if (strcmp (exe, program) != 0 || nruns == MAX_RUNS)
          continue;
        struct run *r = &runs[nruns++];
        r->pid = pid;
        r->start_ns = e->timestamp_ns;
        subcommand (pid, r->sub, sizeof r->sub);
      } else if (e->what == PROC_EVENT_EXIT
                 && e->event_data.exit.process_pid
                        == e->event_data.exit.process_tgid) {
        int pid = e->event_data.exit.process_tgid;
        for (size_t i = 0; i < nruns; i++) {
          if (runs[i].pid != pid)
            continue;
          unsigned code = e->event_data.exit.exit_code;
          unsigned long long us = (e->timestamp_ns - runs[i].start_ns) / 1000;
          if (code & 0x7f)
            printf ("%d %s %llu signal=%u\n", pid, runs[i].sub, us,
                    code & 0x7f);
          else
            printf ("%d %s %llu exit=%u\n", pid, runs[i].sub, us,
                    (code >> 8) & 0xff);
          runs[i] = runs[--nruns];
          break;
        }
      }
    }
  }
  printf ("lost %lu\nunnamed %lu\n", lost, unnamed);
  return 0;
}
