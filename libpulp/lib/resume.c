#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "inject.h"
#include "process.h"
#include "resume.h"
#include "seccomp.h"
#include "ulp/state.h"

_Static_assert(ULP_PAGE + ULP_COPY_SIZE + sizeof (struct ulp_runtime)
                       + ULP_RESUME_AREA
                   <= ULP_STATE_SIZE,
               "the resume slots overlap the second copy of the state");

/* The code segment of 64-bit user code: system call numbers are x86-64's. */
#define USER64_CS 0x33
/* The kernel's own code for "restart the call unless a handler runs"
   (include/linux/errno.h, not exported to user space).  */
#define ERESTARTNOHAND 514
/* Taken off every estimate: the tool may note a stop a few microseconds
   before the thread's scheduler clock does.  */
#define SLACK_NS 1000000LL
#define NS 1000000000LL

enum timeout_kind
{
  NO_TIMEOUT,   /* restarted unchanged */
  MILLISECONDS, /* an int argument, negative for none */
  TIMESPEC,     /* a pointer to a relative timespec, NULL for none */
  SOCKET,       /* the socket's own SO_RCVTIMEO/SO_SNDTIMEO */
  SOCKET_FD     /* the same when its first argument is a socket */
};

/* Which of a socket's timeouts a socket call waits with.  */
enum direction
{
  IN,  /* SO_RCVTIMEO, until the socket is readable */
  OUT, /* SO_SNDTIMEO, until it is writable */
};

struct call
{
  long nr;
  enum timeout_kind kind;
  int arg;           /* which argument is the timeout */
  enum direction to; /* socket calls */
};

static const struct call calls[] = {
  { SYS_epoll_wait, MILLISECONDS, 3, IN },
  { SYS_epoll_pwait, MILLISECONDS, 3, IN },
  { SYS_epoll_pwait2, TIMESPEC, 3, IN },
  { SYS_semtimedop, TIMESPEC, 3, IN },
  { SYS_io_getevents, TIMESPEC, 4, IN },
  { SYS_rt_sigtimedwait, TIMESPEC, 2, IN },
  { SYS_semop, NO_TIMEOUT, 0, IN },
  { SYS_accept, SOCKET, 0, IN },
  { SYS_accept4, SOCKET, 0, IN },
  { SYS_connect, SOCKET, 0, OUT },
  { SYS_recvfrom, SOCKET, 0, IN },
  { SYS_recvmsg, SOCKET, 0, IN },
  { SYS_recvmmsg, SOCKET, 0, IN },
  { SYS_sendto, SOCKET, 0, OUT },
  { SYS_sendmsg, SOCKET, 0, OUT },
  { SYS_sendmmsg, SOCKET, 0, OUT },
  { SYS_read, SOCKET_FD, 0, IN },
  { SYS_write, SOCKET_FD, 0, OUT },
  { SYS_readv, SOCKET_FD, 0, IN },
  { SYS_writev, SOCKET_FD, 0, OUT },
  { SYS_preadv2, SOCKET_FD, 0, IN },
  { SYS_pwritev2, SOCKET_FD, 0, OUT },
};

/* The socket stub, placed in the code cave after the injector's stubs
   (inject.h).  The thread is let go with the registers of a poll, for
   what the call waits for and the time that was left, to be made by the
   kernel's own restart at the stub's first instruction: a signal with a
   handler that is pending then, or comes while the thread is held, makes
   the call fail with EINTR at once, as it would have without the stop.
   After the poll, the stub either makes the call again (the socket is
   ready, or in error: the call says which) or returns the call's own
   timeout result, or the poll's error (EINTR: a handler ran), and goes
   home as the injector's stub does.  It touches nothing but its frame
   below the red zone and the registers a system call clobbers.
         syscall                                   (the poll)
  entry: mov 24(%rsp),%rdi; mov 32(%rsp),%rsi; mov 40(%rsp),%rdx
         test %rax,%rax; js home; jnz again
         mov 16(%rsp),%rax; jmp home
  again: mov 8(%rsp),%rax; syscall
  home:  add $48,%rsp; popf; ret $128  */
