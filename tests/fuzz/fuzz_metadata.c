/* libFuzzer harness: the .ulp and .ulp.rev decoders take arbitrary bytes;
   whatever they accept must encode back to something that decodes to the
   same metadata.  */
#include <stdlib.h>
#include <string.h>

#include "metadata.h"

static void
check_apply_round_trip (const struct ulp_metadata *m)
{
  uint8_t *buf;
  size_t len;
  struct ulp_metadata again;
  if (ulp_metadata_encode (m, &buf, &len) != 0
      || ulp_metadata_decode (buf, len, &again) != 0)
    abort ();
  if (memcmp (again.id, m->id, ULP_ID_LEN) != 0
      || strcmp (again.target, m->target) != 0
      || again.build_id_len != m->build_id_len
      || memcmp (again.build_id, m->build_id, m->build_id_len) != 0
      || again.nfuncs != m->nfuncs)
    abort ();
  for (size_t i = 0; i < m->nfuncs; i++)
    if (strcmp (again.funcs[i].old_name, m->funcs[i].old_name) != 0
        || strcmp (again.funcs[i].new_name, m->funcs[i].new_name) != 0
        || again.funcs[i].old_offset != m->funcs[i].old_offset
        || again.funcs[i].new_offset != m->funcs[i].new_offset)
      abort ();
  ulp_metadata_free (&again);
  free (buf);
}

static void
check_revert_round_trip (const struct ulp_revert_meta *r)
{
  uint8_t *buf;
  size_t len;
  struct ulp_revert_meta again;
  if (ulp_revert_encode (r, &buf, &len) != 0
      || ulp_revert_decode (buf, len, &again) != 0
      || memcmp (again.id, r->id, ULP_ID_LEN) != 0
      || strcmp (again.target, r->target) != 0)
    abort ();
  ulp_revert_free (&again);
  free (buf);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ulp_metadata m;
  struct ulp_revert_meta r;
  if (ulp_metadata_decode (data, size, &m) == 0) {
    check_apply_round_trip (&m);
    ulp_metadata_free (&m);
  }
  if (ulp_revert_decode (data, size, &r) == 0) {
    check_revert_round_trip (&r);
    ulp_revert_free (&r);
  }
  return 0;
}
