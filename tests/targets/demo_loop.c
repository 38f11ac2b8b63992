/* demo_loop FILE: every 10 ms writes "MESSAGE VALUE" to FILE (atomically,
   through a rename) so tests can watch the library's behaviour change.  */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *demo_message (void);
int demo_value (int x);

int
main (int argc, char **argv)
{
  char tmp[4096];
  if (argc != 2)
    return 2;
  snprintf (tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (;;) {
    FILE *f = fopen (tmp, "w");
    if (!f)
      return 1;
    fprintf (f, "%s %d\n", demo_message (), demo_value (1));
    fclose (f);
    rename (tmp, argv[1]);
    usleep (10000);
  }
}
