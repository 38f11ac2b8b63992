/* A packed live patch container: read once into memory, so that the bytes
   parsed, verified and loaded into processes are the same bytes.  */
#ifndef ULP_CONTAINER_H
#define ULP_CONTAINER_H

#include "metadata.h"
#include "signature.h"

/* Bytes of each replacement function compared with what the process
   loaded, as a last check that the loaded object is this container.  */
#define ULP_CODE_CHECK 16

struct ulp_container
{
  char *origin; /* absolute path of the file the user named */
  char *label;  /* the name as the user gave it */
  char *path;   /* the file read, symlinks resolved */
  uint8_t *image;
  size_t image_len;
  struct ulp_metadata meta;
  struct ulp_revert_meta rev;
  char *comments;                  /* the description's comments, or NULL */
  uint8_t (*code)[ULP_CODE_CHECK]; /* per function, from the image */
  size_t *code_len;
  int sig_status; /* ulp_signature_parse: 0 signed, 1 unsigned, -1 bad */
  int signed_;    /* 1 when a well-formed signature block is present */
  struct ulp_signature_block sig;
  struct ulp_signer signer; /* filled in by ulp_container_verify */
};

/* Reads PATH (a regular file) into memory with one read and locates its
   signature block; parses nothing else.  */
int ulp_container_read (const char *path, struct ulp_container *c);
/* Parses the metadata from the image read, only its signed bytes when it
   is signed.  */
int ulp_container_parse (struct ulp_container *c);
/* Read and parse, without verifying: for dump, check, sign and revert.  */
int ulp_container_open (const char *path, struct ulp_container *c);
/* Whether PATH is a packed live patch at all (an ELF file with the apply
   metadata section), nothing of it checked yet: 1 yes, 0 no.  */
int ulp_container_is_packed (const char *path);
void ulp_container_free (struct ulp_container *c);

struct ulp_policy;
/* Applies the signature policy to the image as read, before anything
   parses it: a present signature (even a malformed one) must verify; an
   absent one is refused when signatures are required.  */
int ulp_container_verify (struct ulp_container *c,
                          const struct ulp_policy *policy);
/* The bytes of the image that are the ELF object (without a signature
   block): what is mapped into processes.  */
size_t ulp_container_elf_len (const struct ulp_container *c);

/* Opens every container of PATHS; unless REVERT (nothing of them is
   loaded then), verifies each under the host's signature policy: the bytes
   verified stay in memory and are what the tool maps into processes.  All or
   nothing: any refusal frees what was opened.  */
int ulp_containers_prepare (char *const *paths, size_t n, int revert,
                            struct ulp_container **out);
void ulp_containers_free (struct ulp_container *c, size_t n);

#endif
