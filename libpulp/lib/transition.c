#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "boost.h"
#include "error.h"
#include "failpoint.h"
#include "resume.h"
#include "seccomp.h"
#include "text.h"
#include "transition.h"

/* If the tool dies (SIGKILL) at any point, the kernel detaches every
   thread it traces: each runs on from where it was, and a pending
   interrupt is dropped.  What else holds:
     SEIZE, BACKOFF, STOP, RELEASE  nothing was written; a call that the
       kernel does not restart after a stop (epoll_wait, ...) returns EINTR,
       as nobody is left to undo it (undo_stop_eintr).
     the STOPPED callback (run_stopped)  a thread making a system call for
       the tool returns to its own context by itself (inject.h); every
       write the callback makes is whole or not at all, and it takes care
       that the process runs either its old or its new code whatever write
       is the last (trigger.c, commit.c); threads it moved stay moved
       (moving a thread past NOPs changes nothing).
   The loop's thread ending (at the end of a run) has the same effect on
   whatever it still traces; by then that is only threads that never
   stopped.  */
enum phase
{
  SEIZE,
  STOP,
  BACKOFF,
  RELEASE,
  FINISHED
};

struct ulp_thread
{
  pid_t tid;
  int gone; /* exited, or released: no longer ours */
  int stopped;
  int want_stop;
  int interrupted;
  int pending_sig;
  int stop_event; /* PTRACE_EVENT_* of its stop, 0 for a signal */
  int boost;      /* its raised priority (boost.h), or 0 */
  int64_t stopped_at;
  struct ulp_resume resume; /* what its system call needs when let go */
  /* Its registers as read in this stop, while nothing changed them.  */
  struct user_regs_struct regs;
  int regs_known;
};

#define BACKOFF_NS 2000000LL
/* A thread that has not stopped this long after the others is looked at:
   if it sleeps where a stop cannot reach it, the others are released.  */
#define STRAGGLER_NS 10000000LL
#define STRAGGLER_POLL_NS 5000000LL
/* Threads not stopped this long after the interrupt are raised (boost.h):
   those that were asleep have stopped by then, those waiting for a CPU
   behind busy threads may wait for a whole scheduling period.  */
#define BOOST_AFTER_NS 1000000LL
/* ... and put back this long after if they still have not: a thread in a
   long system call would keep a CPU from the host.  */
#define BOOST_FOR_NS 2000000LL
/* How long a failing job waits for interrupted threads to stop, so that
   it can let them go as if nothing happened.  Nothing is held meanwhile. */
#define RELEASE_GRACE_NS 500000000LL

/* The stop signals a run takes over (transition.h), and the one that
   interrupted a run of this process.  Runs never overlap: each waits for
   every child of the process.  */
static sigset_t taken_signals;
static int interrupted_by;
/* A stop signal was pending when the loop last looked (once for each
   batch of events).  */
static int signal_waits;

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void release (struct ulp_job *job);

/* Records the first reason and lets every thread go.  */
__attribute__ ((format (printf, 2, 3))) static void
job_fail (struct ulp_job *job, const char *fmt, ...)
{
  va_list ap;
  if (!job->failed) {
    va_start (ap, fmt);
    vsnprintf (job->reason, sizeof job->reason, fmt, ap);
    va_end (ap);
    job->failed = 1;
  }
  if (job->phase != FINISHED)
    release (job);
}

/* An exec explains whatever else went wrong: its reason wins.  */
static void
fail_exec (struct ulp_job *job)
{
  snprintf (job->reason, sizeof job->reason,
            "the process called exec during the trigger");
  job->failed = 1;
  if (job->phase != FINISHED)
    release (job);
}

/* Grows the table: pointers to threads taken before are invalid after.  */
static struct ulp_thread *
add_thread (struct ulp_job *job, pid_t tid)
{
  if (ulp_reserve (&job->threads, &job->threads_cap, job->nthreads,
                   sizeof *job->threads)
      < 0)
    return NULL;
  struct ulp_thread *t = &job->threads[job->nthreads++];
  memset (t, 0, sizeof *t);
  t->tid = tid;
  return t;
}

/* Threads that are gone are never found: their tid may come back as a new
   thread (after an exec, the thread that called it takes the process's).  */
static struct ulp_thread *
find_thread (struct ulp_job *job, pid_t tid)
{
  for (size_t i = 0; i < job->nthreads; i++)
    if (job->threads[i].tid == tid && !job->threads[i].gone)
      return &job->threads[i];
  return NULL;
}

static void
raise_priority (struct ulp_thread *t)
{
  if (!t->boost && !t->gone)
    t->boost = ulp_boost_raise (t->tid);
}

static void
restore_priority (struct ulp_thread *t)
{
  ulp_boost_restore (t->boost);
  t->boost = 0;
}

/* The kernel refuses to trace a thread that has exited but is not yet
   reaped (EPERM, as for one traced by someone else).  */
static int
thread_exiting (pid_t tid)
{
  char state = ulp_proc_thread_state (tid);
  return state == '\0' || state == 'Z' || state == 'X';
}

/* Who traces thread TID, or 0.  */
static pid_t
tracer_of (pid_t tid)
{
  struct ulp_proc_status st;
  return ulp_proc_status (tid, &st) == 0 ? st.tracer : 0;
}

/* The process of thread TID, or 0.  */
static pid_t
process_of (pid_t tid)
{
  struct ulp_proc_status st;
  return ulp_proc_status (tid, &st) == 0 ? st.tgid : 0;
}

/* Why thread TID cannot be traced (PTRACE_SEIZE said EPERM): another
   program traces it (named, for the report), or something else forbids it.
   Returns 0 when the thread is ours already (exiting, not yet reaped).  */
