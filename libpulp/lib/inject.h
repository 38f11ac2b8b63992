/* System calls made by a stopped thread of a target process on the tool's
   behalf, with nothing of the tool's running in the target but a 19-byte
   stub that hands the thread back to its own context.

   The stub lies in a cave: the bytes between the end of an executable
   segment and the end of its last page, which belong to no segment and
   which no code reaches.  It is written once per process and left there.
       syscall
       pop %rax; pop %rcx; pop %rdx; pop %rsi; pop %rdi
       pop %r8; pop %r9; pop %r10; pop %r11
       popf
       ret $128
   Before a call the tool writes the thread's own registers (those the
   stub restores, and its program counter) below its red zone, points the
   stack there and the program counter at the stub.  While it is alive it
   catches the call at the system call's entry and exit and puts the
   registers back itself; the stub's tail never runs.  If the tool dies at
   any instant, the kernel lets the thread go: it finishes the call, pops
   its own registers and returns to where it was, and the red zone above
   the saved registers was never touched.  What the call did stays done
   (an unused mapping, at worst).

   Each call so made costs two round trips between the tool and a thread
   that must wait for a CPU, which on a busy host is most of a first
   apply.  Where the cave has room, a second stub after the first makes a
   batch of calls: the tool writes them below the saved registers, each
   with the addresses its result is stored at (its own word, and the
   arguments of later calls that take it, such as a memfd's descriptor),
   then a tgkill of the thread with a signal that has no handler, is not
   blocked and is ignored by default.  The tool resumes the thread once
   and sees it stop on that signal, which it never lets through.  If the
   tool dies at any instant, the thread makes the rest of the calls, the
   signal does nothing, and the stub's tail takes it home.  */
#ifndef ULP_INJECT_H
#define ULP_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "process.h"

#define ULP_STUB_LEN 19
#define ULP_BATCH_STUB_LEN 69
#define ULP_BATCH_SYSCALL_AT 16 /* the batch stub's syscall instruction */
#define ULP_MAX_BATCH 16
#define ULP_MAX_HELD_SIGNALS 8

struct ulp_injector
{
  struct ulp_process *proc;
  pid_t tid;
  uint64_t stub;
  uint64_t batch;   /* the batch stub, or 0: calls are made one by one */
  int batch_signal; /* what the thread stops itself with after a batch */
  int64_t deadline; /* monotonic ns */
  int active;       /* the thread's registers are saved and not yet back */
  int lost;         /* the thread ran off (exit, timeout): not ours now */
  struct user_regs_struct own; /* its registers, with a restart resolved */
  int held[ULP_MAX_HELD_SIGNALS];
  size_t nheld;
};

/* Where the stub can live in P: a cave of at least ULP_STUB_LEN bytes in
   an executable segment of a mapped object; 0 with ulp_error if none.  */
uint64_t ulp_inject_find_cave (struct ulp_process *p);

/* Makes TID, stopped under ptrace by the caller, ready for calls: writes
   the stub at STUB if it is not there yet and reads the thread's own
   registers.  Nothing the thread sees has changed when this returns.  */
int ulp_inject_begin (struct ulp_injector *in, struct ulp_process *p, pid_t tid,
                      uint64_t stub, int64_t deadline);
/* Has the thread make system call NR with ARGS; its return value (a
   negative errno on failure) in *RESULT.  -1 with ulp_error when the call
   could not be made or its end was not seen by the deadline.  */
int ulp_inject_syscall (struct ulp_injector *in, long nr,
                        const uint64_t args[6], int64_t *result);
/* The system call's return value as an error: -1 with ulp_error naming
   WHAT when RESULT is a negative errno, else 0.  */
int ulp_inject_call (struct ulp_injector *in, const char *what, long nr,
                     const uint64_t args[6], int64_t *result);
/* A system call of a batch: number, arguments, and (1 + the index of an
   earlier call) for each argument that is that call's result plus the
   argument given (an offset into a mapping, say), else 0.  */
struct ulp_call
{
  long nr;
  uint64_t args[6];
  int take[6];
  int64_t result; /* a negative errno on failure */
};

/* Places the batch stub after the stub (the cave must hold both) if the
   thread has a signal to stop itself with after a batch, one that does
   nothing when no tool is there (see quiet_signal), and no thread (its
   program counter among the NPCS PCS) is where the stub would be written.
   -1 if not: calls are then made one by one.  */
int ulp_inject_allow_batch (struct ulp_injector *in, const uint64_t *pcs,
                            size_t npcs);
/* Has the thread make the N calls (at most ULP_MAX_BATCH) in order: with
   the batch stub, all of them between one resume and one stop, else one
   by one.  A call that fails passes its negative errno on to the calls
   that take its result, which then fail too (EBADF for a descriptor).
   0 when every call was made (each result may be an error), -1 with
   ulp_error when they could not all be made or seen by the deadline.  */
int ulp_inject_batch (struct ulp_injector *in, struct ulp_call *calls,
                      size_t n);
/* LEN bytes of the thread's stack below the saved registers, free for
   the arguments of the calls (a file name, say).  */
uint64_t ulp_inject_scratch (const struct ulp_injector *in, size_t len);
/* Writes LEN bytes at AT of the thread's stack (below the saved
   registers), only where the thread itself could write: -1 with ulp_error
   at the end of its stack.  */
int ulp_inject_write_stack (struct ulp_injector *in, uint64_t at,
                            const void *buf, size_t len);
/* Puts the thread's own registers back; it stays stopped.  */
int ulp_inject_end (struct ulp_injector *in);

#endif
