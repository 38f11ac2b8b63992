/* ulp-catalog: the parts of the catalog tool.  The catalog format itself is
   libpulp/lib/catalog.c, shared with ulp and the rpm plugin.  */
#ifndef ULP_CATALOG_TOOL_H
#define ULP_CATALOG_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct buffer
{
  uint8_t *data;
  size_t len;
};

/* fetch.c: URL (file://, http://, https://) into memory.  PROGRESS shows a
   progress line on stderr while a large download runs.  */
int fetch_url (const char *url, struct buffer *out, int progress);
void buffer_free (struct buffer *b);
/* A memory file holding B, positioned at its start, or -1: for libraries
   that read from file descriptors.  */
int buffer_memfd (const struct buffer *b, const char *name);
/* BASE joined with a relative LOCATION.  */
char *url_join (const char *base, const char *location);

/* repo.c: the packages NAME (of ARCH, or any but source) listed in the
   repository metadata at URL, read with libsolv.  */
struct repo_package
{
  char *name, *evr, *arch; /* evr as EPOCH:VERSION-RELEASE */
  char *location;          /* relative to the repository URL */
  char sha256[65];         /* of the package file, from the metadata */
};
int repo_list_packages (const char *url, const char *name, const char *arch,
                        struct repo_package **out, size_t *n);
void repo_packages_free (struct repo_package *p, size_t n);

/* payload.c: the library SONAME inside an RPM held in memory, read with
   libarchive (symbolic links inside the package are followed).  */
int payload_extract (const struct buffer *rpm, const char *soname,
                     struct buffer *library, char *path, size_t path_size);

/* How many symbolic links the library's name may go through.  */
#define MAX_SYMLINK_HOPS 8

/* "/usr/lib64/../lib/./x" -> "/usr/lib/x", in place; PATH is absolute.
   Packages list their files by such plain paths.  */
void path_normalize (char *path);
/* Where the symbolic link FROM, holding LINK, points: a plain absolute
   path in OUT.  */
void link_target (const char *from, const char *link, char *out, size_t size);

/* rpmcheck.c: librpm.  The header of the package RPM (LABEL names it in
   errors), read after checking the header's digests, the payload against
   the payload digest the header carries (packages from rpm 4.14 on), and
   with KEY_FILE, a header signature made with that OpenPGP key (unsigned
   packages are refused then).  NULL with an error when a check fails.  */
struct rpm_header;
struct rpm_header *rpm_check_package (const struct buffer *rpm,
                                      const char *key_file, const char *label);
/* In H's file list, SONAME must lead (through its symbolic links) to the
   regular file PATH, and PATH's digest must be CONTENT's (the library as
   read from the payload); a SHA-2 digest when H was checked with a key. */
int rpm_check_library (const struct rpm_header *h, const char *label,
                       const char *soname, const char *path,
                       const struct buffer *content);
void rpm_header_free (struct rpm_header *h);
int rpm_evr_compare (const char *a, const char *b);
/* The architecture rpm installs on this machine ("x86_64").  */
const char *rpm_machine_arch (void);

/* ulp-catalog.c: the usage of subcommand NAME (all of them when NULL).  */
void catalog_usage (const char *name, FILE *out);

/* The subcommands.  */
int cmd_download (int argc, char **argv);
int cmd_list (int argc, char **argv);
int cmd_lookup (int argc, char **argv);
int cmd_dist (int argc, char **argv);

#endif
