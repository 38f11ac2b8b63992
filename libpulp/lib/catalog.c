#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "catalog.h"
#include "error.h"

#define HEADER                                                                 \
  "# ulp build-ID catalog: soname build-id package epoch:version-release "     \
  "arch checksum path\n"

static void index_builds (struct ulp_catalog *c);
static int add_checked (struct ulp_catalog *c,
                        const struct ulp_catalog_entry *e);
static int insert_in_order (struct ulp_catalog *c, size_t i);

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

/* Readers see struct ulp_catalog as { v, n }; what keeps additions and
   lookups cheap sits in V's allocation, just before the entries.  */
struct store
{
  size_t cap;
  size_t *slots, nslots; /* hash of the package builds: index + 1, 0: free */
  size_t *by_build;      /* indexes sorted by build-ID, or NULL */
  size_t *order;         /* indexes in the written order, or NULL */
  ulp_evr_compare order_compare; /* what ORDER was sorted with */
  struct ulp_catalog_entry v[];
};

static struct store *
store_of (const struct ulp_catalog *c)
{
  return c->v ? (struct store *)((char *)c->v - offsetof (struct store, v))
              : NULL;
}

static int
grow (struct ulp_catalog *c)
{
  struct store *s = store_of (c);
  if (s && c->n < s->cap)
    return 0;
  size_t cap = s ? 2 * s->cap : 64;
  struct store *grown = realloc (s, sizeof *s + cap * sizeof *s->v);
  if (!grown)
    return ulp_fail ("out of memory");
  if (!s)
    memset (grown, 0, sizeof *grown);
  grown->cap = cap;
  c->v = grown->v;
  return 0;
}

/* The package build an entry is for: what ulp_catalog_add replaces.  */
static size_t
key_hash (const char *soname, const char *package, const char *evr,
          const char *arch)
{
  const char *parts[] = { soname, package, evr, arch };
  size_t h = 14695981039346656037u; /* FNV-1a */
  for (size_t i = 0; i < 4; i++)
    for (const char *p = parts[i];; p++) {
      h = (h ^ (unsigned char)*p) * 1099511628211u;
      if (!*p)
        break;
    }
  return h;
}

static size_t
entry_hash (const struct ulp_catalog_entry *e)
{
  return key_hash (e->soname, e->package, e->evr, e->arch);
}

/* The slot holding the entry for that package build, or the free slot
   where it would go.  */
static size_t *
slot_of (const struct ulp_catalog *c, const char *soname, const char *package,
         const char *evr, const char *arch)
{
  struct store *s = store_of (c);
  size_t mask = s->nslots - 1;
  for (size_t i = key_hash (soname, package, evr, arch) & mask;;
       i = (i + 1) & mask) {
    size_t *slot = &s->slots[i];
    const struct ulp_catalog_entry *e = *slot ? &c->v[*slot - 1] : NULL;
    if (!e
        || (strcmp (e->evr, evr) == 0 && strcmp (e->package, package) == 0
            && strcmp (e->arch, arch) == 0 && strcmp (e->soname, soname) == 0))
      return slot;
  }
}

/* Keeps the hash table at most half full.  */
static int
rehash (struct ulp_catalog *c)
{
  struct store *s = store_of (c);
  if (2 * (c->n + 1) <= s->nslots)
    return 0;
  size_t nslots = s->nslots ? 2 * s->nslots : 128;
  size_t *slots = calloc (nslots, sizeof *slots);
  if (!slots)
    return ulp_fail ("out of memory");
  free (s->slots);
  s->slots = slots;
  s->nslots = nslots;
  for (size_t i = 0; i < c->n; i++) {
    size_t mask = nslots - 1, j = entry_hash (&c->v[i]) & mask;
    while (slots[j])
      j = (j + 1) & mask;
    slots[j] = i + 1;
  }
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
    if (parse_line (p, &e) < 0 || add_checked (c, &e) < 0) {
      char why[256];
      snprintf (why, sizeof why, "%s", ulp_error ());
      rc = ulp_fail ("%s:%u: %s", path, lineno, why);
    }
  }
  fclose (f);
  if (rc == 0)
    index_builds (c);
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
        if (add_checked (c, &one.v[i]) < 0)
          break;
    ulp_catalog_free (&one);
  }
  closedir (d);
  index_builds (c);
  return 0;
}

