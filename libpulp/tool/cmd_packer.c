/* ulp packer FILE.dsc: checks a description against the real files and
   embeds the metadata into the container.  */
#include <elf.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "description.h"
#include "elffile.h"
#include "error.h"
#include "loader.h"
#include "metadata.h"
#include "patch.h"
#include "proc.h"
#include "symbols.h"

static char *
read_whole_file (const char *path, size_t *len)
{
  FILE *f = fopen (path, "re");
  if (!f) {
    ulp_fail ("%s", errno == ENOENT ? "no such file" : strerror (errno));
    return NULL;
  }
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? cap * 2 : 4096;
      char *grown = cap <= (1 << 24) ? realloc (buf, cap) : NULL;
      if (!grown) {
        free (buf);
        fclose (f);
        ulp_fail ("description too large");
        return NULL;
      }
      buf = grown;
    }
    size_t n = fread (buf + *len, 1, cap - *len, f);
    *len += n;
    if (n == 0)
      break;
  }
  fclose (f);
  return buf;
}

/* The name processes know the target by: its DT_SONAME, or for a program
   (or a library without one) its file name, symlinks resolved.  */
static char *
target_name (struct ulp_elf *elf, const char *path)
{
  char soname[PATH_MAX], resolved[PATH_MAX];
  int rc = ulp_elf_soname (elf, soname, sizeof soname);
  if (rc < 0)
    return NULL;
  char *name = strdup (
      rc == 0 ? soname
              : ulp_basename (realpath (path, resolved) ? resolved : path));
  if (!name)
    ulp_fail ("out of memory");
  return name;
}

/* The library (or program) patched: its file, or the JSON that SUSE
   libpulp's `ulp extract` wrote of it, which has its symbols but not its
   code (its patch areas are checked when the patch is applied).  */
struct target
{
  const char *path;
  struct ulp_elf *elf; /* NULL for JSON */
  struct ulp_symbols json;
  struct ulp_elf *debug; /* a stripped file's debug file, once looked for */
};

static int
json_function (const struct target *t, const struct ulp_desc_func *f,
               uint64_t *offset)
{
  struct ulp_elf_found found;
  int rc = ulp_symbols_lookup (&t->json, f->old_name, &found);
  if (rc == 1 || (found.type != STT_FUNC && found.type != STT_GNU_IFUNC))
    return ulp_fail ("%d: unknown old function '%s' in %s", f->line,
                     f->old_name, t->path);
  if (rc == 2)
    return ulp_fail ("%d: '%s' names functions at several addresses in %s",
                     f->line, f->old_name, t->path);
  *offset = found.value;
  return 0;
}

static int
resolve_old (struct target *t, const struct ulp_desc_func *f, uint64_t *offset)
{
  uint8_t window[ULP_WINDOW];
  struct ulp_elf *target = t->elf;
  const char *target_path = t->path;
  if (!target)
    return json_function (t, f, offset);
  if (ulp_elf_find_symbol (target, f->old_name, 1, offset) != 0)
    return ulp_fail ("%d: unknown old function '%s' in %s", f->line,
                     f->old_name, target_path);
  if (*offset < ULP_PAD_BEFORE
      || ulp_elf_read_at_least (target, *offset - ULP_PAD_BEFORE, window,
                                sizeof window, ULP_PAD_BEFORE + ULP_PAD_AT)
             < 0
      || !ulp_entry_is_patchable (window))
    return ulp_fail ("%d: function '%s' in %s is not livepatchable (no "
                     "14+2 NOP patch area; build with "
                     "-fpatchable-function-entry=16,14)",
                     f->line, f->old_name, target_path);
  return 0;
}

static int
resolve_functions (const struct ulp_description *d, struct target *target,
                   struct ulp_elf *container, struct ulp_metadata *meta)
{
  meta->funcs = calloc (d->nfuncs + 1, sizeof *meta->funcs);
  if (!meta->funcs)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < d->nfuncs; i++) {
    const struct ulp_desc_func *f = &d->funcs[i];
    struct ulp_func_meta *m = &meta->funcs[i];
    meta->nfuncs = i + 1;
    m->old_name = strdup (f->old_name);
    m->new_name = strdup (f->new_name);
    if (resolve_old (target, f, &m->old_offset) < 0)
      return -1;
    if (ulp_elf_find_symbol (container, f->new_name, 1, &m->new_offset) != 0)
      return ulp_fail ("%d: unknown new function '%s' in %s", f->line,
                       f->new_name, d->container);
  }
  return 0;
}

