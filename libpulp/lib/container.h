/* A packed live patch container: read once into memory, so that the bytes
   parsed, verified and loaded into processes are the same bytes.  */
#ifndef ULP_CONTAINER_H
#define ULP_CONTAINER_H

#include "metadata.h"
#include "signature.h"

/* Bytes of each replacement function compared with what the process
   loaded, as a last check that the loaded object is this container.  */
#define ULP_CODE_CHECK 16
#define ULP_DEFAULT_RUN_DIR "/run/ulp"

struct ulp_container
{
  char *origin; /* absolute path of the file the user named */
  char *label;  /* the name as the user gave it */
  char *path;   /* what processes load: the sealed copy once sealed */
  uint8_t *image;
  size_t image_len;
  struct ulp_metadata meta;
  struct ulp_revert_meta rev;
  uint8_t (*code)[ULP_CODE_CHECK]; /* per function, from the image */
  size_t *code_len;
  int signed_; /* 1 when a signature block is present */
  struct ulp_signature_block sig;
  struct ulp_signer signer;      /* filled in by ulp_container_verify */
  unsigned dev_major, dev_minor; /* of PATH */
  uint64_t inode;
};

int ulp_container_open (const char *path, struct ulp_container *c);
void ulp_container_free (struct ulp_container *c);

struct ulp_policy;
/* Applies the signature policy: a present signature must verify; an
   absent one is refused when signatures are required.  */
int ulp_container_verify (struct ulp_container *c,
                          const struct ulp_policy *policy);
/* Writes the verified image to a root-only, content-addressed file under
   the run directory (ULP_RUN_DIR, default /run/ulp) and points PATH at it:
   replacing the original file later cannot change what processes load.  */
int ulp_container_seal (struct ulp_container *c);

/* Opens every container of PATHS; unless REVERT (nothing of them is
   loaded then), verifies each under the host's signature policy and seals
   it.  All or nothing: any refusal frees what was opened.  */
int ulp_containers_prepare (char *const *paths, size_t n, int revert,
                            struct ulp_container **out);
void ulp_containers_free (struct ulp_container *c, size_t n);

#endif
