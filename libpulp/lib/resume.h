/* Resuming the system calls that a stop of the tool made fail.

   A ptrace stop wakes a thread blocked in a system call.  The kernel
   restarts most calls afterwards, with what was left of their timeout.
   These fail with EINTR instead, without any signal:
     epoll_wait, epoll_pwait     a timeout in milliseconds, in a register
     epoll_pwait2, semtimedop,   a pointer to a relative struct timespec
     io_getevents, rt_sigtimedwait
     semop                       no timeout
     socket calls on a socket with SO_RCVTIMEO or SO_SNDTIMEO (the kernel
     restarts them only without one): accept, accept4, connect, recvfrom,
     recvmsg, recvmmsg, sendto, sendmsg, sendmmsg, and read, write, readv,
     writev, preadv2, pwritev2 on a socket
   ulp_resume_interrupted makes such a thread make its call again, as the
   kernel restarts the others: its result becomes ERESTARTNOHAND, so the
   kernel makes the call again when the thread goes on, unless a signal
   with a handler comes first, which gets its EINTR.  A call that failed with
   EINTR did nothing (a partial transfer returns its count instead; a connect
   made again waits for the connection already under way).

   How long the call had run.  The kernel does not say when a call began.
   Right before the tool interrupts a thread, ulp_resume_sample reads what
   it sleeps in (/proc/TID/syscall) and, for a call with a timeout of its
   own, its scheduler data (/proc/TID/sched): se.exec_start, which for a
   sleeping thread is when it left the CPU, in the call, and its counts of
   voluntary switches and of migrations; /proc/TID/stat must say it sleeps
   (S).  At the stop, ulp_resume_stopped reads them again.  If the thread
   left the CPU exactly once since (for the stop) without changing CPU, it
   slept in that one call all along, and the difference of the two
   exec_start values is how long it slept before the stop.  Both are on
   one CPU's scheduler clock (clock_task of its runqueue), which leaves out
   the time the CPU spent in interrupts and the time a hypervisor stole: a
   difference is never longer than the time that passed.  If it stopped on
   another CPU, the tool converts the sample with that CPU's clock read
   there (running on it for a moment, sched_setaffinity): the clocks of
   two CPUs differ by the interrupt time each accounted since boot.  From
   the stop on, CLOCK_MONOTONIC counts: STOPPED_AT, noted by the tool after
   the stop.  0.1% (NTP slews CLOCK_MONOTONIC by at most 0.05%) and 1 ms
   (the tool may note the stop microseconds before the thread's clock
   does) are taken off.  The sum is a lower bound of the time the call has
   run: it never ends early, and is late by what the scheduler clock
   leaves out (nothing on a kernel without IRQ time accounting and steal
   time, as the test machine's 6.18), the 0.1% and 1 ms, and the rounding
   of milliseconds up.  Measured on 6.18 (2 vCPUs): epoll_wait,
   epoll_pwait2, rt_sigtimedwait and io_getevents of 2 s, each stopped 3
   times, return after 2.005 to 2.05 s; made again with the full timeout
   they returned after 3.5 s.
   Without a valid sample (the thread was not asleep in the call when
   sampled, ran in between, was never sampled) only the time since the
   stop is taken off: never early, but the time slept before the stop is
   waited again.  The thread the tool borrows for its own system calls
   keeps the sample measured at its stop.  What remains inexact: a thread
   that an event wakes in the microseconds between the sample and the
   interrupt, and that makes the very same call again (same number,
   arguments, stack and program counter) just as the interrupt arrives,
   without sleeping in between, is credited with the sleep of the call
   before.

   Where the shorter timeout goes.  Milliseconds go into the register.  A
   timespec goes into the process's ulp state mapping, never into the
   program's own (it may be const, shared, or reused): the last
   ULP_RESUME_AREA bytes of the mapping, after the used part of the second
   copy of the state (commit.c never writes there), hold slots of
   { tid, timespec }.  A thread keeps its slot while it lives, so its
   timespec stays as written until it has made the call again, even when
   a signal handler runs first (below the thread's red zone, the handler's
   frame would overwrite it).  Without a state mapping (the process was
   never patched), or with every slot taken by a live thread, the call is
   made again with its own timespec, as before.  A NULL pointer or a
   negative number of milliseconds is no timeout: the call is made again
   unchanged.

   Socket timeouts.  SO_RCVTIMEO and SO_SNDTIMEO belong to the socket,
   which other threads and processes share, and the kernel reads them
   afresh in every call: shortening one for the call made again would show
   the short value to every other user of the socket, and a tool that dies
   in between would leave it so for good.  They are only read: the tool
   takes a copy of the descriptor (pidfd_getfd) and asks the socket.  If
   the time is up, the call returns what it returns on its timeout (EAGAIN,
   EINPROGRESS for connect).  Otherwise the thread goes on in the socket
   stub (resume.c), 46 bytes the tool writes once per process in the code
   cave after the injector's stubs (inject.h), with a frame of 64 bytes
   below its red zone: a poll for what the call waits for (readable, or
   writable for sends and connect) with the time that was left, which the
   kernel makes as it restarts a call (a signal with a handler makes it
   fail with EINTR, as above); on a timeout the call's timeout result, on
   an error of poll (EINTR: a handler ran) that error, else the call made
   again with the registers the program gave it (the socket is ready or in
   error: the call says which).  Then it pops its frame and returns where
   the call would have.
   It needs no tracer: a tool that dies once the thread is let go changes
   nothing.  A stop while in the poll restarts the poll with its own time
   left (the kernel does that).  Where the stub cannot be used (no cave
   with room, a thread of another tool version in the bytes it would take,
   a seccomp filter that would refuse the poll or the call from there, a
   thread released before its process was wholly stopped), the call is
   made again with the socket's full timeout, as the kernel would without
   a timeout: late, never early.  What remains inexact: another thread
   that takes the data between the poll and the call leaves this one
   waiting its full timeout again.

   Costs: one read of /proc/TID/syscall per thread at each interrupt (10
   microseconds here), two more for a thread asleep in a call with a
   timeout, one more at its stop; when let go, a call with a timespec reads
   /proc/TID/maps and writes 24 bytes, a socket call takes a copy of the
   descriptor, reads the thread's seccomp filters if it has any, and
   writes 64 bytes.

   The caller leaves a real signal its EINTR: ulp_resume_interrupted is
   for threads with no signal pending or being delivered.  */