/* Whether VADDR .. VADDR + LEN lies in one loadable segment of E, a
   writable one if WRITABLE.  */
static int
in_segment (struct ulp_elf *e, uint64_t vaddr, uint64_t len, int writable)
{
  size_t n;
  struct ulp_elf_segment s;
  if (ulp_elf_segment_count (e, &n) < 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (ulp_elf_segment (e, i, &s) == 0 && s.type == PT_LOAD
        && (!writable || (s.flags & PF_W)) && vaddr >= s.vaddr
        && vaddr + len <= s.vaddr + s.memsz)
      return 1;
  return 0;
}

/* The symbol LOCAL of a reference: in the target's full symbol table, or
   its debug file's when the target is stripped.  */
static int
resolve_local (const struct ulp_desc_ref *r, struct target *t, uint64_t *offset)
{
  struct ulp_elf_found f;
  struct ulp_elf **debug = &t->debug;
  const char *path = t->path;
  int rc = t->elf ? ulp_elf_lookup_unique (t->elf, r->local_name, &f)
                  : ulp_symbols_lookup (&t->json, r->local_name, &f);
  int stripped = t->elf && !ulp_elf_has_symtab (t->elf);
  if (rc == 1 && stripped && !*debug)
    *debug = ulp_elf_open_debug (t->elf, path, NULL);
  if (rc == 1 && *debug)
    rc = ulp_elf_lookup_unique (*debug, r->local_name, &f);
  if (rc == 1)
    return ulp_fail ("%d: no symbol '%s' in %s%s", r->line, r->local_name, path,
                     stripped && !*debug ? " (it is stripped, and no debug "
                                           "file of its build-ID was found)"
                                         : "");
  if (rc == 2)
    return ulp_fail ("%d: '%s' names symbols at several addresses in %s "
                     "(static ones of several source files): give its "
                     "offset, #local:ref:LOCAL_OFFSET:REF_OFFSET",
                     r->line, r->local_name, path);
  if (r->tls != (f.type == STT_TLS))
    return ulp_fail ("%d: '%s' in %s is %sa thread-local variable: write "
                     "#%s%s:%s",
                     r->line, r->local_name, path, r->tls ? "not " : "",
                     f.type == STT_TLS ? "%" : "", r->local_name, r->ref_name);
  *offset = f.value;
  return 0;
}

/* The pointer variable REF of the patch, which receives the address (8
   bytes) or the TLS index (16 bytes): a writable variable.  */
static int
resolve_ref (const struct ulp_desc_ref *r, struct ulp_elf *container,
             const char *path, uint64_t *offset)
{
  struct ulp_elf_found f;
  uint64_t need = r->tls ? 16 : 8;
  int rc = ulp_elf_lookup_unique (container, r->ref_name, &f);
  if (rc == 1)
    return ulp_fail ("%d: no variable '%s' in %s", r->line, r->ref_name, path);
  if (rc == 2)
    return ulp_fail ("%d: '%s' names several variables in %s", r->line,
                     r->ref_name, path);
  if (f.type != STT_OBJECT || (f.size && f.size != need))
    return ulp_fail ("%d: '%s' in %s must be a variable of %llu bytes (%s)",
                     r->line, r->ref_name, path, (unsigned long long)need,
                     r->tls ? "a tls_index" : "a pointer");
  *offset = f.value;
  return 0;
}

static int
resolve_one_ref (const struct ulp_desc_ref *r, const struct ulp_description *d,
                 struct target *target, struct ulp_elf *container,
                 struct ulp_ref_meta *m)
{
  m->tls = r->tls;
  m->local_offset = r->local_offset;
  m->ref_offset = r->ref_offset;
  if (!r->has_offsets
      && (resolve_local (r, target, &m->local_offset) < 0
          || resolve_ref (r, container, d->container, &m->ref_offset) < 0))
    return -1;
  if (!r->tls && target->elf
      && !in_segment (target->elf, m->local_offset, 1, 0))
    return ulp_fail ("%d: offset 0x%llx of '%s' is outside %s", r->line,
                     (unsigned long long)m->local_offset, r->local_name,
                     d->target);
  if (!in_segment (container, m->ref_offset, r->tls ? 16 : 8, 1))
    return ulp_fail ("%d: '%s' at 0x%llx is not in a writable segment of %s",
                     r->line, r->ref_name, (unsigned long long)m->ref_offset,
                     d->container);
  return 0;
}

static int
resolve_refs (const struct ulp_description *d, struct target *target,
              struct ulp_elf *container, struct ulp_metadata *meta)
{
  int rc = 0;
  meta->refs = calloc (d->nrefs + 1, sizeof *meta->refs);
  if (!meta->refs)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < d->nrefs && rc == 0; i++) {
    struct ulp_ref_meta *m = &meta->refs[i];
    meta->nrefs = i + 1;
    m->local_name = strdup (d->refs[i].local_name);
    m->ref_name = strdup (d->refs[i].ref_name);
    rc = m->local_name && m->ref_name
             ? resolve_one_ref (&d->refs[i], d, target, container, m)
             : ulp_fail ("out of memory");
  }
  return rc;
}

