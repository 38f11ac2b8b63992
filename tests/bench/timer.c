/* timer COMMAND...: runs COMMAND and prints its wall time in microseconds
   on stderr, so shell overhead on a loaded host stays out of the figure,
   and the CPU time it used (user, system): on a loaded host the wall time
   includes waiting for a CPU, the CPU time does not.  */
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int
main (int argc, char **argv)
{
  struct timespec a, b;
  pid_t pid;
  int status;
  struct rusage ru;
  if (argc < 2)
    return 2;
  clock_gettime (CLOCK_MONOTONIC, &a);
  if (posix_spawnp (&pid, argv[1], NULL, NULL, argv + 1, environ) != 0)
    return 127;
  wait4 (pid, &status, 0, &ru);
  clock_gettime (CLOCK_MONOTONIC, &b);
  fprintf (stderr, "wall_us=%lld\n",
           (long long)((b.tv_sec - a.tv_sec) * 1000000LL
                       + (b.tv_nsec - a.tv_nsec) / 1000));
  fprintf (stderr, "cpu_us=%lld %lld\n",
           (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
           (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}
