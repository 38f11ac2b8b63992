#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The batch stub, placed right after the stub: it takes the calls from
   the stack, each as 15 words (number, six arguments, four pairs of an
   address and an addend: the result plus the addend is stored at the
   address), up to the word ~0, then returns home as the stub does.
       loop: pop %rax; cmp $-1,%rax; je tail
             pop %rdi; pop %rsi; pop %rdx; pop %r10; pop %r8; pop %r9
             syscall
             4 x (pop %rcx; pop %rdx; add %rax,%rdx; mov %rdx,(%rcx))
             jmp loop
       tail: the stub's pops, popf, ret $128  */
static const uint8_t batch_code[ULP_BATCH_STUB_LEN] = {
  0x58, 0x48, 0x83, 0xf8, 0xff, 0x74, 0x2d,       /* loop */
  0x5f, 0x5e, 0x5a, 0x41, 0x5a, 0x41, 0x58, 0x41, /* arguments */
  0x59, 0x0f, 0x05,                               /* syscall */
  0x59, 0x5a, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x11, /* results */
  0x59, 0x5a, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x11, /* */
  0x59, 0x5a, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x11, /* */
  0x59, 0x5a, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x11, /* */
  0xeb, 0xcc,                                     /* jmp loop */
  0x58, 0x59, 0x5a, 0x5e, 0x5f, 0x41, 0x58, 0x41, /* tail */
  0x59, 0x41, 0x5a, 0x41, 0x5b, 0x9d, 0xc2, 0x80, /* */
  0x00,
};
_Static_assert(ULP_BATCH_SYSCALL_AT == 16, "the batch stub's syscall");
#define RESULT_SLOTS 4
#define ENTRY_WORDS (7 + 2 * RESULT_SLOTS)
/* The calls of a batch and their results, between the saved registers and
   the scratch (one entry more: the closing signal).  */
#define BATCH_AREA (8 * ((ULP_MAX_BATCH + 1) * (ENTRY_WORDS + 1) + 1))

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
  if (ulp_inject_write_stack (in, r->rsp - SAVE_AREA, saved, sizeof saved) < 0)
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
/* Resumes the thread with REQUEST (PTRACE_SYSCALL or PTRACE_CONT, no
   signal let through) and waits for its next stop.  */
static int
resume_to_stop (struct ulp_injector *in, enum __ptrace_request request,
                int *status)
{
  if (ptrace (request, in->tid, 0, 0) != 0)
    return ulp_fail ("cannot resume thread %d: %s", (int)in->tid,
                     strerror (errno));
  if (request == PTRACE_CONT)
    ulp_failpoint ("inject-entry");
  if (next_stop (in, status) < 0)
    return -1;
  if (!WIFSTOPPED (*status)) {
    in->lost = 1;
    in->active = 0;
    return ulp_fail ("thread %d ended during a system call made for the "
                     "patch",
                     (int)in->tid);
  }
  return 0;
}

