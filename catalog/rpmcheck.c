/* What librpm does for the catalog tool: version order, and the signature
   of a package held in memory against one OpenPGP key.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
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

/* The index of the regular file SONAME leads to, in the signed header's
   file list; -1 when it leads nowhere or to several files.  */
static int
signed_target (rpmfiles files, const char *soname)
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

/* The payload is not signed, only the header, which lists every file with
   its link target and digest: the library taken from the payload must be
   the file the signer's header leads to, with the signed content.  */
static const char *
unsigned_library (Header h, const char *soname, const char *path,
                  const struct buffer *content)
{
  rpmfiles files = rpmfilesNew (NULL, h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);
  int ix = files ? signed_target (files, soname) : -1;
  char *signed_path = ix >= 0 ? rpmfilesFN (files, ix) : NULL;
  int algo = 0;
  size_t len = 0;
  const unsigned char *want
      = ix >= 0 ? rpmfilesFDigest (files, ix, &algo, &len) : NULL;
  const char *why = NULL;
  if (!signed_path || strcmp (signed_path, path) != 0)
    why = "the payload's library is not the file the signed header names";
  else if (!want || !len || !strong_digest (algo))
    why = "the signed header lists no SHA-2 digest for the library";
  else {
    DIGEST_CTX ctx = rpmDigestInit (algo, RPMDIGEST_NONE);
    void *got = NULL;
    size_t got_len = 0;
    if (ctx) {
      rpmDigestUpdate (ctx, content->data, content->len);
      rpmDigestFinal (ctx, &got, &got_len, 0);
    }
    if (!got || got_len != len || memcmp (got, want, len) != 0)
      why = "the library in the payload does not match the signed header";
    free (got);
  }
  free (signed_path);
  rpmfilesFree (files);
  return why;
}

int
rpm_check_signature (const struct buffer *rpm, const char *key_file,
                     const char *label, const char *soname, const char *path,
                     const struct buffer *content)
{
  static int configured;
  if (!configured && rpmReadConfigFiles (NULL, NULL) == 0)
    configured = 1;
  rpmPubkey key = rpmPubkeyRead (key_file);
  if (!key)
    return ulp_fail ("%s: not an OpenPGP public key", key_file);
  rpmKeyring keyring = rpmKeyringNew ();
  rpmKeyringAddKey (keyring, key);
  rpmts ts = rpmtsCreate ();
  rpmtsSetKeyring (ts, keyring);
  rpmtsSetVfyLevel (ts, RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE);
  FD_t fd = memory_fd (rpm);
  Header h = NULL;
  rpmlogSetMask (RPMLOG_MASK (RPMLOG_EMERG)); /* we say what went wrong */
  rpmRC rc = fd ? rpmReadPackageFile (ts, fd, label, &h) : RPMRC_FAIL;
  const char *why = verdict (rc, h);
  if (!why)
    why = unsigned_library (h, soname, path, content);
  headerFree (h);
  if (fd)
    Fclose (fd);
  rpmtsFree (ts);
  rpmKeyringFree (keyring);
  rpmPubkeyFree (key);
  return why ? ulp_fail ("%s: %s", label, why) : 0;
}