static int
not_permitted (pid_t tid)
{
  pid_t tracer = tracer_of (tid);
  if (tracer == gettid ())
    return 0;
  if (tracer <= 0)
    return ulp_fail ("cannot trace thread %d: %s", (int)tid, strerror (EPERM));
  pid_t tgid = process_of (tracer);
  char name[64];
  if (tgid <= 0)
    tgid = tracer;
  if (ulp_proc_name (tgid, name, sizeof name) < 0) {
    ulp_clear_error ();
    snprintf (name, sizeof name, "another program");
  }
  ulp_defuse (name, "():");
  return ulp_fail ("traced by %s (pid %d)", name, (int)tgid);
}

/* Seizes thread TID: 1 when it is ours now, 0 when it is gone (or ours
   already), -1 with ulp_error when it cannot be traced.  Exec stops are
   asked for: after an exec the process runs another program and nothing
   planned for it applies.  */
static int
seize_thread (struct ulp_job *job, pid_t tid)
{
  if (ptrace (PTRACE_SEIZE, tid, 0,
              PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD)
      != 0) {
    if (errno == ESRCH || (errno == EPERM && thread_exiting (tid)))
      return 0;
    int saved = errno;
    if (saved != EPERM)
      return ulp_fail ("cannot trace thread %d: %s", (int)tid,
                       strerror (saved));
    return not_permitted (tid) < 0 ? -1 : 0;
  }
  return add_thread (job, tid) ? 1 : ulp_fail ("out of memory");
}

/* Seizes every thread not yet traced; returns how many were new.  */
static int
seize_new_threads (struct ulp_job *job)
{
  pid_t *tids;
  size_t n;
  int added = 0;
  if (ulp_proc_tids (job->proc->pid, &tids, &n) < 0)
    return -1;
  for (size_t i = 0; i < n && added >= 0; i++) {
    if (find_thread (job, tids[i]))
      continue;
    int rc = seize_thread (job, tids[i]);
    added = rc < 0 ? -1 : added + rc;
  }
  free (tids);
  return added;
}

static size_t alive_threads (struct ulp_job *job);

/* Whether the kernel counts no more threads in the process than the job
   holds (its task directory has a link for each): with all of them
   stopped, none can have been made since, and there is no need to list
   them again.  */
static int
no_thread_unknown (struct ulp_job *job)
{
  char dir[64];
  struct stat st;
  snprintf (dir, sizeof dir, "/proc/%d/task", (int)job->proc->pid);
  return stat (dir, &st) == 0 && st.st_nlink == 2 + alive_threads (job);
}

/* ESRCH: the thread exited, or is no longer ours (after an exec by
   another thread, its tid names the thread that called exec).  */
static void
interrupt (struct ulp_thread *t)
{
  t->want_stop = 1;
  if (t->gone || t->stopped || t->interrupted)
    return;
  ulp_resume_sample (&t->resume, t->tid);
  if (ptrace (PTRACE_INTERRUPT, t->tid, 0, 0) == 0)
    t->interrupted = 1;
  else if (errno == ESRCH) {
    t->gone = 1;
    restore_priority (t);
  }
}

/* The threads interrupted that have not stopped yet.  */
static void
restore_laggards (struct ulp_job *job)
{
  for (size_t i = 0; i < job->nthreads; i++)
    if (!job->threads[i].stopped)
      restore_priority (&job->threads[i]);
}

static void
raise_laggards (struct ulp_job *job)
{
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (t->interrupted && !t->stopped)
      raise_priority (t);
  }
}

/* Signals that would interrupt nothing without a tracer: ignored, or
   ignored by default and not caught.  A traced thread still stops for
   them, and its call fails with EINTR unless the tool makes it again.  */
static unsigned long long
harmless_signals (const struct ulp_proc_status *m)
{
  unsigned long long by_default = (1ULL << (SIGCHLD - 1))
                                  | (1ULL << (SIGURG - 1))
                                  | (1ULL << (SIGWINCH - 1));
  return m->ignored | (by_default & ~m->caught);
}

static int
harmless_signal (pid_t tid, int sig)
{
  struct ulp_proc_status m;
  return sig > 0 && sig <= 64 && ulp_proc_status (tid, &m) == 0
         && (harmless_signals (&m) & (1ULL << (sig - 1)));
}

static int
registers_of (struct ulp_thread *t, struct user_regs_struct *r)
{
  if (t->regs_known) {
    *r = t->regs;
    return 0;
  }
  return ptrace (PTRACE_GETREGS, t->tid, 0, r);
}

/* A thread released with a call that just failed with EINTR by our doing
   (orig_rax is still set: no handler has run) makes it again, with what
   was left of its timeout (resume.h).  A real signal keeps its EINTR: the
   kernel decides when the thread goes on (ERESTARTNOHAND), so one that
   comes while the thread is held is never missed.  */
static void
undo_stop_eintr (struct ulp_thread *t)
{
  struct user_regs_struct r;
  if ((t->pending_sig && !harmless_signal (t->tid, t->pending_sig))
      || registers_of (t, &r) != 0 || (long long)r.orig_rax < 0
      || (long long)r.rax != -EINTR)
    return;
  if (ulp_resume_interrupted (&t->resume, t->tid, &r, t->stopped_at))
    ptrace (PTRACE_SETREGS, t->tid, 0, &r);
}

