#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "catalog.h"
#include "error.h"

#define HEADER                                                                 \
  "# ulp build-ID catalog: soname build-id package epoch:version-release "     \
  "arch checksum path\n"

static int
all_hex (const char *s, size_t min, size_t max)
{
  size_t n = strlen (s);
  if (n < min || n > max || n % 2)
    return 0;
  for (; *s; s++)
    if (!isxdigit ((unsigned char)*s) || isupper ((unsigned char)*s))
      return 0;
  return 1;
}

/* Fields are separated by blanks, and all but the path name a file or a
   directory of their own.  */
static int
bad_text (const char *s, int slash_allowed)
{
  for (; *s; s++)
    if (isspace ((unsigned char)*s) || iscntrl ((unsigned char)*s)
        || (*s == '/' && !slash_allowed))
      return 1;
  return 0;
}

/* Why E cannot be a catalog entry, or NULL.  */
static const char *
invalid (const struct ulp_catalog_entry *e)
{
  if (!*e->soname || bad_text (e->soname, 0))
    return "bad soname";
  if (!all_hex (e->build_id, 2, 128))
    return "bad build-ID (lowercase hex expected)";
  if (!*e->package || bad_text (e->package, 0))
    return "bad package name";
  const char *colon = strchr (e->evr, ':');
  if (!colon || colon == e->evr || !strchr (colon, '-') || bad_text (e->evr, 0))
    return "bad version (EPOCH:VERSION-RELEASE expected)";
  if (!*e->arch || bad_text (e->arch, 0))
    return "bad arch";
  if (strncmp (e->checksum, "sha256:", 7) != 0
      || !all_hex (e->checksum + 7, 64, 64))
    return "bad checksum (sha256:HEX expected)";
  if (e->path[0] != '/' || bad_text (e->path, 1))
    return "bad path (absolute path inside the package expected)";
  return NULL;
}

int
ulp_catalog_check (const struct ulp_catalog_entry *e)
{
  const char *why = invalid (e);
  return why ? ulp_fail ("catalog entry for %s %s: %s", e->package, e->evr, why)
             : 0;
}

static int
grow (struct ulp_catalog *c)
{
  struct ulp_catalog_entry *v = realloc (c->v, (c->n + 1) * sizeof *v);
  if (!v)
    return ulp_fail ("out of memory");
  c->v = v;
  return 0;
}

/* Copies the next blank-separated field of *CURSOR into OUT.  */
static int
next_field (char **cursor, const char *name, char *out, size_t size)
{
  char *p = *cursor + strspn (*cursor, " \t\r\n");
  size_t len = strcspn (p, " \t\r\n");
  if (len == 0)
    return ulp_fail ("expected 7 fields, %s missing", name);
  if (len >= size)
    return ulp_fail ("%s longer than %zu characters", name, size - 1);
  memcpy (out, p, len);
  out[len] = '\0';
  *cursor = p + len;
  return 0;
}

static int
parse_line (char *line, struct ulp_catalog_entry *e)
{
  memset (e, 0, sizeof *e);
  struct
  {
    const char *name;
    char *out;
    size_t size;
  } fields[] = { { "soname", e->soname, sizeof e->soname },
                 { "build-ID", e->build_id, sizeof e->build_id },
                 { "package", e->package, sizeof e->package },
                 { "version", e->evr, sizeof e->evr },
                 { "arch", e->arch, sizeof e->arch },
                 { "checksum", e->checksum, sizeof e->checksum },
                 { "path", e->path, sizeof e->path } };
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (next_field (&line, fields[i].name, fields[i].out, fields[i].size) < 0)
      return -1;
  if (line[strspn (line, " \t\r\n")] != '\0')
    return ulp_fail ("expected 7 fields, more found");
  const char *why = invalid (e);
  return why ? ulp_fail ("%s", why) : 0;
}

/* A FIFO or a device named like a catalog must not hold up a reader (rpm's
   plugin among them).  */
static FILE *
open_regular (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    errno = EINVAL;
    return NULL;
  }
  FILE *f = fdopen (fd, "r");
  if (!f)
    close (fd);
  return f;
}

int
ulp_catalog_read (const char *path, struct ulp_catalog *c)
{
  FILE *f = open_regular (path);
  if (!f)
    return errno == ENOENT ? 0
                           : ulp_fail ("%s: %s", path,
                                       errno == EINVAL ? "not a regular file"
                                                       : strerror (errno));
  char line[2048];
  int rc = 0;
  for (unsigned lineno = 1; rc == 0 && fgets (line, sizeof line, f); lineno++) {
    if (!strchr (line, '\n') && !feof (f)) {
      rc = ulp_fail ("%s:%u: line longer than %zu characters", path, lineno,
                     sizeof line - 2);
      break;
    }
    char *p = line;
    while (isspace ((unsigned char)*p))
      p++;
    if (*p == '#' || *p == '\0')
      continue;
    struct ulp_catalog_entry e;
    if (parse_line (p, &e) < 0 || grow (c) < 0) {
      char why[256];
      snprintf (why, sizeof why, "%s", ulp_error ());
      rc = ulp_fail ("%s:%u: %s", path, lineno, why);
    } else
      c->v[c->n++] = e;
  }
  fclose (f);
  return rc;
}

