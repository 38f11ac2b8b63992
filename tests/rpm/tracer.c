/* tracer PID: holds PID's main thread under ptrace (seized, running), as
   a debugger or strace would, until it is killed; signals go through.  */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  if (argc != 2)
    return 2;
  pid_t pid = (pid_t)atoi (argv[1]);
  if (ptrace (PTRACE_SEIZE, pid, 0, 0) < 0) {
    perror ("PTRACE_SEIZE");
    return 1;
  }
  printf ("tracing %d\n", (int)pid);
  fflush (stdout);
  for (;;) {
    int status;
    if (waitpid (pid, &status, __WALL) < 0 || WIFEXITED (status)
        || WIFSIGNALED (status))
      return 0;
    if (WIFSTOPPED (status))
      ptrace (PTRACE_CONT, pid, 0, (void *)(long)WSTOPSIG (status));
  }
}
