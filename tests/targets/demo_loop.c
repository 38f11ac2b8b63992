/* demo_loop FILE [MODE]: every 10 ms writes "MESSAGE VALUE" to FILE
   (atomically, through a rename) so tests can watch the library's
   behaviour change.  With MODE, the signals a tool could send a thread
   of it to have it stop (SIGURG, SIGWINCH, SIGCHLD) are
     caught   each handled by a handler that counts
     urg      only SIGURG handled
     blocked  all three blocked, none handled
   and the line ends with " signals=N", N the number of times a handler
   ran: a tool that sends one of them must not make a handler run, nor
   leave it pending.  */
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

/* 0, or -1 for an unknown MODE.  */
static int
set_up (const char *mode)
{
  static const int quiet[] = { SIGURG, SIGWINCH, SIGCHLD };
  struct sigaction sa;
  sigset_t set;
  if (strcmp (mode, "caught") && strcmp (mode, "urg")
      && strcmp (mode, "blocked"))
    return -1;
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
  return 0;
}

int
main (int argc, char **argv)
{
  char tmp[4096];
  int counted = argc == 3;
  if (argc < 2 || argc > 3 || (counted && set_up (argv[2]) < 0))
    return 2;
  snprintf (tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (;;) {
    FILE *f = fopen (tmp, "w");
    if (!f)
      return 1;
    fprintf (f, "%s %d", demo_message (), demo_value (1));
    if (counted)
      fprintf (f, " signals=%d", (int)handled);
    fputc ('\n', f);
    fclose (f);
    rename (tmp, argv[1]);
    usleep (10000);
  }
}
