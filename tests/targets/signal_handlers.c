/* signal_handlers FILE MODE: every 10 ms writes "MESSAGE VALUE signals=N"
   to FILE (through a rename), N the number of times a handler of its ran.
   The signals a tool could send a thread of it to have it stop (SIGURG,
   SIGWINCH, SIGCHLD):
     caught   each has a handler that counts
     urg      only SIGURG has one
     blocked  all three blocked, none handled
   A tool that sends one of them to the process must not make a handler
   run, nor leave it pending.  */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *demo_message (void);
int demo_value (int x);

static volatile sig_atomic_t handled;

static void
count (int sig)
{
  (void)sig;
  handled++;
}

static int
set_up (const char *mode)
{
  static const int quiet[] = { SIGURG, SIGWINCH, SIGCHLD };
  struct sigaction sa;
  sigset_t set;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = count;
  sigemptyset (&set);
  for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
    if (strcmp (mode, "caught") == 0
        || (strcmp (mode, "urg") == 0 && quiet[i] == SIGURG))
      sigaction (quiet[i], &sa, NULL);
    sigaddset (&set, quiet[i]);
  }
  if (strcmp (mode, "blocked") == 0)
    sigprocmask (SIG_BLOCK, &set, NULL);
  return strcmp (mode, "caught") && strcmp (mode, "urg")
         && strcmp (mode, "blocked");
}

int
main (int argc, char **argv)
{
  char tmp[4096];
  if (argc != 3 || set_up (argv[2]))
    return 2;
  snprintf (tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (;;) {
    FILE *f = fopen (tmp, "w");
    if (!f)
      return 1;
    fprintf (f, "%s %d signals=%d\n", demo_message (), demo_value (1),
             (int)handled);
    fclose (f);
    rename (tmp, argv[1]);
    usleep (10000);
  }
}
