/* Raising a target thread's priority while the tool waits on it.

   A thread that is interrupted, or resumed to make system calls, does so
   only when it next runs.  On a host whose CPUs are busy it waits in the
   run queue behind the busy threads, those of the processes already
   released among them, for as long as a scheduling period (tens to
   hundreds of ms with a few dozen), while the other threads of its
   process stay stopped.  Given the lowest real-time priority (SCHED_FIFO
   1, not passed on to children) it runs at once, and stops at once: it
   is on its way back to user space, where the stop takes it.  Its own
   policy and priority are put back as soon as it stops, or after a short
   while if it does not (transition.c), so that it never takes a CPU from
   the host for longer.  A nice value would not do: a thread at nice -20
   still waits for its turn (measured here: 50 to 120 ms, against 3 ms).

   If the tool dies in between, a guardian puts them back: a tiny process
   that shares the tool's memory (so it sees the record of what was raised
   without any message), waits for a pipe only the tool holds open to
   close, and then restores every thread still recorded.  The tool records
   a thread before raising it and forgets it after restoring it, so that
   whatever instant it dies at, no thread keeps the raised priority for
   longer than the guardian takes to wake up.  Without the guardian or the
   privilege (CAP_SYS_NICE) nothing is raised.  Threads of a real-time or
   deadline policy are left as they are.  */
#ifndef ULP_BOOST_H
#define ULP_BOOST_H

#include <sys/types.h>

/* Starts the guardian for a run; 0, or -1 when boosting is unavailable
   (every later call then does nothing).  */
int ulp_boost_start (void);
/* Raises thread TID: a handle for ulp_boost_restore, or 0 when it was not
   raised (real-time already, gone, not permitted, no room).  */
int ulp_boost_raise (pid_t tid);
/* Puts back the priority of the thread raised as HANDLE (0: nothing).  */
void ulp_boost_restore (int handle);
/* Restores what is left raised and lets the guardian go.  */
void ulp_boost_end (void);

#endif