static void
resume (struct ulp_thread *t)
{
  t->want_stop = 0;
  t->regs_known = 0;
  if (t->gone || !t->stopped)
    return;
  undo_stop_eintr (t);
  if (ptrace (PTRACE_CONT, t->tid, 0, (long)t->pending_sig) != 0
      && errno == ESRCH)
    t->gone = 1; /* killed while stopped */
  t->stopped = t->interrupted = t->pending_sig = 0;
}

/* Lets a stopped thread go for good, with the signal it stopped for.  */
static void
detach (struct ulp_thread *t)
{
  undo_stop_eintr (t);
  ptrace (PTRACE_DETACH, t->tid, 0, (long)t->pending_sig);
  t->gone = 1;
  t->stopped = t->interrupted = t->pending_sig = 0;
}

static int
all_stopped (struct ulp_job *job)
{
  for (size_t i = 0; i < job->nthreads; i++)
    if (!job->threads[i].gone && !job->threads[i].stopped)
      return 0;
  return 1;
}

static size_t
alive_threads (struct ulp_job *job)
{
  size_t n = 0;
  for (size_t i = 0; i < job->nthreads; i++)
    n += !job->threads[i].gone;
  return n;
}

/* Every thread is stopped: all go at once.  */
static void
finish (struct ulp_job *job)
{
  for (size_t i = 0; i < job->nthreads; i++)
    if (!job->threads[i].gone && job->threads[i].stopped)
      detach (&job->threads[i]);
  job->phase = FINISHED;
}

/* Earliest stop among the threads held now.  */
static int64_t
first_stop (struct ulp_job *job)
{
  int64_t first = 0;
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (!t->gone && t->stopped && (!first || t->stopped_at < first))
      first = t->stopped_at;
  }
  return first;
}

/* Whether every thread still ours is one a stop cannot reach for now
   (none at all, or only threads in uninterruptible sleep): waiting for
   them to stop is pointless.  */
static int
only_sleepers_left (struct ulp_job *job)
{
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (!t->gone && (t->stopped || ulp_proc_thread_state (t->tid) != 'D'))
      return 0;
  }
  return 1;
}

/* Lets every thread go as soon as it is stopped: the stopped ones now, the
   others (interrupted, to be detached cleanly) when they stop, none later
   than release_by, or at once if they sleep uninterruptibly (in vfork).  A
   thread that does not stop by then is left to the kernel, which detaches
   it when the tracing thread ends; it is never held.  */
static void
release (struct ulp_job *job)
{
  if (job->phase != RELEASE) {
    job->phase = RELEASE;
    job->release_by = now_ns () + RELEASE_GRACE_NS;
  }
  restore_laggards (job);
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (t->gone)
      continue;
    if (t->stopped)
      detach (t);
    else
      interrupt (t);
  }
  if (only_sleepers_left (job))
    job->phase = FINISHED;
}

static void start_stop (struct ulp_job *job);

static void
back_off (struct ulp_job *job, const char *why)
{
  job->attempts++;
  restore_laggards (job);
  for (size_t i = 0; i < job->nthreads; i++)
    resume (&job->threads[i]);
  snprintf (job->reason, sizeof job->reason, "%s", why);
  job->wake_at
      = now_ns () + BACKOFF_NS * (job->attempts < 10 ? job->attempts : 10);
  job->phase = BACKOFF;
}

/* What a thread that a stop cannot reach is doing, from the system call it
   sleeps in: a vfork parent waits until its child calls exec or exits.  */
static void
describe_sleep (pid_t tid, char *out, size_t size)
{
  char file[64], line[128] = "";
  long nr = -1;
  unsigned long arg1 = 0;
  snprintf (file, sizeof file, "/proc/%d/syscall", (int)tid);
  FILE *f = fopen (file, "re");
  if (f) {
    if (fgets (line, sizeof line, f))
      sscanf (line, "%ld %lx", &nr, &arg1);
    fclose (f);
  }
  if (nr == SYS_vfork || nr == SYS_clone3
      || (nr == SYS_clone && (arg1 & CLONE_VFORK)))
    snprintf (out, size,
              "thread %d waits for its vfork child (which has not "
              "called exec or exited)",
              (int)tid);
  else if (nr >= 0)
    snprintf (out, size,
              "thread %d is in uninterruptible sleep (D state, system "
              "call %ld)",
              (int)tid, nr);
  else
    snprintf (out, size, "thread %d is in uninterruptible sleep (D state)",
              (int)tid);
}

/* A thread that does not stop and sleeps uninterruptibly (in vfork, or in
   the kernel) may stay so for any time.  Once it is all the phase waits
   for, the others are
   resumed rather than held, and the job waits for it in BACKOFF (its
   interrupt stays pending: it stops when it wakes, and is resumed).  */
static int
wait_for_straggler (struct ulp_job *job)
{
  struct ulp_thread *sleeper = NULL;
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (t->gone || t->stopped)
      continue;
    if (ulp_proc_thread_state (t->tid) != 'D')
      return 0; /* it may yet stop */
    if (!sleeper)
      sleeper = t;
  }
  if (!sleeper)
    return 0;
  char why[200];
  describe_sleep (sleeper->tid, why, sizeof why);
  back_off (job, why);
  job->straggler = sleeper->tid;
  return 1;
}

/* Whether the thread waited for still cannot be stopped.  */
static int
straggler_asleep (struct ulp_job *job)
{
  struct ulp_thread *t = find_thread (job, job->straggler);
  if (!t || t->stopped || ulp_proc_thread_state (t->tid) != 'D')
    job->straggler = 0;
  return job->straggler != 0;
}