static const uint8_t socket_stub[ULP_RESUME_STUB_LEN] = {
  0x0f, 0x05,                                     /* syscall: the poll */
  0x48, 0x8b, 0x7c, 0x24, 0x18, 0x48, 0x8b, 0x74, /* the call's arguments */
  0x24, 0x20, 0x48, 0x8b, 0x54, 0x24, 0x28,       /* back */
  0x48, 0x85, 0xc0, 0x78, 0x10, 0x75, 0x07,       /* test, js home, jnz */
  0x48, 0x8b, 0x44, 0x24, 0x10, 0xeb, 0x07,       /* timed out */
  0x48, 0x8b, 0x44, 0x24, 0x08, 0x0f, 0x05,       /* again */
  0x48, 0x83, 0xc4, 0x30, 0x9d, 0xc2, 0x80, 0x00, /* home */
};
#define POLL_SYSCALL_AT 0x00
#define AGAIN_SYSCALL_AT 0x24

/* What the socket stub finds at its stack pointer; the red zone is above.  */
struct socket_frame
{
  struct pollfd poll;
  uint64_t nr;
  int64_t timed_out; /* the call's result when the poll times out */
  uint64_t rdi, rsi, rdx;
  uint64_t rflags, pc;
};
_Static_assert(sizeof (struct socket_frame) == 64, "the socket stub's frame");
#define RED_ZONE 128

/* A slot of the area at the end of the state mapping.  */
struct slot
{
  int64_t tid; /* the thread it belongs to, 0 when free */
  int64_t tv_sec, tv_nsec;
};

#define NSLOTS (ULP_RESUME_AREA / sizeof (struct slot))

struct sched_counts
{
  int64_t exec_start;
  int64_t voluntary;
  int64_t migrations;
};

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static const struct call *
find_call (long nr)
{
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
    if (calls[i].nr == nr)
      return &calls[i];
  return NULL;
}

static int
is_socket (pid_t tid, int fd)
{
  char link[64], target[64];
  snprintf (link, sizeof link, "/proc/%d/fd/%d", (int)tid, fd);
  ssize_t n = readlink (link, target, sizeof target - 1);
  return n > 0 && strncmp (target, "socket:", 7) == 0;
}

/* Whether the call R of thread TID waits with a timeout, of its own or
   its socket's, to be shortened.  */
static int
has_timeout (pid_t tid, const struct ulp_resume *r)
{
  const struct call *c = find_call (r->nr);
  if (!c)
    return 0;
  switch (c->kind) {
  case MILLISECONDS:
  case TIMESPEC:
  case SOCKET:
    return 1;
  case SOCKET_FD:
    return is_socket (tid, (int)r->args[0]);
  case NO_TIMEOUT:
    break;
  }
  return 0;
}

