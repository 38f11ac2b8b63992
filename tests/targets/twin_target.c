/* twin_target FILE COPY: like demo_target, with a second copy of the
   library: it dlopens COPY (the same build under another path, so the
   loader maps it again) and every ~10 ms writes "MESSAGE VALUE | MESSAGE
   VALUE" to FILE, first from the linked library, then from the copy.  */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *demo_message (void);
int demo_value (int x);

int
main (int argc, char **argv)
{
  char line[512], last[512] = "", tmp[4096];
  struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
  if (argc != 3)
    return 2;
  void *copy = dlopen (argv[2], RTLD_NOW | RTLD_LOCAL);
  const char *(*copy_message) (void)
      = copy ? (const char *(*)(void))dlsym (copy, "demo_message") : NULL;
  int (*copy_value) (int)
      = copy ? (int (*) (int))dlsym (copy, "demo_value") : NULL;
  if (!copy_message || !copy_value) {
    fprintf (stderr, "twin_target: %s\n", dlerror ());
    return 1;
  }
  snprintf (tmp, sizeof tmp, "%s.tmp", argv[1]);
  for (;;) {
    snprintf (line, sizeof line, "%s %d | %s %d\n", demo_message (),
              demo_value (1), copy_message (), copy_value (1));
    if (strcmp (line, last) != 0) {
      strcpy (last, line);
      FILE *f = fopen (tmp, "w");
      if (!f)
        return 1;
      fputs (line, f);
      if (fclose (f) != 0 || rename (tmp, argv[1]) != 0)
        return 1;
    }
    nanosleep (&ten_ms, NULL);
  }
}