#ifndef ULP_RESUME_H
#define ULP_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "process.h"

/* The slots at the end of the state mapping (ulp/state.h).  */
#define ULP_RESUME_AREA 2048
/* The socket stub, in the code cave after the injector's stubs.  */
#define ULP_RESUME_STUB_LEN 46

enum ulp_resume_stage
{
  ULP_RESUME_NONE = 0, /* nothing known: only the stop is taken off */
  ULP_RESUME_SAMPLED,  /* asleep in a call, before the interrupt */
  ULP_RESUME_MEASURED, /* its sleep until the stop, on one CPU's clock */
  ULP_RESUME_MIGRATED  /* slept until the stop, which was on another CPU */
};

/* One per thread, zeroed with it.  */
struct ulp_resume
{
  enum ulp_resume_stage stage;
  long nr;
  uint64_t args[6], sp, pc;
  int cpu;
  int64_t slept_at; /* se.exec_start, on CPU's scheduler clock */
  int64_t voluntary, migrations;
  int64_t asleep_ns; /* MEASURED: asleep in the call until the stop */
  pid_t pid;         /* its process, once wholly stopped */
  uint64_t stub;     /* the socket stub there, or 0 */
};

/* Right before PTRACE_INTERRUPT of thread TID: what it sleeps in, and
   since when.  */
void ulp_resume_sample (struct ulp_resume *r, pid_t tid);

/* At every stop of TID that the tool sees (after noting its time): how
   long the sampled sleep lasted, if it lasted until this stop.  */
void ulp_resume_stopped (struct ulp_resume *r, pid_t tid);

/* Whether a thread stopped with registers REGS is in a socket call that
   the stop made fail: it will need the socket stub.  */
int ulp_resume_needs_stub (const struct user_regs_struct *regs);
/* With every thread of P stopped, at the program counters PCS: writes the
   socket stub in P if it is not there yet; its address, or 0 if it
   cannot be.  */
uint64_t ulp_resume_place_stub (struct ulp_process *p, const uint64_t *pcs,
                                size_t npcs);
/* Once the process of TID is wholly stopped: PID and the socket stub
   (0: none) for ulp_resume_interrupted.  */
void ulp_resume_at_stop (struct ulp_resume *r, pid_t pid, uint64_t stub);

/* For a stopped thread TID about to be let go, with its registers REGS as
   they are now (PTRACE_GETREGS), whose call failed with EINTR because of
   the tool's stop (no signal pending or being delivered).  STOPPED_AT
   (CLOCK_MONOTONIC ns) is when the tool saw it stop.  Makes REGS make the
   call again with what is left of its timeout; returns 1 when REGS
   changed (the caller does PTRACE_SETREGS), 0 to leave the EINTR (not one
   of the calls above).  R is spent either way.  */
int ulp_resume_interrupted (struct ulp_resume *r, pid_t tid,
                            struct user_regs_struct *regs, int64_t stopped_at);

#endif