/* What thread TID sleeps in: -1 when it runs or sleeps outside a call.  */
static int
read_syscall (pid_t tid, struct ulp_resume *r)
{
  char buf[256];
  unsigned long long v[9];
  long nr;
  if (ulp_proc_read (tid, "syscall", buf, sizeof buf) < 0
      || sscanf (buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &v[0],
                 &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
             != 9)
    return -1;
  r->nr = nr;
  for (int i = 0; i < 6; i++)
    r->args[i] = v[i];
  r->sp = v[6];
  r->pc = v[7];
  return 0;
}

/* The value after the colon of the line of /proc/TID/sched TEXT that
   starts with NAME.  The lines below the dashes only: the first one names
   the thread, and a thread names itself.  */
static const char *
field (const char *text, const char *name)
{
  size_t len = strlen (name);
  for (const char *line = strstr (text, "\n-----"); line;
       line = strchr (line, '\n')) {
    line += *line == '\n';
    if (strncmp (line, name, len) == 0
        && (line[len] == ' ' || line[len] == ':'))
      return strchr (line, ':') ? strchr (line, ':') + 1 : NULL;
  }
  return NULL;
}

/* "12606423.505586" (milliseconds, 6 decimals) in nanoseconds.  */
static int
parse_ms (const char *s, int64_t *ns)
{
  char *end;
  long long ms = strtoll (s, &end, 10);
  int64_t frac = 0;
  int digits = 0;
  if (end == s || *end != '.')
    return -1;
  for (s = end + 1; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
    frac = frac * 10 + (*s - '0');
  for (; digits < 6; digits++)
    frac *= 10;
  *ns = (int64_t)ms * 1000000 + frac;
  return 0;
}

static int
read_sched (pid_t tid, struct sched_counts *c)
{
  char buf[4096];
  const char *start, *vol, *mig;
  if (ulp_proc_read (tid, "sched", buf, sizeof buf) < 0
      || !(start = field (buf, "se.exec_start"))
      || !(vol = field (buf, "nr_voluntary_switches"))
      || !(mig = field (buf, "se.nr_migrations"))
      || parse_ms (start, &c->exec_start) < 0)
    return -1;
  c->voluntary = strtoll (vol, NULL, 10);
  c->migrations = strtoll (mig, NULL, 10);
  return c->exec_start > 0 ? 0 : -1;
}

/* The state letter of TID and the CPU it last ran on.  */
static int
read_stat (pid_t tid, char *state, int *cpu)
{
  char buf[1024];
  if (ulp_proc_read (tid, "stat", buf, sizeof buf) < 0)
    return -1;
  const char *p = strrchr (buf, ')');
  if (!p || p[1] != ' ')
    return -1;
  *state = p[2];
  /* Field N (3, the state, onwards) follows the (N - 2)th space after the
     command's ")"; "processor" is field 39.  */
  for (int spaces = 0; spaces < 39 - 2 && p; spaces++)
    p = strchr (p + 1, ' ');
  return p && sscanf (p, "%d", cpu) == 1 ? 0 : -1;
}

void
ulp_resume_sample (struct ulp_resume *r, pid_t tid)
{
  struct sched_counts c;
  char state;
  memset (r, 0, sizeof *r);
  /* In this order: a thread that wakes between the reads has left the CPU
     again (one more voluntary switch) by the time /proc/TID/stat says it
     sleeps, and ulp_resume_stopped sees that.  */
  if (read_syscall (tid, r) < 0 || !has_timeout (tid, r)
      || read_sched (tid, &c) < 0 || read_stat (tid, &state, &r->cpu) < 0
      || state != 'S') {
    memset (r, 0, sizeof *r);
    return;
  }
  r->slept_at = c.exec_start;
  r->voluntary = c.voluntary;
  r->migrations = c.migrations;
  r->stage = ULP_RESUME_SAMPLED;
}

/* The tool may see a stop a few microseconds before the thread has left
   the CPU for it (the tracer is told first): its counts are read up to
   this many times meanwhile.  */
#define STOP_READS 5

/* TID's counts once it has left the CPU since R was sampled, or as they
   are after STOP_READS reads.  */
static int
read_sched_after_stop (const struct ulp_resume *r, pid_t tid,
                       struct sched_counts *c)
{
  for (int i = 0; i < STOP_READS; i++)
    if (read_sched (tid, c) < 0)
      return -1;
    else if (c->voluntary != r->voluntary)
      break;
  return 0;
}

void
ulp_resume_stopped (struct ulp_resume *r, pid_t tid)
{
  struct sched_counts c;
  if (r->stage != ULP_RESUME_SAMPLED || read_sched_after_stop (r, tid, &c) < 0
      || c.voluntary != r->voluntary + 1) {
    r->stage = ULP_RESUME_NONE;
    return;
  }
  if (c.migrations != r->migrations) {
    r->stage = ULP_RESUME_MIGRATED;
    return;
  }
  r->asleep_ns = c.exec_start - r->slept_at;
  r->stage = r->asleep_ns >= 0 ? ULP_RESUME_MEASURED : ULP_RESUME_NONE;
}

/* The registers of a system call's arguments, in order.  */
static const size_t arg_registers[6] = {
  offsetof (struct user_regs_struct, rdi),
  offsetof (struct user_regs_struct, rsi),
  offsetof (struct user_regs_struct, rdx),
  offsetof (struct user_regs_struct, r10),
  offsetof (struct user_regs_struct, r8),
  offsetof (struct user_regs_struct, r9),
};

static uint64_t
arg_value (const struct user_regs_struct *regs, int arg)
{
  unsigned long long value;
  memcpy (&value, (const char *)regs + arg_registers[arg], sizeof value);
  return value;
}

static void
set_arg (struct user_regs_struct *regs, int arg, uint64_t value)
{
  unsigned long long v = value;
  memcpy ((char *)regs + arg_registers[arg], &v, sizeof v);
}

/* Whether the sample was taken in the call REGS are stopped in.  */
static int
same_call (const struct ulp_resume *r, const struct user_regs_struct *regs)
{
  for (int i = 0; i < 6; i++)
    if (r->args[i] != arg_value (regs, i))
      return 0;
  return r->nr == (long)regs->orig_rax && r->sp == regs->rsp
         && r->pc == regs->rip;
}

/* CLOCK_MONOTONIC minus the scheduler clock of CPU, or a little more,
   never less: read by running there for a moment.  -1 when the tool may
   not run there.  */
static int
clock_offset_on (int cpu, int64_t *offset)
{
  cpu_set_t old, one;
  struct sched_counts self;
  if (cpu < 0 || cpu >= CPU_SETSIZE
      || sched_getaffinity (0, sizeof old, &old) != 0)
    return -1;
  CPU_ZERO (&one);
  CPU_SET (cpu, &one);
  if (sched_setaffinity (0, sizeof one, &one) != 0)
    return -1;
  /* Running on CPU now, since our exec_start on its clock, or later.  */
  int ok = sched_getcpu () == cpu && read_sched (gettid (), &self) == 0;
  int64_t now = now_ns ();
  sched_setaffinity (0, sizeof old, &old);
  if (!ok)
    return -1;
  *offset = now - self.exec_start;
  return 0;
}

/* How long the call has run by NOW, at least.  */
static int64_t
time_in_call (const struct ulp_resume *r, const struct user_regs_struct *regs,
              int64_t stopped_at)
{
  int64_t offset = 0;
  int calibrated = r->stage == ULP_RESUME_MIGRATED && same_call (r, regs)
                   && clock_offset_on (r->cpu, &offset) == 0;
  int64_t now = now_ns ();
  int64_t in_call = now - stopped_at;
  if (r->stage == ULP_RESUME_MEASURED && same_call (r, regs))
    in_call += r->asleep_ns;
  else if (calibrated && now - (r->slept_at + offset) > in_call)
    in_call = now - (r->slept_at + offset);
  in_call -= in_call / 1000 + SLACK_NS;
  return in_call > 0 ? in_call : 0;
}

static void
shorten_milliseconds (const struct ulp_resume *r, const struct call *c,
                      struct user_regs_struct *regs, int64_t stopped_at)
{
  int ms = (int)arg_value (regs, c->arg);
  if (ms <= 0)
    return; /* none (negative), or one that cannot be interrupted (0) */
  int64_t left = (int64_t)ms * 1000000 - time_in_call (r, regs, stopped_at);
  set_arg (regs, c->arg, left > 0 ? (uint64_t)(left + 999999) / 1000000 : 0);
}

/* The state mapping of TID's process, checked against a look-alike; 0
   when there is none.  */
static uint64_t
state_mapping (pid_t tid, int mem)
{
  struct ulp_maps maps;
  struct ulp_commit head;
  if (ulp_maps_read (tid, &maps) < 0) {
    ulp_clear_error ();
    return 0;
  }
  uint64_t start = ulp_maps_state (&maps);
  ulp_maps_free (&maps);
  if (start
      && pread (mem, &head, offsetof (struct ulp_commit, slots), (off_t)start)
             == (ssize_t)offsetof (struct ulp_commit, slots)
      && memcmp (head.magic, ULP_COMMIT_MAGIC, 8) == 0 && head.self == start)
    return start;
  return 0;
}

static int
thread_alive (pid_t tid, int64_t other)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/task/%lld", (int)tid,
            (long long)other);
  return access (path, F_OK) == 0;
}