static void
start_stop (struct ulp_job *job)
{
  job->phase = STOP;
  job->check_at = now_ns () + STRAGGLER_NS;
  job->boost_at = now_ns () + BOOST_AFTER_NS;
  job->boosting = 0;
  for (size_t i = 0; i < job->nthreads; i++)
    interrupt (&job->threads[i]);
}

/* The program counters the callback changed go to their threads.  The
   thread that made system calls gets its own registers back first, so that
   the move is made to them and not undone by their return.  */
int
ulp_stop_move_threads (struct ulp_stop *stop)
{
  if (stop->injector.active && !stop->injector.lost
      && ulp_inject_end (&stop->injector) < 0)
    return -1;
  for (size_t k = 0; k < stop->npcs; k++) {
    struct user_regs_struct r;
    pid_t tid = stop->tids[k];
    if (stop->moved[k] == stop->pcs[k])
      continue;
    if (ptrace (PTRACE_GETREGS, tid, 0, &r) != 0)
      return ulp_fail ("cannot read registers of thread %d: %s", (int)tid,
                       strerror (errno));
    r.rip = stop->pcs[k];
    struct ulp_thread *t = find_thread (stop->job, tid);
    if (t)
      t->regs_known = 0;
    if (ptrace (PTRACE_SETREGS, tid, 0, &r) != 0)
      return ulp_fail ("cannot move thread %d: %s", (int)tid, strerror (errno));
    stop->moved[k] = stop->pcs[k];
  }
  return 0;
}

/* The system calls the tool may have a thread make, as the seccomp check
   sees them (the addresses are typical, the flags exact).  */
static const struct ulp_syscall_probe probes[] = {
  { SYS_memfd_create, { 0x7f0000000000, 1 } },
  { SYS_ftruncate, { 3, 0x40000 } },
  { SYS_mmap, { 0x7f0000000000, 0x40000, 3, 2, 3, 0 } },
  { SYS_close, { 3 } },
  { SYS_mmap, { 0x7f0000001000, 0x1000, 5, 0x32, (uint64_t)-1, 0 } },
  { SYS_mmap, { 0x7f0000002000, 0x1000, 3, 0x32, (uint64_t)-1, 0 } },
  { SYS_munmap, { 0x7f0000000000, 0x40000 } },
  /* Last: only the batch stub makes it (the signal it stops itself with). */
  { SYS_tgkill, { 1000, 1000, SIGURG } },
};
#define NPROBES (sizeof probes / sizeof probes[0])

/* Whether the thread may make batches (ulp_inject_batch) too: the cave
   holds both stubs, and its filters allow every call from there and the
   signal at the end.  Else calls are made one by one.  */
static void
allow_batch (struct ulp_stop *stop, int room)
{
  char why[200];
  struct ulp_injector *in = &stop->injector;
  uint64_t ip = in->stub + ULP_STUB_LEN + ULP_BATCH_SYSCALL_AT;
  if (room
      && ulp_seccomp_check (in->tid, probes, NPROBES, ip, why, sizeof why) == 1)
    ulp_inject_allow_batch (in, stop->pcs, stop->npcs);
  ulp_clear_error ();
}

struct ulp_injector *
ulp_stop_injector (struct ulp_stop *stop)
{
  struct ulp_job *job = stop->job;
  if (stop->injector.active)
    return &stop->injector;
  if (stop->caller < 0) {
    ulp_fail ("no thread is in a plain stop to make system calls (all in "
              "the middle of a clone or a signal)");
    stop->busy = 1;
    return NULL;
  }
  uint64_t stub
      = ulp_process_code_cave (job->proc, ULP_STUB_LEN + ULP_BATCH_STUB_LEN);
  int room = stub != 0;
  if (!stub)
    stub = ulp_process_code_cave (job->proc, ULP_STUB_LEN);
  char why[200];
  if (!stub)
    return NULL;
  ulp_clear_error ();
  int allowed = ulp_seccomp_check (stop->tids[stop->caller], probes,
                                   NPROBES - 1, stub, why, sizeof why);
  if (allowed <= 0) {
    if (allowed == 0)
      ulp_fail ("%s", why);
    stop->refused = 1;
    return NULL;
  }
  if (ulp_inject_begin (&stop->injector, job->proc, stop->tids[stop->caller],
                        stub, job->deadline)
      < 0)
    return NULL;
  allow_batch (stop, room);
  /* Every call it makes waits for it to run: behind busy threads too.  */
  struct ulp_thread *caller = find_thread (job, stop->tids[stop->caller]);
  if (caller)
    raise_priority (caller);
  ulp_failpoint ("boost-raised");
  return &stop->injector;
}

/* Whether the process runs another program than the one the job was
   planned for: the address space that /proc/PID/mem was opened on (at
   planning, or at the latest in start_job) has no users left while the
   process lives on.  Only exec does that.  */
static int
called_exec (struct ulp_job *job, struct ulp_stop *stop)
{
  size_t len = job->first_len ? job->first_len : 1;
  uint64_t at = job->first_len ? job->first_addr : 0;
  if (!job->first_len && job->proc->maps.n)
    at = job->proc->maps.v[0].start;
  stop->first_len = 0;
  if (job->proc->mem_fd < 0 || !at || len > sizeof stop->first)
    return 0;
  ssize_t got = pread (job->proc->mem_fd, stop->first, len, (off_t)at);
  if (got != 0) {
    stop->first_len = got > 0 ? (size_t)got : 0;
    return 0;
  }
  return !thread_exiting (job->proc->view);
}

/* Every thread is stopped and accounted for (none left out, none running
   another program): the only place the callback runs.  What holds if the
   tool dies during it: see the comment at enum phase.  */
