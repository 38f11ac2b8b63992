/* ulp-catalog: the parts of the catalog tool.  The catalog format itself is
   libpulp/lib/catalog.c, shared with ulp and the rpm plugin.  */
#ifndef ULP_CATALOG_TOOL_H
#define ULP_CATALOG_TOOL_H

#include <stddef.h>
#include <stdint.h>

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

/* rpmcheck.c: librpm.  RPM must carry a header signature made with the
   key in KEY_FILE; in its signed header, SONAME must lead (through its
   symbolic links) to the regular file PATH, and PATH must have a SHA-2
   digest equal to CONTENT's (the library as read from the payload).  */
int rpm_check_signature (const struct buffer *rpm, const char *key_file,
                         const char *label, const char *soname,
                         const char *path, const struct buffer *content);
int rpm_evr_compare (const char *a, const char *b);

/* The subcommands.  */
int cmd_download (int argc, char **argv);
int cmd_list (int argc, char **argv);
int cmd_lookup (int argc, char **argv);
int cmd_dist (int argc, char **argv);

#endif