/* The slot of TID among SLOTS: its own, a free one, or one of a thread
   that is gone; -1 when all belong to live threads.  */
static int
choose_slot (pid_t tid, const struct slot *slots)
{
  for (size_t i = 0; i < NSLOTS; i++) {
    const struct slot *s = &slots[(tid + i) % NSLOTS];
    if (s->tid == tid)
      return (int)((tid + i) % NSLOTS);
  }
  for (size_t i = 0; i < NSLOTS; i++) {
    const struct slot *s = &slots[(tid + i) % NSLOTS];
    if (s->tid == 0 || !thread_alive (tid, s->tid))
      return (int)((tid + i) % NSLOTS);
  }
  return -1;
}

/* Writes LEFT_NS as a timespec into TID's slot; its address, or 0.  */
static uint64_t
place_timespec (pid_t tid, int mem, int64_t left_ns)
{
  struct slot slots[NSLOTS];
  uint64_t state = state_mapping (tid, mem);
  if (!state)
    return 0;
  uint64_t area = state + ULP_STATE_SIZE - ULP_RESUME_AREA;
  if (pread (mem, slots, sizeof slots, (off_t)area) != (ssize_t)sizeof slots)
    return 0;
  int i = choose_slot (tid, slots);
  if (i < 0)
    return 0;
  struct slot mine = { tid, left_ns / NS, left_ns % NS };
  uint64_t at = area + (uint64_t)i * sizeof mine;
  if (pwrite (mem, &mine, sizeof mine, (off_t)at) != (ssize_t)sizeof mine)
    return 0;
  return at + offsetof (struct slot, tv_sec);
}

