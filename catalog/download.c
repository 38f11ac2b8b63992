/* ulp-catalog download: every version of a package in a repository, its
   library extracted for building against and entered in the catalog.  */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "catalog.h"
#include "elffile.h"
#include "clock.h"
#include "error.h"
#include "tool.h"

struct options
{
  const char *repo, *package, *library, *arch, *dest, *catalog, *key;
  char default_catalog[300];
};

struct tally
{
  size_t added, current, failed, foreign;
  size_t unsaved;  /* added since the catalog was last written */
  double saved_at; /* when, in seconds */
  int save_failed;
};

/* How often the catalog is rewritten while packages are added: a large
   one takes a while to write, and a killed run costs only the entries of
   the last seconds (their packages are fetched again next time).  */
#define SAVE_INTERVAL 2.0

static int
usage (void)
{
  catalog_usage ("download", stderr);
  return 2;
}

static int
parse (int argc, char **argv, struct options *o)
{
  static const struct option opts[]
      = { { "repo", required_argument, NULL, 'r' },
          { "package", required_argument, NULL, 'p' },
          { "library", required_argument, NULL, 'l' },
          { "arch", required_argument, NULL, 'a' },
          { "dest", required_argument, NULL, 'd' },
          { "catalog", required_argument, NULL, 'c' },
          { "key", required_argument, NULL, 'k' },
          { NULL, 0, NULL, 0 } };
  int c;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    const char **slot = c == 'r'   ? &o->repo
                        : c == 'p' ? &o->package
                        : c == 'l' ? &o->library
                        : c == 'a' ? &o->arch
                        : c == 'd' ? &o->dest
                        : c == 'c' ? &o->catalog
                        : c == 'k' ? &o->key
                                   : NULL;
    if (!slot)
      return -1;
    *slot = optarg;
  }
  if (optind != argc || !o->repo || !o->package || !o->library
      || strchr (o->library, '/'))
    return -1;
  if (!o->dest)
    o->dest = "libs";
  if (!o->catalog) {
    snprintf (o->default_catalog, sizeof o->default_catalog, "%s.catalog",
              o->package);
    o->catalog = o->default_catalog;
  }
  return 0;
}

/* "1:2.36-9" -> "2.36-9".  */
static const char *
version_release (const char *evr)
{
  const char *colon = strchr (evr, ':');
  return colon ? colon + 1 : evr;
}

/* The directory a build is kept in: VERSION-RELEASE.ARCH as in rpm's file
   names, the epoch first when not 0 ("1-2.36-9.x86_64"): no colon, which
   make and library search paths would take for a separator.  Version and
   release hold no '-', so the name is still read one way only.  */
static void
library_path (const struct options *o, const struct repo_package *p, char *out,
              size_t size)
{
  const char *vr = version_release (p->evr);
  int epoch = vr != p->evr && strncmp (p->evr, "0:", 2) != 0;
  snprintf (out, size, "%s/%.*s%s%s.%s/%s", o->dest,
            epoch ? (int)(vr - p->evr - 1) : 0, p->evr, epoch ? "-" : "", vr,
            p->arch, o->library);
}

static int
build_id_of (uint8_t *image, size_t len, const char *name, char *hex)
{
  struct ulp_elf *e = ulp_elf_open_memory (image, len, name);
  if (!e)
    return -1; /* why is said: not ELF, not x86-64, ... */
  uint8_t id[64];
  size_t n = 0;
  int rc = ulp_elf_build_id (e, id, sizeof id, &n);
  ulp_elf_close (e);
  if (rc < 0 || n == 0)
    return ulp_fail ("%s: no GNU build-ID", name);
  ulp_hex (id, n, hex);
  return 0;
}

