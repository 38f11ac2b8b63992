/* A packed live patch container and its embedded metadata.  */
#ifndef ULP_CONTAINER_H
#define ULP_CONTAINER_H

#include "metadata.h"

/* Bytes of each replacement function compared with what the process
   loaded: dlopen returns an already loaded object by name, so a container
   rebuilt under the same path would otherwise go unnoticed.  */
#define ULP_CODE_CHECK 16

struct ulp_container
{
  char *path;  /* absolute, as loaded into processes */
  char *label; /* as the user named it */
  struct ulp_metadata meta;
  struct ulp_revert_meta rev;
  uint8_t (*code)[ULP_CODE_CHECK]; /* per function, from the file */
  size_t *code_len;
  unsigned dev_major, dev_minor; /* the file as opened */
  uint64_t inode;
};

int ulp_container_open (const char *path, struct ulp_container *c);
void ulp_container_free (struct ulp_container *c);

#endif