static void
shorten_timespec (const struct ulp_resume *r, const struct call *c, pid_t tid,
                  struct user_regs_struct *regs, int64_t stopped_at)
{
  char file[64];
  struct timespec ts;
  uint64_t ptr = arg_value (regs, c->arg);
  if (!ptr)
    return; /* none */
  snprintf (file, sizeof file, "/proc/%d/mem", (int)tid);
  int mem = open (file, O_RDWR | O_CLOEXEC);
  if (mem < 0)
    return;
  /* A timespec the kernel accepted; a longer one than 2^32 s is forever.  */
  if (pread (mem, &ts, sizeof ts, (off_t)ptr) == (ssize_t)sizeof ts
      && ts.tv_sec >= 0 && ts.tv_sec < (1LL << 32) && ts.tv_nsec >= 0
      && ts.tv_nsec < NS) {
    int64_t left = (int64_t)ts.tv_sec * NS + ts.tv_nsec
                   - time_in_call (r, regs, stopped_at);
    uint64_t at = place_timespec (tid, mem, left > 0 ? left : 0);
    if (at)
      set_arg (regs, c->arg, at);
  }
  close (mem);
}

/* The call is made again by the kernel itself when the thread goes on,
   unless a signal with a handler is delivered first: then it fails with
   EINTR, as without a stop.  The kernel decides once it is let go, so a
   signal that comes at any instant before is not missed.  */
static int
restart (struct user_regs_struct *regs)
{
  regs->rax = (unsigned long long)-ERESTARTNOHAND;
  return 1;
}

/* The timeout of socket FD of process PID for calls that wait in
   direction TO, in ns: 0 for none, -1 when it cannot be read.  The tool
   takes a copy of the descriptor (pidfd_getfd) to ask the socket itself;
   the process's own descriptor is not touched.  */
static int64_t
socket_timeout (pid_t pid, int fd, enum direction to)
{
  struct timeval tv;
  socklen_t len = sizeof tv;
  int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return -1;
  int sock = (int)syscall (SYS_pidfd_getfd, pidfd, fd, 0);
  close (pidfd);
  if (sock < 0)
    return -1;
  int rc = getsockopt (sock, SOL_SOCKET, to == IN ? SO_RCVTIMEO : SO_SNDTIMEO,
                       &tv, &len);
  close (sock);
  if (rc != 0 || len != sizeof tv || tv.tv_sec < 0 || tv.tv_usec < 0)
    return -1;
  return (int64_t)tv.tv_sec * NS + (int64_t)tv.tv_usec * 1000;
}

/* What a socket call returns when its socket's timeout expires.  */
static int
timed_out_errno (const struct call *c)
{
  return c->nr == SYS_connect ? EINPROGRESS : EAGAIN;
}

/* Whether the thread's seccomp filters let the socket stub at STUB make
   its poll and then the call of REGS.  */
static int
stub_allowed (pid_t tid, uint64_t stub, const struct user_regs_struct *regs,
              uint64_t frame, int64_t ms)
{
  char why[200];
  struct ulp_syscall_probe poll_call = { SYS_poll, { frame, 1, (uint64_t)ms } };
  struct ulp_syscall_probe again = { (int)regs->orig_rax, { 0 } };
  for (int i = 0; i < 6; i++)
    again.args[i] = arg_value (regs, i);
  int ok = ulp_seccomp_check (tid, &poll_call, 1, stub + POLL_SYSCALL_AT, why,
                              sizeof why)
               == 1
           && ulp_seccomp_check (tid, &again, 1, stub + AGAIN_SYSCALL_AT, why,
                                 sizeof why)
                  == 1;
  ulp_clear_error ();
  return ok;
}