/* Already cataloged, and the library is there with that build-ID.  */
static int
up_to_date (const struct options *o, const struct ulp_catalog *cat,
            const struct repo_package *p)
{
  const struct ulp_catalog_entry *e
      = ulp_catalog_find_package (cat, p->name, p->evr, p->arch, o->library);
  if (!e || strcmp (e->checksum + 7, p->sha256) != 0)
    return 0;
  char path[4096], hex[129];
  library_path (o, p, path, sizeof path);
  struct ulp_elf *elf = ulp_elf_open (path);
  uint8_t id[64];
  size_t n = 0;
  int same = elf && ulp_elf_build_id (elf, id, sizeof id, &n) == 0 && n;
  if (elf)
    ulp_elf_close (elf);
  if (same) {
    ulp_hex (id, n, hex);
    same = strcmp (hex, e->build_id) == 0;
  }
  ulp_clear_error ();
  return same;
}

static int
make_dirs (const char *path)
{
  char buf[4096];
  snprintf (buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir (buf, 0755) != 0 && errno != EEXIST)
        return ulp_fail ("%s: %s", buf, strerror (errno));
      *p = '/';
    }
  return 0;
}

static int
check_digest (const struct buffer *rpm, const struct repo_package *p)
{
  unsigned char md[32];
  unsigned int n = 0;
  char hex[65];
  EVP_Digest (rpm->data, rpm->len, md, &n, EVP_sha256 (), NULL);
  ulp_hex (md, 32, hex);
  if (strcmp (hex, p->sha256) != 0)
    return ulp_fail ("%s: checksum mismatch (the metadata says sha256:%s, "
                     "the file is sha256:%s)",
                     p->location, p->sha256, hex);
  return 0;
}

/* Under the lock of its directory, which also clears what a killed
   writer left there (downloads for other catalogs may share DEST).  */
static int
store_library (const char *file, const struct buffer *lib)
{
  int lock = ulp_catalog_lock (file);
  if (lock < 0)
    return -1;
  int rc = ulp_file_replace (file, lib->data, lib->len, 0644);
  ulp_catalog_unlock (lock);
  return rc;
}

/* The library of a fetched package, checked: the package against the
   metadata, its header (and signature with --key) and payload against the
   digests rpm records, and the library against the header's file list.  */
static int
checked_library (const struct options *o, const struct repo_package *p,
                 const struct buffer *rpm, struct buffer *lib,
                 struct ulp_catalog_entry *e)
{
  if (check_digest (rpm, p) < 0)
    return -1;
  struct rpm_header *h = rpm_check_package (rpm, o->key, p->location);
  int rc = h ? payload_extract (rpm, o->library, lib, e->path, sizeof e->path)
             : -1;
  if (rc == 0)
    rc = rpm_check_library (h, p->location, o->library, e->path, lib);
  rpm_header_free (h);
  return rc;
}

/* Fetches and checks one package, stores its library and catalogs it.  */
static int
add_build (const struct options *o, struct ulp_catalog *cat,
           const struct repo_package *p)
{
  struct buffer rpm = { 0 }, lib = { 0 };
  struct ulp_catalog_entry e = { 0 };
  char *url = url_join (o->repo, p->location);
  char file[4096];
  int rc = url ? fetch_url (url, &rpm, 1) : ulp_fail ("out of memory");
  if (rc == 0)
    rc = checked_library (o, p, &rpm, &lib, &e);
  if (rc == 0)
    rc = build_id_of (lib.data, lib.len, e.path, e.build_id);
  snprintf (e.soname, sizeof e.soname, "%s", o->library);
  snprintf (e.package, sizeof e.package, "%s", p->name);
  snprintf (e.evr, sizeof e.evr, "%s", p->evr);
  snprintf (e.arch, sizeof e.arch, "%s", p->arch);
  snprintf (e.checksum, sizeof e.checksum, "sha256:%s", p->sha256);
  /* The metadata names the directory the library goes to: checked first. */
  if (rc == 0)
    rc = ulp_catalog_check (&e);
  library_path (o, p, file, sizeof file);
  if (rc == 0)
    rc = make_dirs (file);
  if (rc == 0)
    rc = store_library (file, &lib);
  if (rc == 0)
    rc = ulp_catalog_add (cat, &e);
  if (rc == 0)
    printf ("%s-%s.%s: build-ID %s -> %s\n", p->name, version_release (p->evr),
            p->arch, e.build_id, file);
  free (url);
  buffer_free (&rpm);
  buffer_free (&lib);
  return rc;
}

