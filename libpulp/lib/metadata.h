/* The live patch metadata embedded in containers: section .ulp (what to
   apply) and .ulp.rev (what to revert).  Encoding and decoding only; the
   decoder accepts arbitrary bytes and never reads out of bounds.  */
#ifndef ULP_METADATA_H
#define ULP_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "ulp/state.h"

#define ULP_META_MAGIC "ULPMETA1"
#define ULP_REV_MAGIC "ULPREV01"
#define ULP_META_VERSION 1      /* functions only */
#define ULP_META_VERSION_REFS 2 /* and references */
#define ULP_MAX_REFS 1024
#define ULP_BUILD_ID_MAX 64
#define ULP_SECTION_APPLY ".ulp"
#define ULP_SECTION_REVERT ".ulp.rev"
/* The description's comments, as text (SUSE libpulp's section name).  */
#define ULP_SECTION_COMMENTS ".ulp.comments"

struct ulp_func_meta
{
  char *old_name;
  char *new_name;
  uint64_t old_offset; /* in the target library */
  uint64_t new_offset; /* in the container */
};

/* A reference: at load, the address of LOCAL_OFFSET in the target library
   (with TLS, its TLS index: module and offset) is written at REF_OFFSET in
   the container.  */
struct ulp_ref_meta
{
  char *local_name;
  char *ref_name;
  uint64_t local_offset; /* in the target library */
  uint64_t ref_offset;   /* in the container */
  int tls;
};

struct ulp_metadata
{
  uint8_t id[ULP_ID_LEN];
  char *target; /* file name of the target library, e.g. libc.so.6 */
  uint8_t build_id[ULP_BUILD_ID_MAX];
  size_t build_id_len;
  size_t nfuncs;
  struct ulp_func_meta *funcs;
  size_t nrefs;
  struct ulp_ref_meta *refs;
};

struct ulp_revert_meta
{
  uint8_t id[ULP_ID_LEN];
  char *target;
};

int ulp_metadata_encode (const struct ulp_metadata *meta, uint8_t **out,
                         size_t *out_len);
int ulp_metadata_decode (const uint8_t *buf, size_t len,
                         struct ulp_metadata *meta);
void ulp_metadata_free (struct ulp_metadata *meta);

int ulp_revert_encode (const struct ulp_revert_meta *rev, uint8_t **out,
                       size_t *out_len);
int ulp_revert_decode (const uint8_t *buf, size_t len,
                       struct ulp_revert_meta *rev);
void ulp_revert_free (struct ulp_revert_meta *rev);

#endif
