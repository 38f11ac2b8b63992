/* The build-ID catalog: which package version shipped which build of a
   library.  Text, one entry a line, fields separated by one space:

     SONAME BUILD-ID PACKAGE EPOCH:VERSION-RELEASE ARCH sha256:DIGEST PATH

   (DIGEST of the package file, PATH of the library inside it), sorted, with
   '#' comment lines.  The catalog tool writes it; ulp patches and the rpm
   plugin read it to name the package behind a running build.  */
#ifndef ULP_CATALOG_H
#define ULP_CATALOG_H

#include <stddef.h>

#define ULP_DEFAULT_CATALOG_DIR "/usr/share/ulp/catalog"

struct ulp_catalog_entry
{
  char soname[128];
  char build_id[129]; /* lowercase hex */
  char package[128];
  char evr[128];
  char arch[32];
  char checksum[80];
  char path[512];
};

/* Orders versions: rpm's comparison in the catalog tool; NULL compares
   them as strings.  */
typedef int (*ulp_evr_compare) (const char *a, const char *b);

/* Starts as { NULL, 0 }.  V holds the entries in the order they were
   added.  The indexes that keep additions and lookups cheap (a catalog can
   hold hundreds of thousands of builds) are kept by catalog.c out of
   sight, in V's allocation: only these functions may change V or N.  */
struct ulp_catalog
{
  struct ulp_catalog_entry *v;
  size_t n;
};

/* Adds the entries of PATH to C, as ulp_catalog_add does; a missing file
   is an empty catalog.  A malformed line is an error naming the file and
   line, and C may then hold some of the file's entries.  */
int ulp_catalog_read (const char *path, struct ulp_catalog *c);
/* Every *.catalog of DIR ($ULP_CATALOG_DIR when NULL, else the default
   above); files that cannot be read are passed over.  */
int ulp_catalog_read_dir (const char *dir, struct ulp_catalog *c);
void ulp_catalog_free (struct ulp_catalog *c);

/* Checks E's fields: -1 with an error naming the bad one.  */
int ulp_catalog_check (const struct ulp_catalog_entry *e);
/* Checks E's fields; adds it, replacing an entry for the same package
   build (package, EVR, arch, soname).  */
int ulp_catalog_add (struct ulp_catalog *c, const struct ulp_catalog_entry *e);

/* Writes C sorted (soname, package, arch, version) to PATH atomically.  */
int ulp_catalog_write (const char *path, struct ulp_catalog *c,
                       ulp_evr_compare compare);

/* The writer's lock of the file PATH (a catalog, or a library the catalog
   tool stores): an exclusive flock on its directory, waited for (with a
   note on stderr) while another process holds it; this process may take
   it again.  Under it, the temporary files that a killed writer left
   beside PATH (PATH.ulpXXXXXX) are removed.  Returns the descriptor to
   give to ulp_catalog_unlock, or -1.  */
int ulp_catalog_lock (const char *path);
void ulp_catalog_unlock (int fd);

const struct ulp_catalog_entry *
ulp_catalog_find_build (const struct ulp_catalog *c, const char *build_id);
const struct ulp_catalog_entry *
ulp_catalog_find_package (const struct ulp_catalog *c, const char *package,
                          const char *evr, const char *arch,
                          const char *soname);

/* NAME-VERSION-RELEASE.ARCH as rpm shows it (the epoch only when not 0). */
void ulp_catalog_nevra (const struct ulp_catalog_entry *e, char *out,
                        size_t size);

/* One entry as a catalog line, without the newline.  */
void ulp_catalog_format (const struct ulp_catalog_entry *e, char *out,
                         size_t size);

#endif