/* A thread stopped by our interrupt, outside any system call's event and
   with no signal to take, returns to user space from its stop as from an
   interrupt: its registers are all its own.  One stopped inside clone
   (PTRACE_EVENT_CLONE) has not got the call's result yet.  */
static int
in_plain_stop (const struct ulp_thread *t)
{
  return t->stop_event == PTRACE_EVENT_STOP && !t->pending_sig;
}

static int
read_stopped_threads (struct ulp_job *job, struct ulp_stop *stop)
{
  stop->caller = -1;
  stop->job = job;
  stop->tids = calloc (job->nthreads + 1, sizeof *stop->tids);
  stop->pcs = calloc (job->nthreads + 1, sizeof *stop->pcs);
  stop->moved = calloc (job->nthreads + 1, sizeof *stop->moved);
  if (!stop->tids || !stop->pcs || !stop->moved)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < job->nthreads; i++) {
    struct user_regs_struct r;
    if (job->threads[i].gone)
      continue;
    if (ptrace (PTRACE_GETREGS, job->threads[i].tid, 0, &r) != 0)
      return ulp_fail ("cannot read registers: %s", strerror (errno));
    job->threads[i].regs = r;
    job->threads[i].regs_known = 1;
    stop->tids[stop->npcs] = job->threads[i].tid;
    stop->pcs[stop->npcs] = stop->moved[stop->npcs] = r.rip;
    if (stop->caller < 0 && in_plain_stop (&job->threads[i]))
      stop->caller = (int)stop->npcs;
    stop->npcs++;
  }
  return 0;
}

/* The thread that made system calls gets its own registers back.  One
   the deadline took from us (still in a call) is no longer stopped: it
   returns home by itself, and is let go when it next stops.  */
static int
end_injection (struct ulp_job *job, struct ulp_stop *stop)
{
  struct ulp_injector *in = &stop->injector;
  int rc = 0;
  struct ulp_thread *caller = in->tid ? find_thread (job, in->tid) : NULL;
  if (caller) {
    caller->regs_known = 0; /* it made calls: its registers are read anew */
    restore_priority (caller);
  }
  if (in->active && !in->lost && ulp_inject_end (in) < 0)
    rc = -1;
  if (in->lost || in->active) {
    struct ulp_thread *t = find_thread (job, in->tid);
    if (t)
      t->stopped = t->interrupted = 0;
  }
  return rc;
}

/* Threads whose socket call the stop made fail go on through the socket
   stub when let go (resume.h); it can be written now that every thread
   is stopped.  */
static void
prepare_socket_resume (struct ulp_job *job, const struct ulp_stop *stop)
{
  uint64_t stub = 0;
  int placed = 0;
  for (size_t i = 0; i < job->nthreads; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (t->gone || !t->regs_known || !ulp_resume_needs_stub (&t->regs))
      continue;
    if (!placed++)
      stub = ulp_resume_place_stub (job->proc, stop->pcs, stop->npcs);
    ulp_resume_at_stop (&t->resume, job->proc->pid, stub);
  }
}

static void
free_stop (struct ulp_stop *stop)
{
  free (stop->tids);
  free (stop->pcs);
  free (stop->moved);
}

/* Every thread is stopped and accounted for (none left out, none running
   another program): the only place the callback runs.  What holds if the
   tool dies during it: see the comment at enum phase.  */
static void
run_stopped (struct ulp_job *job, int64_t begin)
{
  struct ulp_stop stop;
  memset (&stop, 0, sizeof stop);
  if (called_exec (job, &stop)) {
    fail_exec (job);
    return;
  }
  enum ulp_stop_result result = ULP_STOP_FAILED;
  if (read_stopped_threads (job, &stop) == 0) {
    prepare_socket_resume (job, &stop);
    result = job->stopped (job, &stop);
  }
  char why[sizeof job->reason];
  snprintf (why, sizeof why, "%s", ulp_error ());
  if (end_injection (job, &stop) < 0 && result == ULP_STOP_DONE) {
    snprintf (why, sizeof why, "%s", ulp_error ());
    result = ULP_STOP_FAILED;
  }
  if (result == ULP_STOP_DONE && ulp_stop_move_threads (&stop) < 0) {
    snprintf (why, sizeof why, "%s", ulp_error ());
    result = ULP_STOP_FAILED;
  }
  job->skipped = stop.refused;
  free_stop (&stop);
  if (result == ULP_STOP_RETRY) {
    back_off (job, why);
    return;
  }
  if (result == ULP_STOP_FAILED) {
    job_fail (job, "%s", why);
    return;
  }
  int64_t first = first_stop (job);
  finish (job);
  int64_t end = now_ns ();
  job->stopped_ns = end - begin;
  job->thread_max_ns = end - first;
}

/* No thread of ours is left: the process exited, or a thread we did not
   trace yet called exec (the old threads die, the new image is not ours).  */
static void
no_thread_left (struct ulp_job *job)
{
  struct ulp_stop look;
  if (job->phase != RELEASE && called_exec (job, &look))
    fail_exec (job);
  else if (!job->failed) {
    snprintf (job->reason, sizeof job->reason, "process exited");
    job->failed = 1;
  }
  job->phase = FINISHED;
}

const char *
ulp_transition_signal_name (int sig)
{
  switch (sig) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  case SIGHUP:
    return "SIGHUP";
  default:
    return "a signal";
  }
}

int
ulp_transition_interrupted (void)
{
  return interrupted_by;
}

int
ulp_transition_exit_status (const char *tail, char *why, size_t size)
{
  int sig = interrupted_by;
  why[0] = '\0';
  if (!sig)
    return 0;
  snprintf (why, size, "interrupted by %s%s", ulp_transition_signal_name (sig),
            tail);
  return 128 + sig;
}

