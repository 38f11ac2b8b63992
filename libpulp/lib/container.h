/* A packed live patch container and its embedded metadata.  */
#ifndef ULP_CONTAINER_H
#define ULP_CONTAINER_H

#include "metadata.h"

struct ulp_container
{
  char *path;  /* absolute, as loaded into processes */
  char *label; /* as the user named it */
  struct ulp_metadata meta;
  struct ulp_revert_meta rev;
};

int ulp_container_open (const char *path, struct ulp_container *c);
void ulp_container_free (struct ulp_container *c);

#endif
