#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "metadata.h"

#define MAX_FUNCS ULP_MAX_FUNCS
#define MAX_NAME 4096

/* A growable little-endian output buffer.  */
struct writer
{
  uint8_t *buf;
  size_t len, cap;
  int failed;
};

static void
put_bytes (struct writer *w, const void *data, size_t n)
{
  if (w->failed)
    return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < w->len + n)
      cap *= 2;
    uint8_t *grown = realloc (w->buf, cap);
    if (!grown) {
      w->failed = 1;
      return;
    }
    w->buf = grown;
    w->cap = cap;
  }
  memcpy (w->buf + w->len, data, n);
  w->len += n;
}

static void
put_uint (struct writer *w, uint64_t value, size_t width)
{
  uint8_t bytes[8];
  for (size_t i = 0; i < width; i++)
    bytes[i] = (uint8_t)(value >> (8 * i));
  put_bytes (w, bytes, width);
}

static void
put_string (struct writer *w, const char *s)
{
  size_t n = strlen (s);
  if (n > MAX_NAME) {
    w->failed = 1;
    return;
  }
  put_uint (w, n, 2);
  put_bytes (w, s, n);
}

static int
finish (struct writer *w, uint8_t **out, size_t *out_len)
{
  if (w->failed) {
    free (w->buf);
    return ulp_fail ("cannot encode metadata (name too long or no memory)");
  }
  *out = w->buf;
  *out_len = w->len;
  return 0;
}

int
ulp_metadata_encode (const struct ulp_metadata *meta, uint8_t **out,
                     size_t *out_len)
{
  struct writer w = { 0 };
  put_bytes (&w, ULP_META_MAGIC, 8);
  put_uint (&w, meta->nrefs ? ULP_META_VERSION_REFS : ULP_META_VERSION, 4);
  put_bytes (&w, meta->id, ULP_ID_LEN);
  put_string (&w, meta->target);
  put_uint (&w, meta->build_id_len, 1);
  put_bytes (&w, meta->build_id, meta->build_id_len);
  put_uint (&w, meta->nfuncs, 4);
  for (size_t i = 0; i < meta->nfuncs; i++) {
    put_string (&w, meta->funcs[i].old_name);
    put_string (&w, meta->funcs[i].new_name);
    put_uint (&w, meta->funcs[i].old_offset, 8);
    put_uint (&w, meta->funcs[i].new_offset, 8);
  }
  if (meta->nrefs)
    put_uint (&w, meta->nrefs, 4);
  for (size_t i = 0; i < meta->nrefs; i++) {
    put_string (&w, meta->refs[i].local_name);
    put_string (&w, meta->refs[i].ref_name);
    put_uint (&w, meta->refs[i].local_offset, 8);
    put_uint (&w, meta->refs[i].ref_offset, 8);
    put_uint (&w, meta->refs[i].tls != 0, 1);
  }
  return finish (&w, out, out_len);
}

int
ulp_revert_encode (const struct ulp_revert_meta *rev, uint8_t **out,
                   size_t *out_len)
{
  struct writer w = { 0 };
  put_bytes (&w, ULP_REV_MAGIC, 8);
  put_bytes (&w, rev->id, ULP_ID_LEN);
  put_string (&w, rev->target);
  return finish (&w, out, out_len);
}

/* A bounds-checked reader; the first failure sticks.  */
struct reader
{
  const uint8_t *buf;
  size_t len, pos;
  const char *problem;
};

static int
take (struct reader *r, void *dst, size_t n, const char *what)
{
  if (r->problem)
    return -1;
  if (n > r->len - r->pos) {
    r->problem = what;
    return -1;
  }
  memcpy (dst, r->buf + r->pos, n);
  r->pos += n;
  return 0;
}

static uint64_t
take_uint (struct reader *r, size_t width, const char *what)
{
  uint8_t bytes[8] = { 0 };
  uint64_t value = 0;
  if (take (r, bytes, width, what) < 0)
    return 0;
  for (size_t i = 0; i < width; i++)
    value |= (uint64_t)bytes[i] << (8 * i);
  return value;
}

static char *
take_string (struct reader *r, const char *what)
{
  size_t n = take_uint (r, 2, what);
  if (r->problem)
    return NULL;
  if (n == 0 || n > MAX_NAME || n > r->len - r->pos) {
    r->problem = what;
    return NULL;
  }
  if (memchr (r->buf + r->pos, '\0', n)) {
    r->problem = what;
    return NULL;
  }
  char *s = malloc (n + 1);
  if (!s) {
    r->problem = "memory";
    return NULL;
  }
  memcpy (s, r->buf + r->pos, n);
  s[n] = '\0';
  r->pos += n;
  return s;
}

static int
check_magic (struct reader *r, const char *magic)
{
  char found[8];
  if (take (r, found, 8, "magic") < 0 || memcmp (found, magic, 8) != 0) {
    r->problem = "magic";
    return -1;
  }
  return 0;
}