void
ulp_catalog_free (struct ulp_catalog *c)
{
  struct store *s = store_of (c);
  if (s) {
    free (s->slots);
    free (s->by_build);
    free (s->order);
    free (s);
  }
  c->v = NULL;
  c->n = 0;
}

static void
drop_index (size_t **index)
{
  free (*index);
  *index = NULL;
}

/* ulp_catalog_add of an entry already checked.  */
static int
add_checked (struct ulp_catalog *c, const struct ulp_catalog_entry *e)
{
  if (grow (c) < 0 || rehash (c) < 0)
    return -1;
  struct store *s = store_of (c);
  drop_index (&s->by_build);
  size_t *slot = slot_of (c, e->soname, e->package, e->evr, e->arch);
  if (*slot) {
    c->v[*slot - 1] = *e;
    drop_index (&s->order); /* its build-ID may place it elsewhere */
    return 0;
  }
  c->v[c->n] = *e;
  *slot = ++c->n;
  if (s->order && insert_in_order (c, c->n - 1) < 0)
    drop_index (&s->order);
  return 0;
}

int
ulp_catalog_add (struct ulp_catalog *c, const struct ulp_catalog_entry *e)
{
  return ulp_catalog_check (e) < 0 ? -1 : add_checked (c, e);
}

static int
compare_entries (const struct ulp_catalog_entry *a,
                 const struct ulp_catalog_entry *b,
                 ulp_evr_compare sort_compare)
{
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

static int
compare_order (const void *pa, const void *pb, void *arg)
{
  const struct ulp_catalog *c = arg;
  return compare_entries (&c->v[*(const size_t *)pa],
                          &c->v[*(const size_t *)pb],
                          store_of (c)->order_compare);
}

static int
compare_build (const void *pa, const void *pb, void *arg)
{
  const struct ulp_catalog *c = arg;
  size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  int r = strcmp (c->v[a].build_id, c->v[b].build_id);
  return r ? r : (a > b) - (a < b); /* the first added is found */
}

/* 0, 1, ... N-1, sorted with COMPARE.  */
static size_t *
sorted_index (struct ulp_catalog *c,
              int (*compare) (const void *, const void *, void *))
{
  size_t *index = malloc ((c->n ? c->n : 1) * sizeof *index);
  if (!index)
    return NULL;
  for (size_t i = 0; i < c->n; i++)
    index[i] = i;
  qsort_r (index, c->n, sizeof *index, compare, c);
  return index;
}

/* Lookups by build-ID search this; without it (after an addition, or
   short of memory), they scan.  */
static void
index_builds (struct ulp_catalog *c)
{
  if (c->v && !store_of (c)->by_build)
    store_of (c)->by_build = sorted_index (c, compare_build);
}

/* Entry I, just added, goes into the written order by binary search: a
   download adds a build at a time to a catalog that can be large.  */
static int
insert_in_order (struct ulp_catalog *c, size_t i)
{
  struct store *s = store_of (c);
  size_t *order = realloc (s->order, s->cap * sizeof *order);
  if (!order)
    return -1;
  s->order = order;
  size_t lo = 0, hi = i;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (compare_order (&order[mid], &i, c) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  memmove (&order[lo + 1], &order[lo], (i - lo) * sizeof *order);
  order[lo] = i;
  return 0;
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
  if (grow (c) < 0) /* an empty catalog gets its store */
    return -1;
  struct store *s = store_of (c);
  if (!s->order || s->order_compare != compare) {
    drop_index (&s->order);
    s->order_compare = compare;
    s->order = sorted_index (c, compare_order);
    if (!s->order)
      return ulp_fail ("out of memory");
  }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&text, &len);
  if (!mem)
    return ulp_fail ("out of memory");
  fputs (HEADER, mem);
  for (size_t i = 0; i < c->n; i++) {
    char line[2048];
    ulp_catalog_format (&c->v[s->order[i]], line, sizeof line);
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

/* The first entry of BUILD_ID in the build-ID index.  */
static const struct ulp_catalog_entry *
search_builds (const struct ulp_catalog *c, const char *build_id)
{
  const size_t *by_build = store_of (c)->by_build;
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp (c->v[by_build[mid]].build_id, build_id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  const struct ulp_catalog_entry *e = lo < c->n ? &c->v[by_build[lo]] : NULL;
  return e && strcmp (e->build_id, build_id) == 0 ? e : NULL;
}

const struct ulp_catalog_entry *
ulp_catalog_find_build (const struct ulp_catalog *c, const char *build_id)
{
  if (c->v && store_of (c)->by_build)
    return search_builds (c, build_id);
  for (size_t i = 0; i < c->n; i++)
    if (strcmp (c->v[i].build_id, build_id) == 0)
      return &c->v[i];
  return NULL;
}

const struct ulp_catalog_entry *
ulp_catalog_find_package (const struct ulp_catalog *c, const char *package,
                          const char *evr, const char *arch, const char *soname)
{
  if (!c->v || !store_of (c)->nslots)
    return NULL;
  size_t *slot = slot_of (c, soname, package, evr, arch);
  return *slot ? &c->v[*slot - 1] : NULL;
}

/* NAME is BASE.ulpXXXXXX, the temporary file of atomic_file.c.  */
static int
temporary_of (const char *name, const char *base)
{
  size_t n = strlen (base);
  if (strncmp (name, base, n) != 0 || strncmp (name + n, ".ulp", 4) != 0)
    return 0;
  const char *tail = name + n + 4;
  if (strlen (tail) != 6)
    return 0;
  for (; *tail; tail++)
    if (!isalnum ((unsigned char)*tail))
      return 0;
  return 1;
}

/* Every writer holds the lock: what is left now was left by a killed one. */
static void
remove_stale (int dirfd, const char *base)
{
  int fd = dup (dirfd);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close (fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir (d)))
    if (temporary_of (de->d_name, base))
      unlinkat (dirfd, de->d_name, 0);
  closedir (d);
}

/* The directories this process holds locked, so that a second lock of
   one (a catalog kept among the libraries) does not wait for itself.  */
static struct
{
  dev_t dev;
  ino_t ino;
  int fd;
  unsigned count;
} held[8];

static int
lock_directory (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    return ulp_fail ("%s: %s", dir, strerror (saved));
  }
  for (size_t i = 0; i < sizeof held / sizeof *held; i++)
    if (held[i].count && held[i].dev == st.st_dev && held[i].ino == st.st_ino) {
      close (fd);
      held[i].count++;
      return held[i].fd;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf (stderr, "ulp-catalog: waiting for another writer in %s\n", dir);
    if (flock (fd, LOCK_EX) != 0) {
      int saved = errno;
      close (fd);
      return ulp_fail ("%s: cannot lock: %s", dir, strerror (saved));
    }
  }
  for (size_t i = 0; i < sizeof held / sizeof *held; i++)
    if (!held[i].count) {
      held[i].dev = st.st_dev;
      held[i].ino = st.st_ino;
      held[i].fd = fd;
      held[i].count = 1;
      break;
    }
  return fd;
}

int
ulp_catalog_lock (const char *path)
{
  char dir[4096];
  const char *slash = strrchr (path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!*base)
    return ulp_fail ("%s: not a file name", path);
  if (!slash)
    snprintf (dir, sizeof dir, ".");
  else
    snprintf (dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path),
              path);
  int fd = lock_directory (dir);
  if (fd >= 0)
    remove_stale (fd, base);
  return fd;
}

void
ulp_catalog_unlock (int fd)
{
  for (size_t i = 0; i < sizeof held / sizeof *held; i++)
    if (held[i].count && held[i].fd == fd && --held[i].count)
      return;
  close (fd);
}