/* Those of SIGINT, SIGTERM and SIGHUP whose action is the default (ending
   the process): an ignored or handled one is none of the run's business. */
static void
default_stop_signals (sigset_t *set)
{
  static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
  sigemptyset (set);
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
    struct sigaction sa;
    if (sigaction (stop_signals[i], NULL, &sa) == 0
        && !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL)
      sigaddset (set, stop_signals[i]);
  }
}

static int
stop_signal_pending (void)
{
  sigset_t pending, both;
  if (sigpending (&pending) != 0)
    return 0;
  sigandset (&both, &pending, &taken_signals);
  return !sigisemptyset (&both);
}

/* A stop signal that has arrived, taken without waiting; 0 if none.  */
static int
take_stop_signal (void)
{
  struct timespec now = { 0, 0 };
  int sig = sigtimedwait (&taken_signals, NULL, &now);
  return sig > 0 ? sig : 0;
}

/* No stop starts any more: every unfinished job fails and lets its threads
   go.  No callback is under way: they run in this thread.  */
static void
on_stop_signal (struct ulp_job *jobs, size_t n, int sig)
{
  if (!interrupted_by)
    interrupted_by = sig;
  for (size_t i = 0; i < n; i++)
    if (jobs[i].phase != FINISHED)
      job_fail (&jobs[i], "interrupted by %s",
                ulp_transition_signal_name (interrupted_by));
}

static void
progress (struct ulp_job *job)
{
  if (alive_threads (job) == 0) {
    no_thread_left (job);
    return;
  }
  switch (job->phase) {
  case STOP:
    /* With a stop signal pending, the loop takes it and lets them go.  */
    if (!all_stopped (job) || signal_waits)
      break;
    int64_t begin = now_ns ();
    int added = no_thread_unknown (job) ? 0 : seize_new_threads (job);
    if (added < 0)
      job_fail (job, "%s", ulp_error ());
    else if (added > 0)
      start_stop (job);
    else
      run_stopped (job, begin);
    break;
  case RELEASE:
    if (only_sleepers_left (job))
      job->phase = FINISHED;
    break;
  default:
    break;
  }
}

/* Jobs by the pid of their process: most events are of a main thread.  */
struct job_index
{
  size_t mask;
  struct ulp_job **slots;
};

static size_t
index_slot (const struct job_index *x, pid_t pid)
{
  return ((size_t)(uint32_t)pid * 2654435761u) & x->mask;
}

static int
index_build (struct job_index *x, struct ulp_job *jobs, size_t n)
{
  size_t cap = 16;
  while (cap < 2 * n)
    cap *= 2;
  x->mask = cap - 1;
  x->slots = calloc (cap, sizeof *x->slots);
  if (!x->slots)
    return -1;
  for (size_t i = 0; i < n; i++) {
    size_t k = index_slot (x, jobs[i].proc->pid);
    while (x->slots[k])
      k = (k + 1) & x->mask;
    x->slots[k] = &jobs[i];
  }
  return 0;
}

static struct ulp_job *
index_find (const struct job_index *x, pid_t pid)
{
  if (!x->slots)
    return NULL;
  for (size_t k = index_slot (x, pid); x->slots[k]; k = (k + 1) & x->mask)
    if (x->slots[k]->proc->pid == pid)
      return x->slots[k];
  return NULL;
}

static struct ulp_job *
job_of (struct ulp_job *jobs, size_t n, const struct job_index *x, pid_t tid,
        struct ulp_thread **t)
{
  struct ulp_job *main = index_find (x, tid);
  if (main && main->phase != FINISHED && (*t = find_thread (main, tid)))
    return main;
  for (size_t i = 0; i < n; i++)
    if (jobs[i].phase != FINISHED && (*t = find_thread (&jobs[i], tid)))
      return &jobs[i];
  /* A thread cloned before its parent's clone event was reported.  */
  pid_t tgid = process_of (tid);
  for (size_t i = 0; i < n; i++)
    if (jobs[i].phase != FINISHED && tgid > 0 && jobs[i].proc->pid == tgid) {
      *t = add_thread (&jobs[i], tid);
      return *t ? &jobs[i] : NULL;
    }
  return NULL;
}

static int
job_wants_stopped (struct ulp_job *job)
{
  return job->phase != BACKOFF;
}

static void
on_clone (struct ulp_job *job, pid_t parent)
{
  unsigned long child = 0;
  if (ptrace (PTRACE_GETEVENTMSG, parent, 0, &child) == 0
      && !find_thread (job, (pid_t)child)) {
    struct ulp_thread *t = add_thread (job, (pid_t)child);
    if (t && job_wants_stopped (job))
      t->want_stop = 1;
  }
}

/* A thread called exec (T is it, under the process's pid now): the other
   threads are gone and the process runs another program, for which
   nothing was planned.  T is let go; nothing was written.  */
static void
on_exec (struct ulp_job *job, struct ulp_thread *t)
{
  for (size_t i = 0; i < job->nthreads; i++)
    if (&job->threads[i] != t)
      job->threads[i].gone = 1;
  fail_exec (job);
}

