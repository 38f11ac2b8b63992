/* Parser for live patch description files (.dsc):

     /path/to/container.so
     @/path/to/target/libfoo.so.1
     old_function:new_function
     ...

   Pure text processing: files are checked later by the packer.  */
#ifndef ULP_DESCRIPTION_H
#define ULP_DESCRIPTION_H

#include <stddef.h>

struct ulp_desc_func
{
  char *old_name;
  char *new_name;
  int line;
};

struct ulp_description
{
  char *container;
  char *target;
  int container_line;
  int target_line;
  size_t nfuncs;
  struct ulp_desc_func *funcs;
};

/* On error returns -1 with ulp_error() = "LINE: reason".  Relative paths
   are taken relative to BASE_DIR when it is not NULL.  */
int ulp_description_parse (const char *text, size_t len, const char *base_dir,
                           struct ulp_description *desc);
void ulp_description_free (struct ulp_description *desc);

#endif
