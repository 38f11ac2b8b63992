/* Moving processes from their old code to their new code with ptrace.

   All jobs (one per process) advance concurrently in one event loop, so a
   trigger costs about one scheduling round of the busiest target rather
   than the sum over targets.  For each job:
     1. seize every thread (without stopping it);
     2. when containers must be loaded, borrow one thread that is in a safe
        place and make it call the runtime's loader while the other threads
        keep running;
     3. stop every thread, call the job's STOPPED callback with their
        program counters (it writes the new code), release them.
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

   The event loop waits with waitpid(-1): run it in a process whose only
   children are the ones it traces.  */
#ifndef ULP_TRANSITION_H
#define ULP_TRANSITION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "process.h"

struct ulp_thread;

enum ulp_stop_result
{
  ULP_STOP_DONE = 0,
  ULP_STOP_RETRY = 1,
  ULP_STOP_FAILED = -1
};

struct ulp_job
{
  struct ulp_process *proc;
  size_t nloads;
  const char **load_paths;
  uint64_t *load_bases; /* filled in by the transition */
  void *ctx;
  /* Runs with every thread stopped.  It may change PCS, the threads'
     program counters, which are written back when it returns DONE.  On
     failure it sets ulp_error.  */
  enum ulp_stop_result (*stopped) (struct ulp_job *job, uint64_t *pcs,
                                   size_t npcs);

  /* Results.  */
  int failed;
  char reason[512];
  int64_t stopped_ns;    /* all threads stopped until released */
  int64_t thread_max_ns; /* longest time any one thread was held */
  int attempts;

  /* Private to transition.c.  */
  int phase;
  struct ulp_thread *threads;
  size_t nthreads, threads_cap;
  size_t borrowed, load_index;
  int64_t deadline, wake_at;
  int64_t check_at;   /* next look for threads that cannot stop */
  int64_t release_by; /* threads not stopped by then are given up */
  pid_t straggler;    /* the thread waited for in BACKOFF, or 0 */
  int loading;        /* the borrowed thread is inside the loader */
  uint64_t load_entry, trap_addr;
  void *saved_regs;
};

struct ulp_transition_options
{
  double timeout; /* seconds, per job */
  int retries;
};

void ulp_transition_run (struct ulp_job *jobs, size_t n,
                         const struct ulp_transition_options *options);
void ulp_job_free (struct ulp_job *job);

#endif
