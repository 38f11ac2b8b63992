#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atomic_file.h"
#include "container.h"
#include "elffile.h"
#include "error.h"
#include "trust.h"

#define MAX_CONTAINER (256u << 20)

/* A FIFO or device opens without blocking and is refused at once.  */
static int
open_regular (const char *path, struct stat *st)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return ulp_fail ("%s", errno == ENOENT ? "no such file" : strerror (errno));
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode)) {
    close (fd);
    return ulp_fail ("not a regular file");
  }
  if (st->st_size == 0 || (size_t)st->st_size > MAX_CONTAINER) {
    close (fd);
    return ulp_fail (st->st_size == 0 ? "empty file"
                                      : "larger than a container can be");
  }
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    close (fd);
    return ulp_fail ("%s", strerror (errno));
  }
  return fd;
}

static int
read_image (const char *path, struct ulp_container *c)
{
  struct stat st;
  int fd = open_regular (path, &st);
  if (fd < 0)
    return -1;
  c->image_len = (size_t)st.st_size;
  c->image = malloc (c->image_len);
  size_t done = 0;
  while (c->image && done < c->image_len) {
    ssize_t n = read (fd, c->image + done, c->image_len - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  close (fd);
  return c->image && done == c->image_len ? 0
                                          : ulp_fail ("cannot read the file");
}

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
  rc = ulp_elf_section (e, ULP_SECTION_COMMENTS, &data, &len);
  if (rc < 0)
    return -1;
  if (rc == 0 && !(c->comments = strndup ((const char *)data, len)))
    return ulp_fail ("out of memory");
  if (memcmp (c->rev.id, c->meta.id, ULP_ID_LEN) != 0
      || strcmp (c->rev.target, c->meta.target) != 0)
    return ulp_fail ("%s and %s metadata disagree", ULP_SECTION_APPLY,
                     ULP_SECTION_REVERT);
  return 0;
}

static int
read_new_code (struct ulp_elf *e, struct ulp_container *c)
{
  c->code = calloc (c->meta.nfuncs + 1, sizeof *c->code);
  c->code_len = calloc (c->meta.nfuncs + 1, sizeof *c->code_len);
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

/* Only the signed bytes are parsed: the signature block is not part of
   the ELF, and nothing after verification reads it again.  */
size_t
ulp_container_elf_len (const struct ulp_container *c)
{
  return c->signed_ ? c->sig.signed_len : c->image_len;
}

static int
parse_image (struct ulp_container *c)
{
  size_t len = ulp_container_elf_len (c);
  struct ulp_elf *e = ulp_elf_open_memory (c->image, len, c->label);
  if (!e)
    return -1;
  int rc = 0;
  if (!ulp_elf_is_shared_object (e))
    rc = ulp_fail ("not a shared object");
  else if (read_sections (e, c) < 0 || read_new_code (e, c) < 0)
    rc = -1;
  ulp_elf_close (e);
  return rc;
}

/* Errors name the container once.  */
static int
named_failure (const struct ulp_container *c, const char *path)
{
  const char *name = c->label ? c->label : path;
  if (strncmp (ulp_error (), name, strlen (name)) != 0)
    ulp_fail ("%s: %s", name, ulp_error ());
  return -1;
}

static int
read_container (const char *path, struct ulp_container *c)
{
  char resolved[PATH_MAX];
  if (read_image (path, c) < 0)
    return -1;
  if (!realpath (path, resolved))
    return ulp_fail ("%s", strerror (errno));
  c->origin = strdup (resolved);
  c->path = strdup (resolved);
  c->label = strdup (path);
  if (!c->origin || !c->path || !c->label)
    return ulp_fail ("out of memory");
  c->sig_status = ulp_signature_parse (c->image, c->image_len, &c->sig);
  c->signed_ = c->sig_status == 0;
  return 0;
}

int
ulp_container_read (const char *path, struct ulp_container *c)
{
  memset (c, 0, sizeof *c);
  if (read_container (path, c) == 0)
    return 0;
  named_failure (c, path);
  ulp_container_free (c);
  return -1;
}

int
ulp_container_parse (struct ulp_container *c)
{
  if (c->sig_status < 0)
    ulp_signature_parse (c->image, c->image_len, &c->sig);
  if (c->sig_status < 0 || parse_image (c) < 0)
    return named_failure (c, c->label);
  return 0;
}

int
ulp_container_open (const char *path, struct ulp_container *c)
{
  if (ulp_container_read (path, c) < 0)
    return -1;
  if (ulp_container_parse (c) < 0) {
    ulp_container_free (c);
    return -1;
  }
  return 0;
}

void
ulp_container_free (struct ulp_container *c)
{
  ulp_metadata_free (&c->meta);
  ulp_revert_free (&c->rev);
  free (c->comments);
  free (c->code);
  free (c->code_len);
  free (c->image);
  free (c->origin);
  free (c->path);
  free (c->label);
  memset (c, 0, sizeof *c);
}

int
ulp_container_verify (struct ulp_container *c, const struct ulp_policy *policy)
{
  if (c->sig_status < 0) {
    ulp_signature_parse (c->image, c->image_len, &c->sig);
    return ulp_fail ("%s: bad signature: %s", c->label, ulp_error ());
  }
  if (c->signed_) {
    if (ulp_signature_verify (c->image, &c->sig, policy->trust_dir, &c->signer)
        < 0)
      return ulp_fail ("%s: %s", c->label, ulp_error ());
    return 0;
  }
  if (policy->require_signature)
    return ulp_fail ("%s: not signed, and signatures are required (trust "
                     "store %s)",
                     c->label, policy->trust_dir);
  return 0;
}

/* Nothing of a container to apply is parsed before its signature holds
   (or the policy lets it in unsigned).  */
static int
prepare_one (const char *path, const struct ulp_policy *policy, int revert,
             struct ulp_container *c)
{
  if (revert)
    return ulp_container_open (path, c);
  if (ulp_container_read (path, c) < 0)
    return -1;
  if (ulp_container_verify (c, policy) < 0 || ulp_container_parse (c) < 0) {
    ulp_container_free (c);
    return -1;
  }
  return 0;
}

int
ulp_container_is_packed (const char *path)
{
  struct ulp_elf *e = ulp_elf_open (path);
  const uint8_t *data;
  size_t len;
  int packed = e && ulp_elf_section (e, ULP_SECTION_APPLY, &data, &len) == 0;
  if (e)
    ulp_elf_close (e);
  ulp_clear_error ();
  return packed;
}

int
ulp_containers_prepare (char *const *paths, size_t n, int revert,
                        struct ulp_container **out)
{
  struct ulp_policy policy;
  if (!revert && ulp_policy_load (&policy) < 0)
    return -1;
  *out = calloc (n + 1, sizeof **out);
  if (!*out)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < n; i++)
    if (prepare_one (paths[i], &policy, revert, &(*out)[i]) < 0) {
      ulp_containers_free (*out, i);
      *out = NULL;
      return -1;
    }
  return 0;
}

void
ulp_containers_free (struct ulp_container *c, size_t n)
{
  if (!c)
    return;
  for (size_t i = 0; i < n; i++)
    ulp_container_free (&c[i]);
  free (c);
}