static int
reader_result (struct reader *r, const char *section)
{
  if (r->problem)
    return ulp_fail ("malformed %s metadata: bad or truncated %s", section,
                     r->problem);
  if (r->pos != r->len)
    return ulp_fail ("malformed %s metadata: %zu trailing bytes", section,
                     r->len - r->pos);
  return 0;
}

static void
decode_funcs (struct reader *r, struct ulp_metadata *meta)
{
  size_t n = take_uint (r, 4, "function count");
  if (r->problem || n == 0)
    return;
  /* Each entry takes at least 22 bytes: reject counts the input cannot
     hold before allocating for them.  */
  if (n > MAX_FUNCS || n > (r->len - r->pos) / 22) {
    r->problem = "function count";
    return;
  }
  meta->funcs = calloc (n, sizeof *meta->funcs);
  if (!meta->funcs) {
    r->problem = "memory";
    return;
  }
  for (size_t i = 0; i < n && !r->problem; i++) {
    struct ulp_func_meta *f = &meta->funcs[i];
    meta->nfuncs = i + 1;
    f->old_name = take_string (r, "old function name");
    f->new_name = take_string (r, "new function name");
    f->old_offset = take_uint (r, 8, "old function offset");
    f->new_offset = take_uint (r, 8, "new function offset");
  }
}

static void
decode_refs (struct reader *r, struct ulp_metadata *meta)
{
  size_t n = take_uint (r, 4, "reference count");
  if (r->problem)
    return;
  /* Each entry takes at least 21 bytes.  */
  if (n == 0 || n > ULP_MAX_REFS || n > (r->len - r->pos) / 21) {
    r->problem = "reference count";
    return;
  }
  meta->refs = calloc (n, sizeof *meta->refs);
  if (!meta->refs) {
    r->problem = "memory";
    return;
  }
  for (size_t i = 0; i < n && !r->problem; i++) {
    struct ulp_ref_meta *ref = &meta->refs[i];
    meta->nrefs = i + 1;
    ref->local_name = take_string (r, "referenced symbol name");
    ref->ref_name = take_string (r, "reference name");
    ref->local_offset = take_uint (r, 8, "referenced symbol offset");
    ref->ref_offset = take_uint (r, 8, "reference offset");
    ref->tls = (int)take_uint (r, 1, "reference kind");
    if (!r->problem && ref->tls > 1)
      r->problem = "reference kind";
  }
}

int
ulp_metadata_decode (const uint8_t *buf, size_t len, struct ulp_metadata *meta)
{
  struct reader r = { buf, len, 0, NULL };
  memset (meta, 0, sizeof *meta);
  check_magic (&r, ULP_META_MAGIC);
  uint64_t version = take_uint (&r, 4, "version");
  if (version != ULP_META_VERSION && version != ULP_META_VERSION_REFS
      && !r.problem)
    r.problem = "version";
  take (&r, meta->id, ULP_ID_LEN, "patch id");
  meta->target = take_string (&r, "target name");
  meta->build_id_len = take_uint (&r, 1, "build-ID length");
  if (!r.problem
      && (meta->build_id_len == 0 || meta->build_id_len > ULP_BUILD_ID_MAX))
    r.problem = "build-ID length";
  take (&r, meta->build_id, meta->build_id_len, "build-ID");
  decode_funcs (&r, meta);
  if (version == ULP_META_VERSION_REFS)
    decode_refs (&r, meta);
  if (reader_result (&r, ULP_SECTION_APPLY) < 0) {
    ulp_metadata_free (meta);
    return -1;
  }
  return 0;
}

int
ulp_revert_decode (const uint8_t *buf, size_t len, struct ulp_revert_meta *rev)
{
  struct reader r = { buf, len, 0, NULL };
  memset (rev, 0, sizeof *rev);
  check_magic (&r, ULP_REV_MAGIC);
  take (&r, rev->id, ULP_ID_LEN, "patch id");
  rev->target = take_string (&r, "target name");
  if (reader_result (&r, ULP_SECTION_REVERT) < 0) {
    ulp_revert_free (rev);
    return -1;
  }
  return 0;
}

void
ulp_metadata_free (struct ulp_metadata *meta)
{
  for (size_t i = 0; i < meta->nfuncs; i++) {
    free (meta->funcs[i].old_name);
    free (meta->funcs[i].new_name);
  }
  free (meta->funcs);
  for (size_t i = 0; i < meta->nrefs; i++) {
    free (meta->refs[i].local_name);
    free (meta->refs[i].ref_name);
  }
  free (meta->refs);
  free (meta->target);
  memset (meta, 0, sizeof *meta);
}

void
ulp_revert_free (struct ulp_revert_meta *rev)
{
  free (rev->target);
  memset (rev, 0, sizeof *rev);
}
