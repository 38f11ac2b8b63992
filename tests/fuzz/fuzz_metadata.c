/* libFuzzer harness for the .ulp and .ulp.rev decoders, which read
   sections of containers that may come from anywhere.

   Every input goes to both decoders.  What a decoder rejects must leave
   the structure zeroed (container.c frees it after a failed decode) and
   set an error message.  What it accepts must be within the format's
   limits, must encode back to the very same bytes (the format has one
   encoding per value and no trailing bytes) and must decode again to the
   same fields.  Any violation aborts.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "metadata.h"

#define MAX_NAME 4096 /* as in metadata.c */

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

static void
require_failure_state (const void *zeroed, size_t n)
{
  require (all_zero (zeroed, n));
  require (strcmp (ulp_error (), "unknown error") != 0);
}

static int
valid_name (const char *s)
{
  if (!s)
    return 0;
  size_t n = strlen (s);
  return n > 0 && n <= MAX_NAME;
}

static void
require_valid_apply (const struct ulp_metadata *m)
{
  require (valid_name (m->target));
  require (m->build_id_len > 0 && m->build_id_len <= ULP_BUILD_ID_MAX);
  require (m->nfuncs > 0 && m->nfuncs <= ULP_MAX_FUNCS && m->funcs);
  for (size_t i = 0; i < m->nfuncs; i++)
    require (valid_name (m->funcs[i].old_name)
             && valid_name (m->funcs[i].new_name));
}

static int
same_func (const struct ulp_func_meta *a, const struct ulp_func_meta *b)
{
  return strcmp (a->old_name, b->old_name) == 0
         && strcmp (a->new_name, b->new_name) == 0
         && a->old_offset == b->old_offset && a->new_offset == b->new_offset;
}

static int
same_apply (const struct ulp_metadata *a, const struct ulp_metadata *b)
{
  if (memcmp (a->id, b->id, ULP_ID_LEN) != 0
      || strcmp (a->target, b->target) != 0
      || a->build_id_len != b->build_id_len
      || memcmp (a->build_id, b->build_id, a->build_id_len) != 0
      || a->nfuncs != b->nfuncs)
    return 0;
  for (size_t i = 0; i < a->nfuncs; i++)
    if (!same_func (&a->funcs[i], &b->funcs[i]))
      return 0;
  return 1;
}

static int
same_revert (const struct ulp_revert_meta *a, const struct ulp_revert_meta *b)
{
  return memcmp (a->id, b->id, ULP_ID_LEN) == 0
         && strcmp (a->target, b->target) == 0;
}

static void
require_same_bytes (const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len)
{
  require (a_len == b_len && memcmp (a, b, a_len) == 0);
}

static void
check_apply_round_trip (const uint8_t *data, size_t size,
                        const struct ulp_metadata *m)
{
  uint8_t *buf = NULL;
  size_t len = 0;
  struct ulp_metadata again;
  require (ulp_metadata_encode (m, &buf, &len) == 0);
  require_same_bytes (buf, len, data, size);
  require (ulp_metadata_decode (buf, len, &again) == 0);
  require (same_apply (&again, m));
  ulp_metadata_free (&again);
  free (buf);
}

static void
check_revert_round_trip (const uint8_t *data, size_t size,
                         const struct ulp_revert_meta *r)
{
  uint8_t *buf = NULL;
  size_t len = 0;
  struct ulp_revert_meta again;
  require (ulp_revert_encode (r, &buf, &len) == 0);
  require_same_bytes (buf, len, data, size);
  require (ulp_revert_decode (buf, len, &again) == 0);
  require (same_revert (&again, r));
  ulp_revert_free (&again);
  free (buf);
}

static void
fuzz_apply (const uint8_t *data, size_t size)
{
  struct ulp_metadata m;
  ulp_clear_error ();
  if (ulp_metadata_decode (data, size, &m) != 0) {
    require_failure_state (&m, sizeof m);
    return;
  }
  require_valid_apply (&m);
  check_apply_round_trip (data, size, &m);
  ulp_metadata_free (&m);
}

static void
fuzz_revert (const uint8_t *data, size_t size)
{
  struct ulp_revert_meta r;
  ulp_clear_error ();
  if (ulp_revert_decode (data, size, &r) != 0) {
    require_failure_state (&r, sizeof r);
    return;
  }
  require (valid_name (r.target));
  check_revert_round_trip (data, size, &r);
  ulp_revert_free (&r);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_apply (data, size);
  fuzz_revert (data, size);
  return 0;
}
