/* floor PID...: the least a trigger can cost on this machine.  Seizes,
   interrupts, waits for, reads one page of and detaches every process
   given, one after another, as a trigger stops each; prints
   "floor_us=N", the wall time.  No state read, no write, no planning.  */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_us (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void
read_a_page (pid_t pid, unsigned long long sp)
{
  char file[64], page[4096];
  snprintf (file, sizeof file, "/proc/%d/mem", (int)pid);
  int fd = open (file, O_RDONLY);
  if (fd >= 0 && pread (fd, page, sizeof page, (off_t)(sp & ~4095ULL)) < 0)
    perror ("pread");
  if (fd >= 0)
    close (fd);
}

int
main (int argc, char **argv)
{
  int n = argc - 1, stopped = 0;
  long long start = now_us ();
  for (int i = 0; i < n; i++) {
    pid_t pid = atoi (argv[i + 1]);
    if (ptrace (PTRACE_SEIZE, pid, 0, 0) != 0
        || ptrace (PTRACE_INTERRUPT, pid, 0, 0) != 0) {
      perror ("seize");
      return 1;
    }
  }
  while (stopped < n) {
    int status;
    struct user_regs_struct r;
    pid_t pid = waitpid (-1, &status, __WALL);
    if (pid < 0)
      break;
    if (ptrace (PTRACE_GETREGS, pid, 0, &r) == 0)
      read_a_page (pid, r.rsp);
    ptrace (PTRACE_DETACH, pid, 0, 0);
    stopped++;
  }
  printf ("floor_us=%lld\n", now_us () - start);
  return stopped == n ? 0 : 1;
}