int
ulp_catalog_read_dir (const char *dir, struct ulp_catalog *c)
{
  if (!dir)
    dir = getenv ("ULP_CATALOG_DIR");
  if (!dir || !*dir)
    dir = ULP_DEFAULT_CATALOG_DIR;
  DIR *d = opendir (dir);
  if (!d)
    return 0;
  struct dirent *de;
  while ((de = readdir (d))) {
    size_t n = strlen (de->d_name);
    if (n < 9 || strcmp (de->d_name + n - 8, ".catalog") != 0)
      continue;
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
    struct ulp_catalog one = { 0 };
    if (ulp_catalog_read (path, &one) == 0)
      for (size_t i = 0; i < one.n; i++)
        if (ulp_catalog_add (c, &one.v[i]) < 0)
          break;
    ulp_catalog_free (&one);
  }
  closedir (d);
  return 0;
}

void
ulp_catalog_free (struct ulp_catalog *c)
{
  free (c->v);
  c->v = NULL;
  c->n = 0;
}

int
ulp_catalog_add (struct ulp_catalog *c, const struct ulp_catalog_entry *e)
{
  if (ulp_catalog_check (e) < 0)
    return -1;
  struct ulp_catalog_entry *same
      = (struct ulp_catalog_entry *)ulp_catalog_find_package (
          c, e->package, e->evr, e->arch, e->soname);
  if (same) {
    *same = *e;
    return 0;
  }
  if (grow (c) < 0)
    return -1;
  c->v[c->n++] = *e;
  return 0;
}

static ulp_evr_compare sort_compare;

static int
compare_entries (const void *pa, const void *pb)
{
  const struct ulp_catalog_entry *a = pa, *b = pb;
  int r = strcmp (a->soname, b->soname);
  if (!r)
    r = strcmp (a->package, b->package);
  if (!r)
    r = strcmp (a->arch, b->arch);
  if (!r)
    r = sort_compare ? sort_compare (a->evr, b->evr) : strcmp (a->evr, b->evr);
  if (!r)
    r = strcmp (a->evr, b->evr);
  return r ? r : strcmp (a->build_id, b->build_id);
}

void
ulp_catalog_nevra (const struct ulp_catalog_entry *e, char *out, size_t size)
{
  const char *evr = e->evr;
  if (strncmp (evr, "0:", 2) == 0)
    evr += 2;
  snprintf (out, size, "%s-%s.%s", e->package, evr, e->arch);
}

void
ulp_catalog_format (const struct ulp_catalog_entry *e, char *out, size_t size)
{
  snprintf (out, size, "%s %s %s %s %s %s %s", e->soname, e->build_id,
            e->package, e->evr, e->arch, e->checksum, e->path);
}

int
ulp_catalog_write (const char *path, struct ulp_catalog *c,
                   ulp_evr_compare compare)
{
  sort_compare = compare;
  qsort (c->v, c->n, sizeof *c->v, compare_entries);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&text, &len);
  if (!mem)
    return ulp_fail ("out of memory");
  fputs (HEADER, mem);
  for (size_t i = 0; i < c->n; i++) {
    char line[2048];
    ulp_catalog_format (&c->v[i], line, sizeof line);
    fprintf (mem, "%s\n", line);
  }
  if (fclose (mem) != 0) {
    free (text);
    return ulp_fail ("out of memory");
  }
  int rc = ulp_file_replace (path, (const uint8_t *)text, len, 0644);
  free (text);
  return rc;
}

const struct ulp_catalog_entry *
ulp_catalog_find_build (const struct ulp_catalog *c, const char *build_id)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcmp (c->v[i].build_id, build_id) == 0)
      return &c->v[i];
  return NULL;
}

const struct ulp_catalog_entry *
ulp_catalog_find_package (const struct ulp_catalog *c, const char *package,
                          const char *evr, const char *arch, const char *soname)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcmp (c->v[i].package, package) == 0 && strcmp (c->v[i].evr, evr) == 0
        && strcmp (c->v[i].arch, arch) == 0
        && strcmp (c->v[i].soname, soname) == 0)
      return &c->v[i];
  return NULL;
}