static void
on_stop (struct ulp_job *job, struct ulp_thread *t, int status)
{
  int sig = WSTOPSIG (status), event = status >> 16;
  restore_priority (t);
  t->stopped = 1;
  t->regs_known = 0;
  t->stop_event = event;
  t->stopped_at = now_ns ();
  ulp_resume_stopped (&t->resume, t->tid);
  if (event == PTRACE_EVENT_EXEC) {
    on_exec (job, t);
    return;
  }
  if (event == PTRACE_EVENT_CLONE) {
    pid_t tid = t->tid;
    on_clone (job, tid);
    t = find_thread (job, tid); /* adding a thread may move the table */
  } else if (event == 0)
    t->pending_sig = sig;
  if (job->phase == RELEASE) {
    detach (t);
    return;
  }
  if (job_wants_stopped (job))
    t->want_stop = 1;
  if (!t->want_stop)
    resume (t);
}

/* A stop of a thread no job claims: one given up on at the end of a job.
   It goes at once, with its signal.  */
static void
let_go (pid_t tid, int status)
{
  if (WIFSTOPPED (status))
    ptrace (PTRACE_DETACH, tid, 0,
            (long)((status >> 16) == 0 ? WSTOPSIG (status) : 0));
}

static void
on_event (struct ulp_job *jobs, size_t n, const struct job_index *x, pid_t tid,
          int status)
{
  struct ulp_thread *t = NULL;
  struct ulp_job *job = job_of (jobs, n, x, tid, &t);
  if (!job) {
    let_go (tid, status);
    return;
  }
  if (WIFEXITED (status) || WIFSIGNALED (status)) {
    restore_priority (t);
    t->gone = 1;
    t->stopped = 0;
  } else if (WIFSTOPPED (status))
    on_stop (job, t, status);
  if (job->phase != FINISHED)
    progress (job);
}

static void
start_job (struct ulp_job *job, const struct ulp_transition_options *o)
{
  char byte;
  job->deadline = now_ns () + (int64_t)(o->timeout * 1e9);
  /* Ties /proc/PID/mem to this image before any thread is seized, if
     planning did not (called_exec relies on it).  */
  if (job->proc->mem_fd < 0 && job->proc->maps.n
      && ulp_process_read (job->proc, job->proc->maps.v[0].start, &byte, 1) < 0)
    ulp_clear_error ();
  /* A process that had one thread when planned: threads made since are
     found once it is stopped (no_thread_unknown).  */
  int added = job->proc->threads == 1 ? seize_thread (job, job->proc->pid)
                                      : seize_new_threads (job);
  if (added <= 0) {
    job->failed = 1;
    snprintf (job->reason, sizeof job->reason, "%s",
              added < 0 ? ulp_error () : "no such process");
    release (job);
    return;
  }
  start_stop (job);
}

/* Which threads have not stopped, and what the kernel says they do.  */
static const char *
laggards (struct ulp_job *job)
{
  static char buf[256];
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < job->nthreads && used + 40 < sizeof buf; i++) {
    struct ulp_thread *t = &job->threads[i];
    if (t->gone || t->stopped)
      continue;
    char state = ulp_proc_thread_state (t->tid);
    used += (size_t)snprintf (buf + used, sizeof buf - used, "%sthread %d %s%c",
                              used ? ", " : "", (int)t->tid,
                              t->interrupted ? "" : "uninterrupted ",
                              state ? state : '?');
  }
  return buf;
}

static void
backoff_timer (struct ulp_job *job, const struct ulp_transition_options *o,
               int64_t now)
{
  if (now < job->wake_at)
    return;
  if (job->straggler && straggler_asleep (job)) {
    if (now >= job->deadline) {
      char why[sizeof job->reason];
      snprintf (why, sizeof why, "%s", job->reason);
      job_fail (job, "timed out: %s; the other threads ran on", why);
    } else
      job->wake_at = now + STRAGGLER_POLL_NS;
  } else if (job->attempts > o->retries || now >= job->deadline) {
    char why[sizeof job->reason];
    snprintf (why, sizeof why, "%s", job->reason);
    job_fail (job, "gave up after %d attempts: %s", job->attempts, why);
  } else
    start_stop (job);
}

/* Every phase has a deadline.  The loader alone is waited for past it (the
   other threads are released then).  */
static void
handle_timers (struct ulp_job *job, const struct ulp_transition_options *o,
               int64_t now)
{
  switch (job->phase) {
  case BACKOFF:
    backoff_timer (job, o, now);
    break;
  case STOP:
    if (now >= job->boost_at && !job->boosting) {
      raise_laggards (job);
      job->boosting = 1;
      job->boost_at = now + BOOST_FOR_NS;
    } else if (now >= job->boost_at) {
      restore_laggards (job);
      job->boost_at = INT64_MAX;
    }
    if (now >= job->deadline)
      job_fail (job, "timed out waiting for the threads to stop (%s)",
                laggards (job));
    else if (now >= job->check_at && !wait_for_straggler (job))
      job->check_at = now + STRAGGLER_NS;
    break;
  case RELEASE:
    if (now >= job->release_by)
      job->phase = FINISHED; /* stragglers: see release */
    break;
  default:
    break;
  }
}

static int64_t
timer_of (const struct ulp_job *job)
{
  switch (job->phase) {
  case BACKOFF:
    return job->wake_at;
  case STOP: {
    int64_t at = job->check_at < job->deadline ? job->check_at : job->deadline;
    return job->boost_at < at ? job->boost_at : at;
  }
  case RELEASE:
    return job->release_by;
  default:
    return INT64_MAX;
  }
}

static int64_t
next_wakeup (struct ulp_job *jobs, size_t n)
{
  int64_t next = now_ns () + 100000000LL;
  for (size_t i = 0; i < n; i++)
    if (timer_of (&jobs[i]) < next)
      next = timer_of (&jobs[i]);
  return next;
}

static size_t
unfinished (struct ulp_job *jobs, size_t n)
{
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    count += jobs[i].phase != FINISHED;
  return count;
}

