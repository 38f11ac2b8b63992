/* libFuzzer harness: description files are text written by people; the
   parser must reject or accept any bytes without crashing, and what it
   accepts must be complete.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "description.h"

static void
check_invariants (const struct ulp_description *d)
{
  if (!d->container || !d->target || !*d->container || !*d->target
      || d->nfuncs == 0)
    abort ();
  for (size_t i = 0; i < d->nfuncs; i++) {
    if (!*d->funcs[i].old_name || !*d->funcs[i].new_name
        || d->funcs[i].line <= d->target_line)
      abort ();
    for (size_t j = 0; j < i; j++)
      if (strcmp (d->funcs[i].old_name, d->funcs[j].old_name) == 0)
        abort ();
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ulp_description d;
  const char *base = size && (data[0] & 1) ? "/base" : NULL;
  if (ulp_description_parse ((const char *)data, size, base, &d) == 0) {
    check_invariants (&d);
    ulp_description_free (&d);
  }
  return 0;
}