static int
by_version (const void *a, const void *b)
{
  const struct repo_package *x = a, *y = b;
  int r = strcmp (x->arch, y->arch);
  return r ? r : rpm_evr_compare (x->evr, y->evr);
}

/* Without --arch, what rpm would install here: the machine's
   architecture, or noarch.  */
static int
foreign (const struct options *o, const struct repo_package *p)
{
  return !o->arch && strcmp (p->arch, rpm_machine_arch ()) != 0
         && strcmp (p->arch, "noarch") != 0;
}

/* Writes what was added, unless the last write is recent and LAST is 0. */
static void
save (const struct options *o, struct ulp_catalog *cat, struct tally *t,
      int last)
{
  if (!t->unsaved || (!last && ulp_now () - t->saved_at < SAVE_INTERVAL))
    return;
  if (ulp_catalog_write (o->catalog, cat, rpm_evr_compare) < 0) {
    fprintf (stderr, "ulp-catalog: %s\n", ulp_error ());
    t->save_failed = 1;
  }
  t->unsaved = 0;
  t->saved_at = ulp_now ();
}

static void
process (const struct options *o, struct ulp_catalog *cat,
         const struct repo_package *p, struct tally *t)
{
  if (foreign (o, p)) {
    fprintf (stderr,
             "ulp-catalog: note: %s-%s.%s passed over: not for this "
             "machine's %s (--arch chooses)\n",
             p->name, version_release (p->evr), p->arch, rpm_machine_arch ());
    t->foreign++;
    return;
  }
  if (up_to_date (o, cat, p)) {
    t->current++;
    return;
  }
  if (add_build (o, cat, p) == 0) {
    t->added++;
    t->unsaved++;
    save (o, cat, t, 0);
    return;
  }
  fprintf (stderr, "ulp-catalog: %s-%s.%s: %s\n", p->name,
           version_release (p->evr), p->arch, ulp_error ());
  t->failed++;
}

int
cmd_download (int argc, char **argv)
{
  struct options o = { 0 };
  if (parse (argc, argv, &o) < 0)
    return usage ();
  struct ulp_catalog cat = { 0 };
  struct repo_package *pkgs;
  size_t n;
  int lock = ulp_catalog_lock (o.catalog);
  if (lock < 0 || ulp_catalog_read (o.catalog, &cat) < 0
      || repo_list_packages (o.repo, o.package, o.arch, &pkgs, &n) < 0) {
    fprintf (stderr, "ulp-catalog: %s\n", ulp_error ());
    ulp_catalog_free (&cat);
    if (lock >= 0)
      ulp_catalog_unlock (lock);
    return 1;
  }
  qsort (pkgs, n, sizeof *pkgs, by_version);
  struct tally t = { .saved_at = ulp_now () };
  for (size_t i = 0; i < n; i++)
    process (&o, &cat, &pkgs[i], &t);
  save (&o, &cat, &t, 1);
  size_t versions = n - t.foreign;
  if (versions == 0)
    fprintf (stderr, "ulp-catalog: %s: no package %s for %s\n", o.repo,
             o.package, o.arch ? o.arch : rpm_machine_arch ());
  printf ("%s: %zu versions: %zu new, %zu up to date, %zu failed\n", o.catalog,
          versions, t.added, t.current, t.failed);
  repo_packages_free (pkgs, n);
  ulp_catalog_free (&cat);
  ulp_catalog_unlock (lock);
  return t.failed || t.save_failed || versions == 0 ? 1 : 0;
}
