/* libFuzzer harness for the description (.dsc) parser: the text is
   written by people, so any bytes must be accepted or rejected without
   crashing.

   The first byte picks the base directory: odd for "/base", even for
   NULL.  A rejection must leave the structure zeroed and an error of the
   documented form "LINE: reason".  An acceptance must be complete: a
   container and a target, at least one function, symbol names that are
   not empty, no old name twice, line numbers in file order, and with a
   base directory only absolute paths.  Any violation aborts.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "description.h"
#include "error.h"

#define BASE_DIR "/base"
#define MAX_DESC_FUNCS 1024 /* as in description.c */

static void
require (int ok)
{
  if (!ok)
    abort ();
}

static int
all_zero (const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

/* "LINE: reason" with LINE a positive decimal number.  */
static int
is_line_error (const char *e)
{
  if (*e < '1' || *e > '9')
    return 0;
  while (*e >= '0' && *e <= '9')
    e++;
  return e[0] == ':' && e[1] == ' ' && e[2] != '\0';
}

static int
is_path (const char *p, const char *base_dir)
{
  if (!p || !*p || strchr (p, '\n'))
    return 0;
  return !base_dir || p[0] == '/';
}

static int
is_symbol_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@'
         || c == '$';
}

static int
is_symbol (const char *s)
{
  if (!s || !*s)
    return 0;
  for (; *s; s++)
    if (!is_symbol_char (*s))
      return 0;
  return 1;
}

static void
check_funcs (const struct ulp_description *d)
{
  int previous_line = d->target_line;
  for (size_t i = 0; i < d->nfuncs; i++) {
    const struct ulp_desc_func *f = &d->funcs[i];
    require (is_symbol (f->old_name) && is_symbol (f->new_name));
    require (f->line > previous_line);
    previous_line = f->line;
    for (size_t j = 0; j < i; j++)
      require (strcmp (f->old_name, d->funcs[j].old_name) != 0);
  }
}

static void
check_invariants (const struct ulp_description *d, const char *base_dir)
{
  require (is_path (d->container, base_dir));
  require (is_path (d->target, base_dir));
  require (d->container_line >= 1 && d->target_line > d->container_line);
  require (d->nfuncs > 0 && d->nfuncs <= MAX_DESC_FUNCS && d->funcs);
  check_funcs (d);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ulp_description d;
  const char *base_dir = size && (data[0] & 1) ? BASE_DIR : NULL;
  ulp_clear_error ();
  if (ulp_description_parse ((const char *)data, size, base_dir, &d) != 0) {
    require (all_zero (&d, sizeof d));
    require (is_line_error (ulp_error ()));
    return 0;
  }
  check_invariants (&d, base_dir);
  ulp_description_free (&d);
  return 0;
}