static void
digest_update (void *ctx, const void *data, size_t len)
{
  EVP_DigestUpdate (ctx, data, len);
}

/* The patch id: a digest of what the patch does and the code it brings,
   so the same inputs always give the same id.  */
static int
compute_id (struct ulp_metadata *meta, struct ulp_elf *container)
{
  uint8_t *encoded, digest[EVP_MAX_MD_SIZE];
  size_t len;
  unsigned dlen = 0;
  memset (meta->id, 0, ULP_ID_LEN);
  if (ulp_metadata_encode (meta, &encoded, &len) < 0)
    return -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  int ok = ctx && EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL)
           && EVP_DigestUpdate (ctx, encoded, len)
           && ulp_elf_digest_loadable (container, digest_update, ctx) == 0
           && EVP_DigestFinal_ex (ctx, digest, &dlen);
  EVP_MD_CTX_free (ctx);
  free (encoded);
  if (!ok)
    return ulp_fail ("cannot compute the patch id");
  memcpy (meta->id, digest, ULP_ID_LEN);
  return 0;
}

/* Refuses a container that the tool's loader could not load, so that it
   never ships.  */
static int
check_loadable (struct ulp_elf *container, struct ulp_elf *target,
                const char *path)
{
  const uint8_t *image;
  size_t len;
  if (ulp_elf_raw_image (container, &image, &len) < 0)
    return -1;
  return ulp_image_check (image, len, path, target);
}

/* The target's file or JSON description; its build-ID and name into META.  */
static int
open_target (const struct ulp_description *d, struct target *t,
             struct ulp_metadata *meta)
{
  memset (t, 0, sizeof *t);
  t->path = d->target;
  if (ulp_symbols_is_json (d->target)) {
    if (ulp_symbols_read_json (d->target, &t->json) < 0)
      return -1;
    memcpy (meta->build_id, t->json.build_id, t->json.build_id_len);
    meta->build_id_len = t->json.build_id_len;
    meta->target = strdup (t->json.name);
    return meta->target ? 0 : ulp_fail ("out of memory");
  }
  if (!(t->elf = ulp_elf_open (d->target)))
    return -1;
  if (!ulp_elf_is_shared_object (t->elf) && !ulp_elf_is_fixed_program (t->elf))
    return ulp_fail ("%s: not a shared library or a program", d->target);
  if (ulp_elf_build_id (t->elf, meta->build_id, sizeof meta->build_id,
                        &meta->build_id_len)
      < 0)
    return -1;
  meta->target = target_name (t->elf, d->target);
  return meta->target ? 0 : -1;
}

static void
close_target (struct target *t)
{
  if (t->elf)
    ulp_elf_close (t->elf);
  if (t->debug)
    ulp_elf_close (t->debug);
  ulp_symbols_free (&t->json);
}

