/* What librpm does for the catalog tool: version order, the machine's
   architecture, and the checks of a package held in memory: its header's
   digests (and signature, against one OpenPGP key), its payload against
   the header's payload digest, and the library against the header's file
   digest.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmcrypto.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>
#include <rpm/rpmver.h>

#include "error.h"
#include "tool.h"

int
rpm_evr_compare (const char *a, const char *b)
{
  rpmver va = rpmverParse (a), vb = rpmverParse (b);
  int r = va && vb ? rpmverCmp (va, vb) : 0;
  rpmverFree (va);
  rpmverFree (vb);
  return r;
}

/* librpm reads packages from an FD_t: a memory file, nothing on disk.  */
static FD_t
memory_fd (const struct buffer *b)
{
  int fd = buffer_memfd (b, "package");
  if (fd < 0)
    return NULL;
  FD_t f = fdDup (fd);
  close (fd);
  return f;
}

struct rpm_header
{
  Header h;
  int keyed; /* checked against a key: the header is signed */
};

static void
configure (void)
{
  static int configured;
  if (!configured && rpmReadConfigFiles (NULL, NULL) == 0)
    configured = 1;
}

const char *
rpm_machine_arch (void)
{
  const char *arch = NULL;
  configure ();
  rpmGetArchInfo (&arch, NULL);
  return arch && *arch ? arch : "x86_64";
}

/* rpm reports an unsigned package as fine: a key was given, so a package
   needs a header signature made with it.  The older header+payload
   signatures are not checked when only the header is read.  */
static int
signed_package (Header h)
{
  return h
         && (headerIsEntry (h, RPMTAG_RSAHEADER)
             || headerIsEntry (h, RPMTAG_DSAHEADER));
}

static const char *
verdict (rpmRC rc, Header h)
{
  switch (rc) {
  case RPMRC_OK:
    return signed_package (h) ? NULL : "not signed (no header signature)";
  case RPMRC_NOKEY:
    return "signed with a key other than the one given";
  case RPMRC_NOTTRUSTED:
    return "signed with an untrusted key";
  case RPMRC_NOTFOUND:
    return "not an RPM package";
  default:
    return "bad or missing signature";
  }
}

/* Without a key, only the header's digests count: a signature made with
   a key nobody gave is not a fault.  */
static const char *
verdict_unkeyed (rpmRC rc)
{
  switch (rc) {
  case RPMRC_OK:
  case RPMRC_NOKEY:
  case RPMRC_NOTTRUSTED:
    return NULL;
  case RPMRC_NOTFOUND:
    return "not an RPM package";
  default:
    return "corrupt package header (its digest does not match)";
  }
}

/* The digest ALGO of LEN bytes at DATA (to free), as lowercase hex with
   HEX, else in *SIZE bytes.  */
static void *
digest (int algo, const void *data, size_t len, int hex, size_t *size)
{
  DIGEST_CTX ctx = rpmDigestInit (algo, RPMDIGEST_NONE);
  void *out = NULL;
  if (ctx) {
    rpmDigestUpdate (ctx, data, len);
    rpmDigestFinal (ctx, &out, size, hex);
  }
  return out;
}

/* The payload is everything after the header (rpm 4.14 and later record
   its digest there; older packages have only the file digests).  */
static const char *
payload_mismatch (Header h, const struct buffer *rpm, off_t payload)
{
  struct rpmtd_s td;
  if (!headerGet (h, RPMTAG_PAYLOADDIGEST, &td, HEADERGET_MINMEM))
    return NULL;
  const char *want = rpmtdNextString (&td);
  int algo = (int)headerGetNumber (h, RPMTAG_PAYLOADDIGESTALGO);
  const char *why = NULL;
  char *have = NULL;
  if (payload < 0 || (size_t)payload > rpm->len)
    why = "corrupt package: cannot find its payload";
  else if (!want
           || !(have = digest (algo, rpm->data + payload,
                               rpm->len - (size_t)payload, 1, NULL)))
    why = "the header's payload digest is of an unknown kind";
  else if (strcasecmp (want, have) != 0)
    why = "corrupt package: the payload does not match the payload digest "
          "in its header";
  free (have);
  rpmtdFreeData (&td);
  return why;
}