/* Writes F at AT of TID's stack, where the thread itself could write.  */
static int
write_frame (pid_t tid, uint64_t at, const struct socket_frame *f)
{
  struct iovec local = { (void *)f, sizeof *f };
  struct iovec remote = { (void *)at, sizeof *f };
  return process_vm_writev (tid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof *f
             ? 0
             : -1;
}

/* A socket call waits with its socket's timeout, which belongs to the
   socket, not to the call: the thread goes through the socket stub, which
   waits only for what was left.  Where that cannot be done, the call is
   made again with the socket's full timeout.  */
static int
resume_socket_call (const struct ulp_resume *r, const struct call *c, pid_t tid,
                    struct user_regs_struct *regs, int64_t stopped_at)
{
  int fd = (int)regs->rdi;
  int64_t timeout = r->pid ? socket_timeout (r->pid, fd, c->to) : -1;
  if (timeout <= 0)
    return restart (regs);
  int64_t left = timeout - time_in_call (r, regs, stopped_at);
  if (left <= 0) {
    regs->rax = (unsigned long long)-timed_out_errno (c);
    return 1;
  }
  int64_t ms = (left + 999999) / 1000000;
  ms = ms < INT32_MAX ? ms : INT32_MAX;
  uint64_t at = regs->rsp - RED_ZONE - sizeof (struct socket_frame);
  struct socket_frame f = {
    .poll = { fd, c->to == IN ? POLLIN : POLLOUT, 0 },
    .nr = regs->orig_rax,
    .timed_out = -timed_out_errno (c),
    .rdi = regs->rdi,
    .rsi = regs->rsi,
    .rdx = regs->rdx,
    .rflags = regs->eflags,
    .pc = regs->rip,
  };
  if (!r->stub || !stub_allowed (tid, r->stub, regs, at, ms)
      || write_frame (tid, at, &f) < 0)
    return restart (regs);
  regs->rsp = at;
  regs->rip = r->stub + POLL_SYSCALL_AT + 2;
  regs->orig_rax = SYS_poll;
  regs->rdi = at;
  regs->rsi = 1;
  regs->rdx = (uint64_t)ms;
  return restart (regs);
}

static int
resume_call (const struct ulp_resume *r, const struct call *c, pid_t tid,
             struct user_regs_struct *regs, int64_t stopped_at)
{
  switch (c->kind) {
  case MILLISECONDS:
    shorten_milliseconds (r, c, regs, stopped_at);
    break;
  case TIMESPEC:
    shorten_timespec (r, c, tid, regs, stopped_at);
    break;
  case SOCKET_FD:
    if (!is_socket (tid, (int)regs->rdi))
      return 0;
    return resume_socket_call (r, c, tid, regs, stopped_at);
  case SOCKET:
    return resume_socket_call (r, c, tid, regs, stopped_at);
  case NO_TIMEOUT:
    break;
  }
  return restart (regs);
}

int
ulp_resume_needs_stub (const struct user_regs_struct *regs)
{
  const struct call *c = find_call ((long)regs->orig_rax);
  return c && (c->kind == SOCKET || c->kind == SOCKET_FD)
         && (long long)regs->rax == -EINTR;
}

uint64_t
ulp_resume_place_stub (struct ulp_process *p, const uint64_t *pcs, size_t npcs)
{
  uint8_t there[ULP_RESUME_STUB_LEN];
  size_t before = ULP_STUB_LEN + ULP_BATCH_STUB_LEN;
  uint64_t cave = ulp_process_code_cave (p, before + sizeof there);
  uint64_t at = cave + before;
  if (!cave || ulp_process_read (p, at, there, sizeof there) < 0) {
    ulp_clear_error ();
    return 0;
  }
  if (memcmp (there, socket_stub, sizeof there) == 0)
    return at;
  /* Other bytes there may be code of another version of the tool that a
     thread still runs.  */
  for (size_t i = 0; i < npcs; i++)
    if (pcs[i] >= at && pcs[i] < at + sizeof there)
      return 0;
  if (ulp_process_write (p, at, socket_stub, sizeof socket_stub) < 0) {
    ulp_clear_error ();
    return 0;
  }
  return at;
}

void
ulp_resume_at_stop (struct ulp_resume *r, pid_t pid, uint64_t stub)
{
  r->pid = pid;
  r->stub = stub;
}

int
ulp_resume_interrupted (struct ulp_resume *r, pid_t tid,
                        struct user_regs_struct *regs, int64_t stopped_at)
{
  const struct call *c = find_call ((long)regs->orig_rax);
  int changed = 0;
  if (c && (long long)regs->rax == -EINTR && regs->cs == USER64_CS)
    changed = resume_call (r, c, tid, regs, stopped_at);
  memset (r, 0, sizeof *r);
  return changed;
}