static int
build_metadata (const struct ulp_description *d, struct ulp_metadata *meta)
{
  struct target target;
  if (open_target (d, &target, meta) < 0) {
    ulp_fail ("%d: %s", d->target_line, ulp_error ());
    close_target (&target);
    return -1;
  }
  struct ulp_elf *container = ulp_elf_open (d->container);
  int rc = -1;
  if (!container)
    ulp_fail ("%d: %s", d->container_line, ulp_error ());
  else if (!ulp_elf_is_shared_object (container))
    ulp_fail ("%d: %s: not a shared object", d->container_line, d->container);
  else if (check_loadable (container, target.elf, d->container) < 0)
    ulp_fail ("%d: %s", d->container_line, ulp_error ());
  else if (resolve_functions (d, &target, container, meta) == 0
           && resolve_refs (d, &target, container, meta) == 0)
    rc = compute_id (meta, container);
  close_target (&target);
  if (container)
    ulp_elf_close (container);
  return rc;
}

static int
embed (const char *container, const struct ulp_metadata *meta,
       const char *comments)
{
  struct ulp_revert_meta rev = { { 0 }, meta->target };
  uint8_t *apply = NULL, *revert = NULL;
  size_t apply_len, revert_len;
  memcpy (rev.id, meta->id, ULP_ID_LEN);
  int rc = -1;
  if (ulp_metadata_encode (meta, &apply, &apply_len) == 0
      && ulp_revert_encode (&rev, &revert, &revert_len) == 0) {
    struct ulp_new_section sections[] = {
      { ULP_SECTION_APPLY, apply, apply_len },
      { ULP_SECTION_REVERT, revert, revert_len },
      { ULP_SECTION_COMMENTS, (const uint8_t *)comments,
        comments ? strlen (comments) : 0 },
    };
    rc = ulp_elf_embed_sections (container, sections, comments ? 3 : 2);
  }
  free (apply);
  free (revert);
  return rc;
}

/* Relative paths are the description's folder's; where nothing is there,
   the working directory's, as libpulp's packer takes them.  */
static void
take_from_working_directory (struct ulp_description *d, const char *text,
                             size_t len)
{
  struct ulp_description cwd;
  if (ulp_description_parse (text, len, NULL, &cwd) < 0) {
    ulp_clear_error ();
    return;
  }
  char **mine[] = { &d->container, &d->target };
  char **theirs[] = { &cwd.container, &cwd.target };
  for (int i = 0; i < 2; i++)
    if (access (*mine[i], F_OK) != 0 && access (*theirs[i], F_OK) == 0) {
      char *swap = *mine[i];
      *mine[i] = *theirs[i];
      *theirs[i] = swap;
    }
  ulp_description_free (&cwd);
}

static int
pack (const char *dsc_path, const char *text, size_t len)
{
  struct ulp_description d;
  struct ulp_metadata meta = { 0 };
  char *copy = strdup (dsc_path);
  int rc = ulp_description_parse (text, len, dirname (copy), &d);
  free (copy);
  if (rc < 0)
    return -1;
  take_from_working_directory (&d, text, len);
  rc = build_metadata (&d, &meta);
  if (rc == 0 && (rc = embed (d.container, &meta, d.comments)) < 0)
    ulp_fail ("%d: %s", d.container_line, ulp_error ());

  if (rc == 0) {
    char hex[2 * ULP_BUILD_ID_MAX + 1];
    ulp_hex (meta.build_id, meta.build_id_len, hex);
    printf ("packed %s: %zu functions", d.container, meta.nfuncs);
    if (meta.nrefs)
      printf (", %zu references", meta.nrefs);
    printf (" for %s (build-ID %s)\n", meta.target, hex);
  }
  ulp_metadata_free (&meta);
  ulp_description_free (&d);
  return rc;
}

int
cmd_packer (int argc, char **argv)
{
  if (argc != 2) {
    return ulp_command_usage ("packer", stderr);
  }
  size_t len;
  char *text = read_whole_file (argv[1], &len);
  if (!text) {
    fprintf (stderr, "ulp packer: %s: %s\n", argv[1], ulp_error ());
    return ULP_EXIT_USAGE;
  }
  int rc = pack (argv[1], text, len);
  free (text);
  if (rc < 0) {
    fprintf (stderr, "ulp packer: %s:%s\n", argv[1], ulp_error ());
    return ULP_EXIT_FAILED;
  }
  return ULP_EXIT_OK;
}