static int
to_syscall_stop (struct ulp_injector *in)
{
  for (;;) {
    int status;
    if (resume_to_stop (in, PTRACE_SYSCALL, &status) < 0)
      return -1;
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

/* Not through /proc/PID/mem, which also writes a stack's guard page (a
   private mapping made PROT_NONE): the thread would fault on what it pops
   from there.  */
int
ulp_inject_write_stack (struct ulp_injector *in, uint64_t at, const void *buf,
                        size_t len)
{
  struct iovec from = { (void *)buf, len };
  if (ulp_process_write_ranges (in->proc, &at, &from, 1) == 0)
    return 0;
  return ulp_fail ("thread %d has no room left on its stack for the "
                   "system calls (%s)",
                   (int)in->tid, ulp_error ());
}

uint64_t
ulp_inject_scratch (const struct ulp_injector *in, size_t len)
{
  return (in->own.rsp - SAVE_AREA - BATCH_AREA - len) & ~(uint64_t)15;
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

/* A signal that, sent by the thread to itself, stops it for the tool and,
   if the tool is gone, does nothing at all: the default action of
   ignoring it, no handler (SigCgt), not blocked by the thread (SigBlk);
   0 if none is.  */
static int
quiet_signal (pid_t tid)
{
  static const int candidates[] = { SIGURG, SIGWINCH, SIGCHLD };
  struct ulp_proc_status st;
  if (ulp_proc_status (tid, &st) < 0)
    return 0;
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    unsigned long long bit = 1ULL << (candidates[i] - 1);
    if (!(st.blocked & bit) && !(st.caught & bit))
      return candidates[i];
  }
  return 0;
}

int
ulp_inject_allow_batch (struct ulp_injector *in, const uint64_t *pcs,
                        size_t npcs)
{
  uint8_t there[ULP_BATCH_STUB_LEN];
  uint64_t at = in->stub + ULP_STUB_LEN;
  int sig = quiet_signal (in->tid);
  if (!sig || ulp_process_read (in->proc, at, there, sizeof there) < 0)
    return -1;
  if (memcmp (there, batch_code, sizeof there) != 0) {
    /* Other bytes there may be a stub of another version of the tool
       that a thread let go by it still runs.  */
    for (size_t i = 0; i < npcs; i++)
      if (pcs[i] >= at && pcs[i] < at + sizeof there)
        return -1;
    if (ulp_process_write (in->proc, at, batch_code, sizeof batch_code) < 0)
      return -1;
  }
  in->batch = at;
  in->batch_signal = sig;
  return 0;
}

/* The arguments of call K with the results it takes filled in.  */
static void
arguments (const struct ulp_call *calls, size_t k, uint64_t args[6])
{
  for (int j = 0; j < 6; j++)
    args[j] = calls[k].args[j];
  for (int j = 0; j < 6; j++)
    if (calls[k].take[j])
      args[j] += (uint64_t)calls[calls[k].take[j] - 1].result;
}

static int
one_by_one (struct ulp_injector *in, struct ulp_call *calls, size_t n)
{
  for (size_t k = 0; k < n; k++) {
    uint64_t args[6];
    arguments (calls, k, args);
    if (ulp_inject_syscall (in, calls[k].nr, args, &calls[k].result) < 0)
      return -1;
  }
  return 0;
}

/* The words of the batch at TABLE, the results at RESULTS: each call
   stores its result in its own word, and (plus their addend) in the
   argument words of the later calls that take it.  */
static int
lay_out (const struct ulp_injector *in, const struct ulp_call *calls, size_t n,
         uint64_t table, uint64_t results, uint64_t *words)
{
  memset (words, 0, 8 * ((n + 1) * ENTRY_WORDS + 1));
  for (size_t k = 0; k <= n; k++) {
    uint64_t *e = &words[k * ENTRY_WORDS];
    if (k < n) {
      e[0] = (uint64_t)calls[k].nr;
      memcpy (&e[1], calls[k].args, sizeof calls[k].args);
    } else {
      e[0] = SYS_tgkill;
      e[1] = (uint64_t)in->proc->pid;
      e[2] = (uint64_t)in->tid;
      e[3] = (uint64_t)in->batch_signal;
    }
    for (int s = 0; s < RESULT_SLOTS; s++)
      e[7 + 2 * s] = results + 8 * k; /* addend 0 */
  }
  for (size_t k = 0; k < n; k++)
    for (int j = 0; j < 6; j++) {
      if (!calls[k].take[j])
        continue;
      size_t from = (size_t)calls[k].take[j] - 1, s = 1;
      uint64_t *e = &words[from * ENTRY_WORDS];
      while (s < RESULT_SLOTS && e[7 + 2 * s] != results + 8 * from)
        s++;
      if (from >= k || s == RESULT_SLOTS)
        return ulp_fail ("a batch of system calls passes a result on to "
                         "more than %d arguments",
                         RESULT_SLOTS - 1);
      e[7 + 2 * s] = table + 8 * (k * ENTRY_WORDS + 1 + (size_t)j);
      e[8 + 2 * s] = calls[k].args[j];
    }
  words[(n + 1) * ENTRY_WORDS] = ~0ULL;
  return 0;
}

/* Lets the thread run the batch until it stops itself with the signal
   after the last call (its stack pointer then at STOP_SP); other signals
   that come meanwhile are held for later.  */
static int
run_batch (struct ulp_injector *in, uint64_t stop_sp)
{
  for (;;) {
    int status;
    struct user_regs_struct r;
    if (resume_to_stop (in, PTRACE_CONT, &status) < 0)
      return -1;
    if ((status >> 16) != 0)
      continue;
    if (WSTOPSIG (status) == in->batch_signal
        && ptrace (PTRACE_GETREGS, in->tid, 0, &r) == 0
        && (long)r.orig_rax == SYS_tgkill && r.rsp == stop_sp)
      return 0;
    hold_signal (in, WSTOPSIG (status));
  }
}

int
ulp_inject_batch (struct ulp_injector *in, struct ulp_call *calls, size_t n)
{
  uint64_t words[(ULP_MAX_BATCH + 1) * ENTRY_WORDS + 1];
  int64_t values[ULP_MAX_BATCH];
  if (!in->active)
    return ulp_fail ("no thread to make system calls");
  if (n > ULP_MAX_BATCH)
    return ulp_fail ("more than %d system calls in a batch", ULP_MAX_BATCH);
  if (!in->batch)
    return one_by_one (in, calls, n);
  size_t bytes = 8 * ((n + 1) * ENTRY_WORDS + 1);
  uint64_t table = in->own.rsp - SAVE_AREA - bytes;
  uint64_t results = table - 8 * (n + 1);
  struct user_regs_struct r = in->own;
  r.rsp = table;
  r.rip = in->batch;
  r.orig_rax = (unsigned long long)-1;
  r.eflags &= ~0x100ULL; /* no single-stepping */
  if (lay_out (in, calls, n, table, results, words) < 0
      || ulp_inject_write_stack (in, table, words, bytes) < 0)
    return -1;
  if (ptrace (PTRACE_SETREGS, in->tid, 0, &r) != 0)
    return ulp_fail ("cannot set the registers of thread %d: %s", (int)in->tid,
                     strerror (errno));
  /* From here, a thread let go by a dead tool makes the calls, sends
     itself a signal that does nothing, and runs the stub home.  */
  ulp_failpoint ("inject-set");
  if (run_batch (in, table + 8 * (n * ENTRY_WORDS + 7)) < 0)
    return -1;
  ulp_failpoint ("inject-exit");
  if (n && ulp_process_read (in->proc, results, values, 8 * n) < 0)
    return -1;
  for (size_t k = 0; k < n; k++)
    calls[k].result = values[k];
  return 0;
}
