#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "container.h"
#include "elffile.h"
#include "error.h"

static int
read_sections (struct ulp_elf *e, struct ulp_container *c)
{
  const uint8_t *data;
  size_t len;
  int rc = ulp_elf_section (e, ULP_SECTION_APPLY, &data, &len);
  if (rc != 0)
    return rc < 0 ? -1
                  : ulp_fail ("no live patch metadata (section %s); pack it "
                              "with 'ulp packer'",
                              ULP_SECTION_APPLY);
  if (ulp_metadata_decode (data, len, &c->meta) < 0)
    return -1;
  rc = ulp_elf_section (e, ULP_SECTION_REVERT, &data, &len);
  if (rc != 0)
    return rc < 0 ? -1
                  : ulp_fail ("no revert metadata (section %s)",
                              ULP_SECTION_REVERT);
  if (ulp_revert_decode (data, len, &c->rev) < 0)
    return -1;
  if (memcmp (c->rev.id, c->meta.id, ULP_ID_LEN) != 0
      || strcmp (c->rev.target, c->meta.target) != 0)
    return ulp_fail ("%s and %s metadata disagree", ULP_SECTION_APPLY,
                     ULP_SECTION_REVERT);
  return 0;
}

static int
read_new_code (struct ulp_elf *e, struct ulp_container *c)
{
  c->code = calloc (c->meta.nfuncs, sizeof *c->code);
  c->code_len = calloc (c->meta.nfuncs, sizeof *c->code_len);
  if (!c->code || !c->code_len)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < c->meta.nfuncs; i++) {
    /* A function may end its section in fewer bytes.  */
    size_t len = ULP_CODE_CHECK;
    while (len
           && ulp_elf_read (e, c->meta.funcs[i].new_offset, c->code[i], len)
                  < 0)
      len /= 2;
    if (!len)
      return ulp_fail ("metadata of %s points outside the container",
                       c->meta.funcs[i].new_name);
    c->code_len[i] = len;
  }
  return 0;
}

int
ulp_container_open (const char *path, struct ulp_container *c)
{
  char resolved[PATH_MAX];
  memset (c, 0, sizeof *c);
  struct ulp_elf *e = ulp_elf_open (path);
  if (!e)
    return -1;
  int rc = 0;
  if (!ulp_elf_is_shared_object (e))
    rc = ulp_fail ("%s: not a shared object", path);
  else if (read_sections (e, c) < 0 || read_new_code (e, c) < 0)
    rc = -1;
  ulp_elf_close (e);
  struct stat st;
  if (rc == 0 && (!realpath (path, resolved) || stat (resolved, &st) != 0))
    rc = ulp_fail ("%s: %s", path, strerror (errno));
  if (rc == 0) {
    c->dev_major = major (st.st_dev);
    c->dev_minor = minor (st.st_dev);
    c->inode = st.st_ino;
    c->path = strdup (resolved);
    c->label = strdup (path);
    return 0;
  }
  if (strncmp (ulp_error (), path, strlen (path)) != 0)
    ulp_fail ("%s: %s", path, ulp_error ());
  ulp_container_free (c);
  return -1;
}

void
ulp_container_free (struct ulp_container *c)
{
  ulp_metadata_free (&c->meta);
  ulp_revert_free (&c->rev);
  free (c->code);
  free (c->code_len);
  free (c->path);
  free (c->label);
  memset (c, 0, sizeof *c);
}
