/* Moving processes from their old code to their new code with ptrace.

   All jobs (one per process) advance concurrently in one event loop, so a
   trigger costs about one scheduling round of the busiest target rather
   than the sum over targets.  For each job:
     1. seize every thread (without stopping it);
     2. stop every thread, call the job's STOPPED callback with their
        program counters (it maps what the patch needs, with system calls
        one of the threads makes for it, and writes the new code), release
        them.
   The callback may ask to try again later (a thread in the middle of a
   patch area); the job then resumes the process and backs off.  So does a
   thread that cannot stop (waiting for a vfork child, or in another
   uninterruptible sleep): the other threads are released at once, and the
   job waits, with no thread held, until it can stop or the time is up.

   A job fails, writing nothing, when a thread calls exec (every thread is
   released), when the process is traced by another program (the reason
   names it), or at its deadline.  No phase waits past the deadline but
   one: a borrowed thread inside the loader is waited for, since it cannot
   return to its own code without the tracer (the other threads are
   released at the deadline).

   The loop runs in a thread of its own that ends with the run.  When a
   tracing thread ends, the kernel detaches every thread it still traces:
   a straggler given up on is never left traced by a tool that goes on with
   other work, and it is never held stopped.

   SIGINT, SIGTERM and SIGHUP do not end the process in the middle of a
   run: while it runs they are blocked (in the calling thread and the
   loop's; a program with threads of its own blocks them there too) and
   the loop waits for them (after an interrupted run they stay blocked:
   the program is to report and exit).  On the first, no new stop starts: a
   STOPPED callback under way has finished by the time the loop sees the signal
   (its step completed or rolled back), every unfinished job fails,
   "interrupted by SIGTERM", which releases its threads, and the run ends
   as soon as they are released.  A second signal changes nothing.  Only
   the signals whose action is the default are taken: an ignored one
   (nohup) stays ignored, a handled one is the program's.  Before and after
   a run the actions are the process's own: nothing is held then.  SIGKILL,
   which nothing can catch, is safe by design all the same (the comment at
   enum phase in transition.c, inject.h, load.h, commit.h): the kernel
   detaches every thread, each runs its old or its new code.

   The event loop waits with waitpid(-1): run it in a process whose only
   children are the ones it traces.  */
#ifndef ULP_TRANSITION_H
#define ULP_TRANSITION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject.h"
#include "process.h"

struct ulp_thread;

enum ulp_stop_result
{
  ULP_STOP_DONE = 0,
  ULP_STOP_RETRY = 1,
  ULP_STOP_FAILED = -1
};

/* What the STOPPED callback gets: the stopped threads.  */
struct ulp_stop
{
  struct ulp_job *job;
  size_t npcs;
  pid_t *tids;
  uint64_t *pcs; /* their program counters, for the callback to change */
  /* Private to transition.c.  */
  uint64_t *moved;
  struct ulp_injector injector;
  int refused; /* a seccomp filter forbids the calls */
  int caller;  /* index of the thread to make them, or -1: none can now */
  int busy;    /* the calls were asked for while no thread could make them */
  /* The job's first read (ulp_job.first_len bytes at first_addr), made
     through the memory file tied to the planned program, which shows the
     program is still the same.  */
  uint8_t first[ULP_PAGE];
  size_t first_len; /* as much as was read */
};

/* Gives the PCS changed so far to their threads, at once.  */
int ulp_stop_move_threads (struct ulp_stop *stop);
/* A stopped thread ready to make system calls for the tool (the same one
   for the whole stop), or NULL with ulp_error.  */
struct ulp_injector *ulp_stop_injector (struct ulp_stop *stop);

struct ulp_job
{
  struct ulp_process *proc;
  void *ctx;
  /* Runs with every thread stopped.  Program counters it changes are
     written back when it returns DONE, if it did not do so itself.  On
     failure it sets ulp_error.  */
  enum ulp_stop_result (*stopped) (struct ulp_job *job, struct ulp_stop *stop);
  /* What to read first at each stop, at most ULP_PAGE bytes (0: a byte of
     the first mapping, only to check the program).  */
  uint64_t first_addr;
  size_t first_len;

  /* Results.  */
  int failed;
  int skipped; /* failed because the process must not be touched */
  char reason[512];
  int64_t stopped_ns;    /* all threads stopped until released */
  int64_t thread_max_ns; /* longest time any one thread was held */
  int attempts;

  /* Private to transition.c.  */
  int phase;
  struct ulp_thread *threads;
  size_t nthreads, threads_cap;
  int64_t deadline, wake_at;
  int64_t check_at;   /* next look for threads that cannot stop */
  int64_t boost_at;   /* when to raise the threads not stopped yet */
  int boosting;       /* raised: boost_at is when to put them back */
  int64_t release_by; /* threads not stopped by then are given up */
  pid_t straggler;    /* the thread waited for in BACKOFF, or 0 */
};

struct ulp_transition_options
{
  double timeout; /* seconds, per job */
  int retries;
};

/* Returns 0, or the signal (SIGINT, SIGTERM or SIGHUP) that interrupted
   the run, or an earlier one: see ulp_transition_interrupted.  */
int ulp_transition_run (struct ulp_job *jobs, size_t n,
                        const struct ulp_transition_options *options);
/* The signal that interrupted a run of this process, or 0.  It asked the
   process to stop: from then on every run fails its jobs at once, with
   the same reason, and starts no stop.  */
int ulp_transition_interrupted (void);
/* After a run: with a stop signal, "interrupted by SIGTERM" followed by
   TAIL in WHY, and the status a shell gives a command that signal ended
   (128 + N); 0, WHY empty, without one.  */
int ulp_transition_exit_status (const char *tail, char *why, size_t size);
/* "SIGINT", "SIGTERM", "SIGHUP", or "a signal".  */
const char *ulp_transition_signal_name (int sig);
void ulp_job_free (struct ulp_job *job);

#endif
