/* Repository metadata (repomd.xml, then the primary file it names) read
   with libsolv.  Both files are checked: primary against the digest in
   repomd.xml; the packages' digests are returned for the caller to check. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/solv_xfopen.h>
#include <solv/solvable.h>

#include "error.h"
#include "tool.h"

static void
hex (const unsigned char *bytes, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * n] = '\0';
}

static void
sha256_hex (const struct buffer *b, char out[65])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest (b->data, b->len, md, &n, EVP_sha256 (), NULL);
  hex (md, 32, out);
}

/* Location and SHA-256 of the primary metadata named by repomd.xml.  */
static int
find_primary (Repo *repo, const char **location, char sha256[65])
{
  Pool *pool = repo->pool;
  Dataiterator di;
  int found = 0;
  dataiterator_init (&di, pool, repo, SOLVID_META, REPOSITORY_REPOMD_TYPE,
                     "primary", SEARCH_STRING);
  dataiterator_prepend_keyname (&di, REPOSITORY_REPOMD);
  if (dataiterator_step (&di)) {
    dataiterator_setpos_parent (&di);
    Id type = 0;
    const unsigned char *sum = pool_lookup_bin_checksum (
        pool, SOLVID_POS, REPOSITORY_REPOMD_CHECKSUM, &type);
    *location = pool_lookup_str (pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
    if (*location && sum && type == REPOKEY_TYPE_SHA256) {
      hex (sum, 32, sha256);
      found = 1;
    } else if (*location && sum)
      found = -1;
  }
  dataiterator_free (&di);
  if (found < 0)
    return ulp_fail ("repomd.xml: the primary metadata's checksum is not "
                     "SHA-256");
  return found ? 0 : ulp_fail ("repomd.xml names no primary metadata");
}

/* A stream of B, decompressed by libsolv according to NAME's suffix
   (.gz, .xz, .zst, .bz2); libsolv decompresses file descriptors, so B goes
   into a memory file.  */
static FILE *
open_compressed (const char *name, const struct buffer *b)
{
  int fd = buffer_memfd (b, "metadata");
  if (fd < 0)
    return NULL;
  FILE *f = solv_xfopen_fd (name, fd, "r");
  if (!f)
    close (fd);
  return f;
}

static int
add_xml (Repo *repo, const char *name, struct buffer *b, int primary)
{
  FILE *f = open_compressed (name, b);
  if (!f)
    return ulp_fail ("%s: cannot read", name);
  int rc = primary ? repo_add_rpmmd (repo, f, NULL, 0)
                   : repo_add_repomdxml (repo, f, 0);
  fclose (f);
  if (rc != 0)
    return ulp_fail ("%s: %s", name, pool_errstr (repo->pool));
  return 0;
}

static int
load_metadata (Repo *repo, const char *url)
{
  char *repomd_url = url_join (url, "repodata/repomd.xml");
  struct buffer b = { 0 };
  int rc = repomd_url && fetch_url (repomd_url, &b, 0) == 0
               ? add_xml (repo, "repomd.xml", &b, 0)
               : -1;
  free (repomd_url);
  buffer_free (&b);
  if (rc < 0)
    return -1;
  const char *location = NULL;
  char want[65], have[65];
  if (find_primary (repo, &location, want) < 0)
    return -1;
  char *loc = strdup (location);
  char *primary_url = loc ? url_join (url, loc) : NULL;
  rc = primary_url ? fetch_url (primary_url, &b, 1) : ulp_fail ("no memory");
  if (rc == 0) {
    sha256_hex (&b, have);
    if (strcmp (have, want) != 0)
      rc = ulp_fail ("%s: checksum mismatch with repomd.xml (stale or "
                     "tampered metadata)",
                     primary_url);
    else
      rc = add_xml (repo, loc, &b, 1);
  }
  free (primary_url);
  free (loc);
  buffer_free (&b);
  return rc;
}

/* libsolv leaves out a zero epoch: the catalog always has one.  */
static char *
full_evr (const char *evr)
{
  char *out;
  const char *colon = strchr (evr, ':');
  if (asprintf (&out, "%s%s", colon ? "" : "0:", evr) < 0)
    return NULL;
  return out;
}

static int
add_package (Solvable *s, struct repo_package **out, size_t *n)
{
  Pool *pool = s->repo->pool;
  Id type = 0;
  const unsigned char *sum
      = solvable_lookup_bin_checksum (s, SOLVABLE_CHECKSUM, &type);
  const char *location = solvable_lookup_location (s, NULL);
  const char *nevra = pool_solvable2str (pool, s);
  if (!location)
    return ulp_fail ("%s: no location in the metadata", nevra);
  if (!sum || type != REPOKEY_TYPE_SHA256)
    return ulp_fail ("%s: the metadata has no SHA-256 checksum", nevra);
  struct repo_package *grown = realloc (*out, (*n + 1) * sizeof **out);
  if (!grown)
    return ulp_fail ("out of memory");
  *out = grown;
  struct repo_package *p = &grown[(*n)++];
  p->name = strdup (pool_id2str (pool, s->name));
  p->evr = full_evr (pool_id2str (pool, s->evr));
  p->arch = strdup (pool_id2str (pool, s->arch));
  p->location = strdup (location);
  hex (sum, 32, p->sha256);
  return p->name && p->evr && p->arch && p->location ? 0
                                                     : ulp_fail ("no memory");
}

static int
wanted (Pool *pool, Solvable *s, const char *name, const char *arch)
{
  const char *a = pool_id2str (pool, s->arch);
  if (strcmp (pool_id2str (pool, s->name), name) != 0)
    return 0;
  if (arch)
    return strcmp (a, arch) == 0;
  return strcmp (a, "src") != 0 && strcmp (a, "nosrc") != 0;
}

int
repo_list_packages (const char *url, const char *name, const char *arch,
                    struct repo_package **out, size_t *n)
{
  Pool *pool = pool_create ();
  Repo *repo = repo_create (pool, "catalog");
  *out = NULL;
  *n = 0;
  int rc = load_metadata (repo, url);
  if (rc == 0) {
    repo_internalize (repo);
    Id p;
    Solvable *s;
    FOR_REPO_SOLVABLES (repo, p, s)
    if (rc == 0 && wanted (pool, s, name, arch))
      rc = add_package (s, out, n);
  }
  pool_free (pool);
  if (rc < 0) {
    repo_packages_free (*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

void
repo_packages_free (struct repo_package *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free (p[i].name);
    free (p[i].evr);
    free (p[i].arch);
    free (p[i].location);
  }
  free (p);
}
