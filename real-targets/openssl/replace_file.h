/* replace_file PATH TEXT: PATH holds TEXT, replaced at once (written
   beside it, then renamed), so that a reader never sees half of it.  */
#include <stdio.h>

static void
replace_file (const char *path, const char *text)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen (tmp, "w");
  if (f) {
    fputs (text, f);
    fclose (f);
    rename (tmp, path);
  }
}
