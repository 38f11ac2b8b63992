/* seccomp_kill OUT MODE: the main thread runs tr_loop (see tr_loop.h) and
   another thread installs a seccomp filter, for itself alone, that kills
   the thread (SECCOMP_RET_KILL_THREAD) on one system call.
     traced   the call is getppid, which the thread makes as soon as it
              sees itself traced (TracerPid); a third thread vforks on
              SIGUSR1 for 2 s (as in vforker), to keep a trigger going
              meanwhile.
     openat   the call is openat (what a loader inside the process would
              make); the thread sleeps, the main thread waits in plain
              futex waits.
     memfd    before any other thread starts, the main thread installs a
              filter, inherited by every thread, that kills the process
              on memfd_create (what the tool has a thread make).
     noexec   before any other thread starts, the main thread installs
              SUSE libpulp's test filter (block_mprotect): mprotect with
              PROT_EXEC and mmap with PROT_WRITE|PROT_EXEC fail with
              EPERM; the main thread loops alone.  */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "tr_loop.h"

static long doomed_call;

static void
load_filter (struct sock_filter *code, unsigned short len)
{
  struct sock_fprog prog = { len, code };
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror ("seccomp");
    exit (1);
  }
}

static void
install_filter (long nr)
{
  struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  load_filter (code, sizeof code / sizeof code[0]);
}

#define PROT_ARG offsetof (struct seccomp_data, args[2])

static void
install_noexec_filter (void)
{
  struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 2),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, PROT_ARG),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 4, 5),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 4),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, PROT_ARG),
    BPF_STMT (BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  load_filter (code, sizeof code / sizeof code[0]);
}

static void *
doomed (void *arg)
{
  (void)arg;
  install_filter (doomed_call);
  if (doomed_call == SYS_openat)
    for (;;)
      tr_sleep (1);
  while (!tr_traced ())
    tr_sleep (0.001);
  syscall (SYS_getppid);
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 3)
    return 2;
  int openat = strcmp (argv[2], "openat") == 0;
  if (strcmp (argv[2], "memfd") == 0 || strcmp (argv[2], "noexec") == 0) {
    if (argv[2][0] == 'm')
      install_filter (SYS_memfd_create);
    else
      install_noexec_filter ();
    tr_loop (argv[1], "", 1, 0, NULL);
    return 0;
  }
  doomed_call = openat ? SYS_openat : SYS_getppid;
  tr_vfork_seconds = 2;
  tr_block_usr1 ();
  if (!openat)
    pthread_create (&t, NULL, tr_vforker, NULL);
  pthread_create (&t, NULL, doomed, NULL);
  tr_loop (argv[1], "", openat ? 10 : 1, openat, NULL);
  return 0;
}
