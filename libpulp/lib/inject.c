#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "failpoint.h"
#include "inject.h"

static const uint8_t stub_code[ULP_STUB_LEN] = {
  0x0f, 0x05,             /* syscall */
  0x58, 0x59, 0x5a, 0x5e, /* pop %rax, %rcx, %rdx, %rsi */
  0x5f,                   /* pop %rdi */
  0x41, 0x58, 0x41, 0x59, /* pop %r8, %r9 */
  0x41, 0x5a, 0x41, 0x5b, /* pop %r10, %r11 */
  0x9d,                   /* popf */
  0xc2, 0x80, 0x00,       /* ret $128: over the red zone */
};

#define RED_ZONE 128
/* What the stub pops, in order, then the program counter for its ret.  */
#define SAVED_WORDS 11
#define SAVE_AREA (RED_ZONE + 8 * SAVED_WORDS)
#define SYSCALL_STOP (SIGTRAP | 0x80)
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A thread stopped on its way out of an interrupted system call resumes
   it when let go; registers put back later must say so themselves, since
   the kernel decides that only on the way out of the stop it began in.  */
static void
resolve_restart (struct user_regs_struct *r)
{
  long ret = (long)r->rax;
  if ((long)r->orig_rax < 0)
    return;
  if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND)
    r->rax = r->orig_rax;
  else if (ret == -ERESTART_RESTARTBLOCK)
    r->rax = SYS_restart_syscall;
  else
    return;
  r->rip -= 2;
  r->orig_rax = (unsigned long long)-1;
}

static int
place_stub (struct ulp_process *p, uint64_t stub)
{
  uint8_t there[ULP_STUB_LEN];
  if (ulp_process_read (p, stub, there, sizeof there) < 0)
    return -1;
  if (memcmp (there, stub_code, sizeof there) == 0)
    return 0;
  return ulp_process_write (p, stub, stub_code, sizeof stub_code);
}

int
ulp_inject_begin (struct ulp_injector *in, struct ulp_process *p, pid_t tid,
                  uint64_t stub, int64_t deadline)
{
  memset (in, 0, sizeof *in);
  in->proc = p;
  in->tid = tid;
  in->stub = stub;
  in->deadline = deadline;
  if (place_stub (p, stub) < 0)
    return -1;
  if (ptrace (PTRACE_GETREGS, tid, 0, &in->own) != 0)
    return ulp_fail ("cannot read the registers of thread %d: %s", (int)tid,
                     strerror (errno));
  resolve_restart (&in->own);
  const struct user_regs_struct *r = &in->own;
  uint64_t saved[SAVED_WORDS]
      = { r->rax, r->rcx, r->rdx, r->rsi,    r->rdi, r->r8,
          r->r9,  r->r10, r->r11, r->eflags, r->rip };
  if (ulp_process_write (p, r->rsp - SAVE_AREA, saved, sizeof saved) < 0)
    return -1;
  in->active = 1;
  return 0;
}

static void
hold_signal (struct ulp_injector *in, int sig)
{
  if (in->nheld < ULP_MAX_HELD_SIGNALS)
    in->held[in->nheld++] = sig;
}

/* Waits for TID's next stop until the deadline.  The caller blocks
   SIGCHLD (the transition's loop does), so a stop wakes the wait at once;
   a spin would keep the target from the CPU under a real-time policy.  */
static int
next_stop (struct ulp_injector *in, int *status)
{
  sigset_t chld;
  sigemptyset (&chld);
  sigaddset (&chld, SIGCHLD);
  for (;;) {
    pid_t got = waitpid (in->tid, status, WNOHANG | __WALL);
    if (got == in->tid)
      return 0;
    if (got < 0)
      return ulp_fail ("lost thread %d: %s", (int)in->tid, strerror (errno));
    int64_t left = in->deadline - now_ns ();
    if (left <= 0)
      return ulp_fail ("timed out in a system call made for the patch");
    if (left > 10000000)
      left = 10000000; /* SIGCHLD is not queued per child: look again */
    struct timespec ts = { 0, (long)left };
    sigtimedwait (&chld, NULL, &ts);
  }
}

