/* The live patches of libcrypto for the livepatchable OpenSSL of
   ../build.sh, written for this project.

   CVE-2023-0286: an x400Address is parsed as an ASN1_STRING; the
   vulnerable GENERAL_NAME_cmp compares it as an ASN1_TYPE, reading the
   string's length as a type and its bytes as pointers.  The fix compares
   it as the string it is.  The library's own helper for EDI party names
   is static and inlined into its only caller (no symbol of it is left in
   the build), so the patch carries its own.

   X509_check_host with an embedded NUL in the name to check: the build
   checks such a name against the certificate instead of refusing it as
   malformed (-2), which OpenSSL does.  The fix refuses it, then hands the
   rest to the library's own checker, do_x509_check: a static function
   that the build keeps (in .symtab only), reached through a reference
   (livepatch.map: #do_x509_check:do_x509_check_ref).  */
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

static int
edi_party_names_differ (const EDIPARTYNAME *a, const EDIPARTYNAME *b)
{
  if (a == NULL || b == NULL)
    return -1;
  if ((a->nameAssigner == NULL) != (b->nameAssigner == NULL))
    return a->nameAssigner == NULL ? -1 : 1;
  if (a->nameAssigner != NULL) {
    int order = ASN1_STRING_cmp (a->nameAssigner, b->nameAssigner);
    if (order != 0)
      return order;
  }
  if (a->partyName == NULL || b->partyName == NULL)
    return -1;
  return ASN1_STRING_cmp (a->partyName, b->partyName);
}

int
GENERAL_NAME_cmp_fixed (GENERAL_NAME *a, GENERAL_NAME *b)
{
  if (a == NULL || b == NULL || a->type != b->type)
    return -1;
  switch (a->type) {
  case GEN_X400:
    return ASN1_STRING_cmp ((ASN1_STRING *)a->d.x400Address,
                            (ASN1_STRING *)b->d.x400Address);
  case GEN_EDIPARTY:
    return edi_party_names_differ (a->d.ediPartyName, b->d.ediPartyName);
  case GEN_OTHERNAME:
    return OTHERNAME_cmp (a->d.otherName, b->d.otherName);
  case GEN_EMAIL:
  case GEN_DNS:
  case GEN_URI:
    return ASN1_STRING_cmp (a->d.ia5, b->d.ia5);
  case GEN_DIRNAME:
    return X509_NAME_cmp (a->d.dirn, b->d.dirn);
  case GEN_IPADD:
    return ASN1_OCTET_STRING_cmp (a->d.ip, b->d.ip);
  case GEN_RID:
    return OBJ_cmp (a->d.rid, b->d.rid);
  }
  return -1;
}

/* Filled by the tool with the address of the library's do_x509_check.  */
int (*do_x509_check_ref) (X509 *x, const char *check, size_t length,
                          unsigned int flags, int type, char **peername);

int
X509_check_host_fixed (X509 *x, const char *host, size_t length,
                       unsigned int flags, char **peername)
{
  if (host == NULL)
    return -2;
  if (length == 0)
    length = strlen (host);
  /* One NUL is allowed, at the end of a name of two bytes or more.  */
  size_t must_be_text = length > 1 ? length - 1 : length;
  if (memchr (host, '\0', must_be_text) != NULL)
    return -2;
  if (length > 1 && host[length - 1] == '\0')
    length--;
  return do_x509_check_ref (x, host, length, flags, GEN_DNS, peername);
}