struct rpm_header *
rpm_check_package (const struct buffer *rpm, const char *key_file,
                   const char *label)
{
  configure ();
  rpmPubkey key = key_file ? rpmPubkeyRead (key_file) : NULL;
  if (key_file && !key) {
    ulp_fail ("%s: not an OpenPGP public key", key_file);
    return NULL;
  }
  /* Only KEY: an empty keyring keeps librpm from loading the rpmdb's.  */
  rpmKeyring keyring = rpmKeyringNew ();
  if (key)
    rpmKeyringAddKey (keyring, key);
  rpmts ts = rpmtsCreate ();
  rpmtsSetKeyring (ts, keyring);
  rpmtsSetVfyLevel (ts, key ? RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE
                            : RPMSIG_DIGEST_TYPE);
  FD_t fd = memory_fd (rpm);
  Header h = NULL;
  rpmlogSetMask (RPMLOG_MASK (RPMLOG_EMERG)); /* we say what went wrong */
  rpmRC rc = fd ? rpmReadPackageFile (ts, fd, label, &h) : RPMRC_FAIL;
  const char *why = key ? verdict (rc, h) : verdict_unkeyed (rc);
  if (!why)
    why = payload_mismatch (h, rpm, Ftell (fd));
  if (fd)
    Fclose (fd);
  rpmtsFree (ts);
  rpmKeyringFree (keyring);
  rpmPubkeyFree (key);
  struct rpm_header *out = why ? NULL : calloc (1, sizeof *out);
  if (!out) {
    headerFree (h);
    ulp_fail ("%s: %s", label, why ? why : "out of memory");
    return NULL;
  }
  out->h = h;
  out->keyed = key_file != NULL;
  return out;
}

void
rpm_header_free (struct rpm_header *h)
{
  if (h) {
    headerFree (h->h);
    free (h);
  }
}

/* The index of the regular file SONAME leads to, in the header's file
   list; -1 when it leads nowhere or to several files.  */
static int
header_target (rpmfiles files, const char *soname)
{
  int ix = -1;
  for (int i = 0; i < (int)rpmfilesFC (files); i++)
    if (strcmp (rpmfilesBN (files, i), soname) == 0) {
      if (ix >= 0)
        return -1;
      ix = i;
    }
  for (int hops = 0; ix >= 0 && S_ISLNK (rpmfilesFMode (files, ix)); hops++) {
    const char *link = rpmfilesFLink (files, ix);
    char *from = rpmfilesFN (files, ix), target[4096];
    if (hops == MAX_SYMLINK_HOPS || !link || !*link || !from) {
      free (from);
      return -1;
    }
    link_target (from, link, target, sizeof target);
    free (from);
    ix = rpmfilesFindFN (files, target);
  }
  return ix >= 0 && S_ISREG (rpmfilesFMode (files, ix)) ? ix : -1;
}

static int
strong_digest (int algo)
{
  return algo == PGPHASHALGO_SHA256 || algo == PGPHASHALGO_SHA384
         || algo == PGPHASHALGO_SHA512;
}

/* The header lists every file with its link target and digest: the
   library taken from the payload must be the file the header leads to,
   with that digest.  With a key, the header is the signed part and the
   digest must be SHA-2; without, the digest catches corruption.  */
static void
library_mismatch (const struct rpm_header *rh, const char *soname,
                  const char *path, const struct buffer *content, char *why,
                  size_t size)
{
  const char *header = rh->keyed ? "the signed header" : "the header";
  rpmfiles files
      = rpmfilesNew (NULL, rh->h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);
  int ix = files ? header_target (files, soname) : -1;
  char *header_path = ix >= 0 ? rpmfilesFN (files, ix) : NULL;
  int algo = 0;
  size_t len = 0;
  const unsigned char *want
      = ix >= 0 ? rpmfilesFDigest (files, ix, &algo, &len) : NULL;
  size_t have_len = 0;
  void *have
      = want ? digest (algo, content->data, content->len, 0, &have_len) : NULL;
  *why = '\0';
  if (!header_path || strcmp (header_path, path) != 0)
    snprintf (why, size, "the payload's library is not the file %s names",
              header);
  else if (!want || !len || (rh->keyed && !strong_digest (algo)))
    snprintf (why, size, "%s lists no %sdigest for the library", header,
              rh->keyed ? "SHA-2 " : "");
  else if (!have || have_len != len || memcmp (have, want, len) != 0)
    snprintf (why, size, "%sthe library in the payload does not match %s",
              rh->keyed ? "" : "corrupt package: ", header);
  free (have);
  free (header_path);
  rpmfilesFree (files);
}

int
rpm_check_library (const struct rpm_header *h, const char *label,
                   const char *soname, const char *path,
                   const struct buffer *content)
{
  char why[200];
  library_mismatch (h, soname, path, content, why, sizeof why);
  return *why ? ulp_fail ("%s: %s", label, why) : 0;
}