/* Resumes the thread until its next system-call stop; other stops (a
   signal arriving meanwhile) are held for later.  */
static int
to_syscall_stop (struct ulp_injector *in)
{
  for (;;) {
    int status;
    if (ptrace (PTRACE_SYSCALL, in->tid, 0, 0) != 0)
      return ulp_fail ("cannot resume thread %d: %s", (int)in->tid,
                       strerror (errno));
    if (next_stop (in, &status) < 0)
      return -1;
    if (!WIFSTOPPED (status)) {
      in->lost = 1;
      in->active = 0;
      return ulp_fail ("thread %d ended during a system call made for the "
                       "patch",
                       (int)in->tid);
    }
    if (WSTOPSIG (status) == SYSCALL_STOP)
      return 0;
    if ((status >> 16) == 0)
      hold_signal (in, WSTOPSIG (status));
  }
}

int
ulp_inject_syscall (struct ulp_injector *in, long nr, const uint64_t args[6],
                    int64_t *result)
{
  struct user_regs_struct r = in->own;
  if (!in->active)
    return ulp_fail ("no thread to make system calls");
  r.rsp = in->own.rsp - SAVE_AREA;
  r.rip = in->stub;
  r.orig_rax = (unsigned long long)-1;
  r.rax = (unsigned long long)nr;
  r.rdi = args[0];
  r.rsi = args[1];
  r.rdx = args[2];
  r.r10 = args[3];
  r.r8 = args[4];
  r.r9 = args[5];
  r.eflags &= ~0x100ULL; /* no single-stepping */
  if (ptrace (PTRACE_SETREGS, in->tid, 0, &r) != 0)
    return ulp_fail ("cannot set the registers of thread %d: %s", (int)in->tid,
                     strerror (errno));
  /* From here, a thread let go by a dead tool runs the stub home.  */
  ulp_failpoint ("inject-set");
  if (to_syscall_stop (in) < 0)
    return -1;
  ulp_failpoint ("inject-entry");
  if (to_syscall_stop (in) < 0)
    return -1;
  ulp_failpoint ("inject-exit");
  if (ptrace (PTRACE_GETREGS, in->tid, 0, &r) != 0)
    return ulp_fail ("cannot read the registers of thread %d: %s", (int)in->tid,
                     strerror (errno));
  if (r.rip != in->stub + 2)
    return ulp_fail ("thread %d stopped outside the system call made for "
                     "the patch",
                     (int)in->tid);
  *result = (int64_t)r.rax;
  return 0;
}

int
ulp_inject_call (struct ulp_injector *in, const char *what, long nr,
                 const uint64_t args[6], int64_t *result)
{
  if (ulp_inject_syscall (in, nr, args, result) < 0)
    return -1;
  if (*result < 0 && *result > -4096)
    return ulp_fail ("%s in the process failed: %s", what,
                     strerror ((int)-*result));
  return 0;
}

uint64_t
ulp_inject_scratch (const struct ulp_injector *in, size_t len)
{
  return (in->own.rsp - SAVE_AREA - len) & ~(uint64_t)15;
}

int
ulp_inject_end (struct ulp_injector *in)
{
  if (!in->active)
    return 0;
  if (ptrace (PTRACE_SETREGS, in->tid, 0, &in->own) != 0)
    return ulp_fail ("cannot restore the registers of thread %d: %s",
                     (int)in->tid, strerror (errno));
  in->active = 0;
  /* Signals that came meanwhile are pending again when it runs.  */
  for (size_t i = 0; i < in->nheld; i++)
    syscall (SYS_tgkill, in->proc->pid, in->tid, in->held[i]);
  in->nheld = 0;
  return 0;
}
