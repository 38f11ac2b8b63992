/* Parser for live patch description files (.dsc), libpulp's syntax:

     ! a comment (any line that starts with '!'), kept in the container:
       the bug and CVE ids in it are the patch's labels
     /path/to/container.so
     @/path/to/target/libfoo.so.1
     old_function:new_function
     #local:ref
     #local:ref:LOCAL_OFFSET:REF_OFFSET
     #%tls_variable:ref[:LOCAL_OFFSET:REF_OFFSET]
     ...

   A reference ('#' line) has the address of LOCAL, a symbol of the
   target library that it need not export, written into the patch's
   pointer variable REF when the patch is loaded; with '%', LOCAL is a
   thread-local variable and REF receives its TLS index (module, offset),
   for __tls_get_addr.  Offsets (hexadecimal, from the start of each
   file) replace the lookup of the names.  A description may have no
   function line (libpulp packs those too: a patch that only fills
   references, or none at all, and redirects nothing).  Pure text processing:
   files are checked later by the packer.  */
#ifndef ULP_DESCRIPTION_H
#define ULP_DESCRIPTION_H

#include <stddef.h>

struct ulp_desc_func
{
  char *old_name;
  char *new_name;
  int line;
};

struct ulp_desc_ref
{
  char *local_name;
  char *ref_name;
  int tls;
  int has_offsets; /* the offset form: no lookup */
  unsigned long long local_offset, ref_offset;
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
  size_t nrefs;
  struct ulp_desc_ref *refs;
  char *comments; /* the '!' lines, '!' left out, one per line; or NULL */
};

/* On error returns -1 with ulp_error() = "LINE: reason".  Relative paths
   are taken relative to BASE_DIR when it is not NULL.  */
int ulp_description_parse (const char *text, size_t len, const char *base_dir,
                           struct ulp_description *desc);
void ulp_description_free (struct ulp_description *desc);

#endif
