/* Whether a thread's seccomp policy lets through the system calls the tool
   injects into it.  */
#ifndef ULP_SECCOMP_H
#define ULP_SECCOMP_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ulp_syscall_probe
{
  int nr;           /* system call number (x86-64) */
  uint64_t args[6]; /* the arguments the tool will pass */
};

/* Whether every PROBE would be allowed (SECCOMP_RET_ALLOW, or RET_LOG) by
   every seccomp filter of thread TID when executed by the `syscall`
   instruction at address IP (the filters see IP + 2, the address after it,
   as the kernel reports it).  TID must be in a ptrace-stop of the caller
   (PTRACE_SECCOMP_GET_FILTER requires it; the caller is root), unless it has
   no seccomp policy at all: then no ptrace call is made.
   Returns 1 allowed; 0 refused, with WHY (size LEN) set to one short reason
   naming the call and the action, e.g. "its seccomp filter would kill the
   thread on mmap"; -1 on error with ulp_error set.
   Strict mode (Seccomp: 1 in /proc/TID/status) refuses everything but
   read/write/exit/rt_sigreturn.  */
int ulp_seccomp_check (pid_t tid, const struct ulp_syscall_probe *probes,
                       size_t n, uint64_t ip, char *why, size_t len);

/* The value the classic BPF program CODE (LEN instructions) returns on DATA,
   computed as the kernel does (a division by zero returns 0, that is
   SECCOMP_RET_KILL_THREAD), or -1 when the kernel would not have accepted
   the program (unknown opcode, jump out of bounds, load outside DATA, no
   return at the end...).  */
int64_t ulp_seccomp_run_filter (const struct sock_filter *code, size_t len,
                                const struct seccomp_data *data);

#endif
