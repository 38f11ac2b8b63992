/* The library inside an RPM, read with libarchive straight from memory:
   its rpm filter skips the lead and headers, the compression filter and
   the cpio reader give the payload's files one by one.  Only files named
   like the library are kept, so a symbolic link (libfoo.so.1 ->
   libfoo.so.1.2.3) can be followed within the package.  */
#include <archive.h>
#include <archive_entry.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "tool.h"

#define MAX_LIBRARY ((size_t)1 << 30)

struct member
{
  char *path; /* absolute, as installed */
  char *link; /* target of a symbolic link, or NULL */
  struct buffer data;
};

struct members
{
  struct member *v;
  size_t n;
};

static void
members_free (struct members *m)
{
  for (size_t i = 0; i < m->n; i++) {
    free (m->v[i].path);
    free (m->v[i].link);
    buffer_free (&m->v[i].data);
  }
  free (m->v);
}

/* "./usr/lib64/x" -> "/usr/lib64/x" */
static char *
installed_path (const char *name)
{
  while (name[0] == '.' && name[1] == '/')
    name++;
  char *p;
  if (asprintf (&p, "%s%s", name[0] == '/' ? "" : "/", name) < 0)
    return NULL;
  return p;
}

/* Whether the file could be the library or what its link points to:
   its name starts with the library's name up to ".so".  */
static int
candidate (const char *path, const char *soname)
{
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  const char *so = strstr (soname, ".so");
  size_t stem = so ? (size_t)(so - soname) + 3 : strlen (soname);
  return strncmp (base, soname, stem) == 0;
}

/* libarchive's error string can be NULL (a bad gzip stream gives none):
   WHAT says which step failed.  */
static int
payload_error (struct archive *a, const char *what)
{
  const char *why = archive_error_string (a);
  if (!why && archive_errno (a) > 0)
    why = strerror (archive_errno (a));
  return ulp_fail ("corrupt package payload: %s%s%s", what, why ? ": " : "",
                   why ? why : " (damaged or truncated compressed data)");
}

static int
read_member (struct archive *a, struct archive_entry *e, struct member *m)
{
  memset (m, 0, sizeof *m);
  m->path = installed_path (archive_entry_pathname (e));
  if (!m->path)
    return ulp_fail ("out of memory");
  if (archive_entry_filetype (e) == AE_IFLNK) {
    const char *target = archive_entry_symlink (e);
    m->link = strdup (target ? target : "");
    return m->link ? 0 : ulp_fail ("out of memory");
  }
  la_int64_t size = archive_entry_size (e);
  if (size < 0 || (size_t)size > MAX_LIBRARY)
    return ulp_fail ("%s: bad size in the payload", m->path);
  m->data.data = malloc (size ? (size_t)size : 1);
  if (!m->data.data)
    return ulp_fail ("out of memory");
  la_ssize_t got = archive_read_data (a, m->data.data, (size_t)size);
  if (got < 0) {
    char what[600];
    snprintf (what, sizeof what, "cannot read %s", m->path);
    return payload_error (a, what);
  }
  if (got != size)
    return ulp_fail ("corrupt package payload: %s is cut short", m->path);
  m->data.len = (size_t)size;
  return 0;
}

static int
collect (struct archive *a, const char *soname, struct members *m)
{
  struct archive_entry *e;
  char last[600] = "";
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK) {
    int type = archive_entry_filetype (e);
    const char *name = archive_entry_pathname (e);
    snprintf (last, sizeof last, "%s", !name ? "?" : name + (name[0] == '.'));
    if (!name || (type != AE_IFREG && type != AE_IFLNK)
        || !candidate (name, soname))
      continue;
    struct member *grown = realloc (m->v, (m->n + 1) * sizeof *grown);
    if (!grown)
      return ulp_fail ("out of memory");
    m->v = grown;
    if (read_member (a, e, &m->v[m->n]) < 0) {
      m->n++;
      return -1;
    }
    m->n++;
  }
  if (r != ARCHIVE_EOF) {
    char what[700];
    snprintf (what, sizeof what, "cannot read the file after %s", last);
    return payload_error (a, *last ? what : "cannot read its first file");
  }
  return 0;
}

static const struct member *
find_path (const struct members *m, const char *path)
{
  for (size_t i = 0; i < m->n; i++)
    if (strcmp (m->v[i].path, path) == 0)
      return &m->v[i];
  return NULL;
}

void
path_normalize (char *path)
{
  char *out = path;
  const char *in = path;
  while (*in) {
    while (*in == '/')
      in++;
    size_t len = strcspn (in, "/");
    int dot = len == 1 && in[0] == '.';
    if (len == 2 && in[0] == '.' && in[1] == '.') {
      while (out > path && *--out != '/')
        ;
    } else if (len && !dot) {
      *out++ = '/';
      memmove (out, in, len);
      out += len;
    }
    in += len;
  }
  if (out == path)
    *out++ = '/';
  *out = '\0';
}

void
link_target (const char *from, const char *link, char *out, size_t size)
{
  char dir[4096];
  snprintf (dir, sizeof dir, "%s", from);
  if (link[0] == '/')
    snprintf (out, size, "%s", link);
  else
    snprintf (out, size, "%s/%s", dirname (dir), link);
  path_normalize (out);
}

/* The regular file the library's name leads to.  */
static const struct member *
resolve (const struct members *m, const char *soname)
{
  const struct member *hit = NULL;
  for (size_t i = 0; i < m->n && !hit; i++) {
    const char *base = strrchr (m->v[i].path, '/');
    if (strcmp (base + 1, soname) == 0)
      hit = &m->v[i];
  }
  for (int hops = 0; hit && hit->link && hops < MAX_SYMLINK_HOPS; hops++) {
    char target[4096];
    link_target (hit->path, hit->link, target, sizeof target);
    hit = find_path (m, target);
  }
  return hit && !hit->link ? hit : NULL;
}

int
payload_extract (const struct buffer *rpm, const char *soname,
                 struct buffer *library, char *path, size_t path_size)
{
  struct archive *a = archive_read_new ();
  struct members m = { 0 };
  if (!a)
    return ulp_fail ("out of memory");
  archive_read_support_filter_all (a);
  archive_read_support_format_cpio (a);
  static const uint8_t lead_magic[] = { 0xed, 0xab, 0xee, 0xdb };
  int rc = 0;
  if (rpm->len < 96 || memcmp (rpm->data, lead_magic, 4) != 0)
    rc = ulp_fail ("not an RPM package");
  else if (archive_read_open_memory (a, rpm->data, rpm->len) != ARCHIVE_OK)
    rc = payload_error (a, "cannot read its beginning");
  else
    rc = collect (a, soname, &m);
  const struct member *lib = rc == 0 ? resolve (&m, soname) : NULL;
  if (rc == 0 && !lib)
    rc = ulp_fail ("the package has no %s", soname);
  if (rc == 0) {
    *library = lib->data;
    snprintf (path, path_size, "%s", lib->path);
    ((struct member *)lib)->data = (struct buffer){ 0 };
  }
  members_free (&m);
  archive_read_free (a);
  return rc;
}