/* While the loop runs, a stopped target waits on this thread: a preempted
   tool would hold it stopped for a whole scheduling period.  The loop
   sleeps whenever it has nothing to do, so a real-time policy costs the
   host nothing but a prompt answer.  Without the privilege it runs as it
   is.  */
static int
run_promptly (struct sched_param *previous)
{
  struct sched_param rt = { .sched_priority = 1 };
  int policy = sched_getscheduler (0);
  sched_getparam (0, previous);
  if (policy == SCHED_OTHER && sched_setscheduler (0, SCHED_RR, &rt) == 0)
    return policy;
  return -1;
}

struct run
{
  struct ulp_job *jobs;
  size_t n;
  const struct ulp_transition_options *o;
  sigset_t waited; /* SIGCHLD and the stop signals taken over */
  struct job_index index;
};

/* A signal that came before the run, or interrupted an earlier one, lets
   no job start.  */
static void
start_jobs (struct run *r)
{
  int sig = interrupted_by ? interrupted_by : take_stop_signal ();
  if (sig) {
    on_stop_signal (r->jobs, r->n, sig);
    return;
  }
  for (size_t i = 0; i < r->n; i++)
    start_job (&r->jobs[i], r->o);
}

/* The signals waited for are blocked by the caller (and so in this
   thread).  */
static void *
run_loop (void *arg)
{
  struct run *r = arg;
  struct ulp_job *jobs = r->jobs;
  size_t n = r->n;
  struct sched_param previous;
  int policy = run_promptly (&previous);
  ulp_boost_start (); /* after run_promptly: its guardian is as prompt */
  ulp_heap_prefault (n * 8192); /* this thread's: threads, registers */
  if (index_build (&r->index, jobs, n) < 0)
    r->index.slots = NULL; /* found by scanning, more slowly */
  start_jobs (r);
  while (unfinished (jobs, n)) {
    int status;
    pid_t tid;
    signal_waits = stop_signal_pending ();
    while ((tid = waitpid (-1, &status, WNOHANG | __WALL)) > 0)
      on_event (jobs, n, &r->index, tid, status);
    if (tid < 0 && errno == ECHILD)
      for (size_t i = 0; i < n; i++)
        if (jobs[i].phase != FINISHED) {
          jobs[i].failed = 1;
          snprintf (jobs[i].reason, sizeof jobs[i].reason, "lost the process");
          jobs[i].phase = FINISHED;
        }
    int64_t now = now_ns ();
    for (size_t i = 0; i < n; i++)
      if (jobs[i].phase != FINISHED && timer_of (&jobs[i]) <= now)
        handle_timers (&jobs[i], r->o, now);
    if (!unfinished (jobs, n))
      break;
    int64_t wait = next_wakeup (jobs, n) - now_ns ();
    if (wait < 0)
      wait = 0;
    struct timespec ts = { wait / 1000000000LL, wait % 1000000000LL };
    int sig = sigtimedwait (&r->waited, NULL, &ts);
    if (sig > 0 && sig != SIGCHLD)
      on_stop_signal (jobs, n, sig);
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < jobs[i].nthreads; k++)
      restore_priority (&jobs[i].threads[k]);
  ulp_boost_end ();
  if (policy >= 0)
    sched_setscheduler (0, policy, &previous);
  free (r->index.slots);
  return NULL;
}

/* Made real-time from the start where permitted (run_promptly): on a busy
   host a new thread of normal policy waits its turn to begin.  */
static int
start_loop_thread (pthread_t *thread, struct run *r)
{
  pthread_attr_t attr;
  struct sched_param rt = { .sched_priority = 1 };
  int rc = -1;
  if (pthread_attr_init (&attr) != 0)
    return pthread_create (thread, NULL, run_loop, r);
  if (sched_getscheduler (0) == SCHED_OTHER
      && pthread_attr_setinheritsched (&attr, PTHREAD_EXPLICIT_SCHED) == 0
      && pthread_attr_setschedpolicy (&attr, SCHED_RR) == 0
      && pthread_attr_setschedparam (&attr, &rt) == 0)
    rc = pthread_create (thread, &attr, run_loop, r);
  pthread_attr_destroy (&attr);
  return rc == 0 ? 0 : pthread_create (thread, NULL, run_loop, r);
}

/* The loop runs in a thread of its own, so that whatever it still traces
   when it is done (a straggler given up on) is detached by the kernel when
   the thread ends, here and not when the process ends.  Without a thread,
   it runs here, and that happens at the process's exit.  */
int
ulp_transition_run (struct ulp_job *jobs, size_t n,
                    const struct ulp_transition_options *o)
{
  struct run r = { .jobs = jobs, .n = n, .o = o };
  sigset_t old;
  default_stop_signals (&taken_signals);
  r.waited = taken_signals;
  sigaddset (&r.waited, SIGCHLD);
  pthread_sigmask (SIG_BLOCK, &r.waited, &old);
  pthread_t thread;
  if (start_loop_thread (&thread, &r) == 0)
    pthread_join (thread, NULL);
  else
    run_loop (&r);
  /* One that came late (or a second one) is reported rather than left to
     end the process when the mask is back, before the results are out.  */
  for (int sig; (sig = take_stop_signal ());)
    if (!interrupted_by)
      interrupted_by = sig;
  /* Once interrupted, the process is on its way out with 128 + N: a
     second signal, however late, must not end it before the results.  */
  if (interrupted_by)
    sigorset (&old, &old, &taken_signals);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  return interrupted_by;
}

void
ulp_job_free (struct ulp_job *job)
{
  free (job->threads);
  job->threads = NULL;
}
