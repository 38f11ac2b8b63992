#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "signature.h"
#include "trust.h"

static uint32_t
le32 (const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

/* Takes a u32-prefixed field from [*P, END).  */
static int
take_field (const uint8_t **p, const uint8_t *end, const uint8_t **field,
            size_t *len)
{
  if (end - *p < 4)
    return -1;
  *len = le32 (*p);
  *p += 4;
  if (*len == 0 || *len > (size_t)(end - *p))
    return -1;
  *field = *p;
  *p += *len;
  return 0;
}

int
ulp_signature_parse (const uint8_t *file, size_t len,
                     struct ulp_signature_block *block)
{
  if (len < ULP_SIG_TRAILER
      || memcmp (file + len - ULP_SIG_MAGIC_LEN, ULP_SIG_MAGIC,
                 ULP_SIG_MAGIC_LEN)
             != 0)
    return 1;
  const uint8_t *trailer = file + len - ULP_SIG_TRAILER;
  uint32_t block_len = le32 (trailer), version = le32 (trailer + 4);
  if (version != ULP_SIG_VERSION)
    return ulp_fail ("signature block version %u is not supported", version);
  if (block_len == 0 || block_len > len - ULP_SIG_TRAILER)
    return ulp_fail ("signature block length is out of range");
  const uint8_t *p = trailer - block_len;
  block->signed_len = len - ULP_SIG_TRAILER - block_len;
  block->block_len = block_len;
  if (take_field (&p, trailer, &block->cert, &block->cert_len) < 0
      || take_field (&p, trailer, &block->sig, &block->sig_len) < 0
      || p != trailer)
    return ulp_fail ("malformed signature block");
  return 0;
}

/* The last OpenSSL error with its detail ("certificate has expired"),
   for messages; clears the queue.  */
static const char *
openssl_reason (void)
{
  static char buf[512];
  const char *data = NULL, *detail = "";
  int flags = 0;
  unsigned long e, last = 0;
  while ((e = ERR_get_error_all (NULL, NULL, NULL, &data, &flags))) {
    last = e;
    if ((flags & ERR_TXT_STRING) && data && *data)
      detail = data;
  }
  const char *reason = last ? ERR_reason_error_string (last) : NULL;
  snprintf (buf, sizeof buf, "%s%s%s%s", reason ? reason : "unknown error",
            *detail ? " (" : "", detail, *detail ? ")" : "");
  return buf;
}

static void *
read_pem (const char *path, int is_key)
{
  FILE *f = fopen (path, "re");
  void *obj = NULL;
  if (!f) {
    ulp_fail ("%s: cannot open", path);
    return NULL;
  }
  obj = is_key ? (void *)PEM_read_PrivateKey (f, NULL, NULL, NULL)
               : (void *)PEM_read_X509 (f, NULL, NULL, NULL);
  fclose (f);
  if (!obj)
    ulp_fail ("%s: not a PEM %s (%s)", path,
              is_key ? "private key" : "certificate", openssl_reason ());
  return obj;
}

static void
put_le32 (uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static int
assemble (const uint8_t *data, size_t len, const uint8_t *cert, size_t cert_len,
          const uint8_t *sig, size_t sig_len, uint8_t **out, size_t *out_len)
{
  size_t block = 8 + cert_len + sig_len;
  *out_len = len + block + ULP_SIG_TRAILER;
  *out = malloc (*out_len);
  if (!*out)
    return ulp_fail ("out of memory");
  uint8_t *p = *out;
  memcpy (p, data, len);
  p += len;
  put_le32 (p, (uint32_t)cert_len);
  memcpy (p + 4, cert, cert_len);
  p += 4 + cert_len;
  put_le32 (p, (uint32_t)sig_len);
  memcpy (p + 4, sig, sig_len);
  p += 4 + sig_len;
  put_le32 (p, (uint32_t)block);
  put_le32 (p + 4, ULP_SIG_VERSION);
  memcpy (p + 8, ULP_SIG_MAGIC, ULP_SIG_MAGIC_LEN);
  return 0;
}

/* Ed25519 signs the message itself; the others sign its SHA-256.  */
static const EVP_MD *
digest_for (EVP_PKEY *key)
{
  return EVP_PKEY_get_id (key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256 ();
}

static int
sign_bytes (EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t **sig,
            size_t *sig_len)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  int ok = ctx
           && EVP_DigestSignInit (ctx, NULL, digest_for (key), NULL, key) == 1
           && EVP_DigestSign (ctx, NULL, sig_len, data, len) == 1
           && (*sig = malloc (*sig_len))
           && EVP_DigestSign (ctx, *sig, sig_len, data, len) == 1;
  EVP_MD_CTX_free (ctx);
  return ok ? 0 : ulp_fail ("cannot sign: %s", openssl_reason ());
}

int
ulp_sign (const uint8_t *data, size_t len, const char *key_pem,
          const char *cert_pem, uint8_t **out, size_t *out_len)
{
  EVP_PKEY *key = read_pem (key_pem, 1);
  X509 *cert = key ? read_pem (cert_pem, 0) : NULL;
  unsigned char *der = NULL;
  uint8_t *sig = NULL;
  size_t sig_len = 0;
  int der_len = 0, rc = -1;
  if (!key || !cert)
    goto done;
  if (!X509_check_private_key (cert, key)) {
    ulp_fail ("%s does not belong to %s", key_pem, cert_pem);
    goto done;
  }
  if ((der_len = i2d_X509 (cert, &der)) <= 0)
    ulp_fail ("%s: cannot encode the certificate", cert_pem);
  else if (sign_bytes (key, data, len, &sig, &sig_len) == 0)
    rc = assemble (data, len, der, (size_t)der_len, sig, sig_len, out, out_len);
done:
  ERR_clear_error ();
  free (sig);
  OPENSSL_free (der);
  X509_free (cert);
  EVP_PKEY_free (key);
  return rc;
}

static void
describe_signer (X509 *cert, struct ulp_signer *signer)
{
  unsigned char *der = NULL, digest[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  BIO *out = BIO_new (BIO_s_mem ());
  int len = 0;
  if (out
      && X509_NAME_print_ex (out, X509_get_subject_name (cert), 0,
                             XN_FLAG_RFC2253)
             >= 0)
    len = BIO_read (out, signer->subject, sizeof signer->subject - 1);
  signer->subject[len > 0 ? len : 0] = '\0';
  BIO_free (out);
  int n = i2d_PUBKEY (X509_get0_pubkey (cert), &der);
  signer->fingerprint[0] = '\0';
  if (n > 0 && EVP_Digest (der, (size_t)n, digest, &dlen, EVP_sha256 (), NULL))
    ulp_hex (digest, dlen, signer->fingerprint);
  OPENSSL_free (der);
}

/* A certificate that restricts the uses of its key must allow digital
   signatures (keyUsage) and code signing (extendedKeyUsage).  */
static int
check_usage (X509 *cert)
{
  uint32_t flags = X509_get_extension_flags (cert);
  if (flags & EXFLAG_INVALID)
    return ulp_fail ("signing certificate has malformed extensions");
  if ((flags & EXFLAG_KUSAGE)
      && !(X509_get_key_usage (cert) & KU_DIGITAL_SIGNATURE))
    return ulp_fail ("signing certificate does not allow digital "
                     "signatures (key usage)");
  if ((flags & EXFLAG_XKUSAGE)
      && !(X509_get_extended_key_usage (cert) & XKU_CODE_SIGN))
    return ulp_fail ("signing certificate does not allow code signing");
  return 0;
}

static int
chain_to_trust (X509 *cert, X509_STORE *store)
{
  X509_STORE_CTX *ctx = X509_STORE_CTX_new ();
  int rc = -1;
  if (!ctx || !X509_STORE_CTX_init (ctx, store, cert, NULL))
    ulp_fail ("out of memory");
  else if (X509_verify_cert (ctx) != 1)
    ulp_fail ("untrusted signer: %s",
              X509_verify_cert_error_string (X509_STORE_CTX_get_error (ctx)));
  else
    rc = 0;
  X509_STORE_CTX_free (ctx);
  return rc;
}

static int
signature_matches (X509 *cert, const uint8_t *data, size_t len,
                   const uint8_t *sig, size_t sig_len)
{
  EVP_PKEY *key = X509_get0_pubkey (cert);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  int ok = key && ctx
           && EVP_DigestVerifyInit (ctx, NULL, digest_for (key), NULL, key) == 1
           && EVP_DigestVerify (ctx, sig, sig_len, data, len) == 1;
  EVP_MD_CTX_free (ctx);
  ERR_clear_error ();
  return ok ? 0
            : ulp_fail ("bad signature: the container was changed after "
                        "signing or the signature is corrupt");
}

int
ulp_signature_verify (const uint8_t *file,
                      const struct ulp_signature_block *block,
                      const char *trust_dir, struct ulp_signer *signer)
{
  size_t ncerts;
  const unsigned char *p = block->cert;
  int rc = -1;
  X509_STORE *store = ulp_trust_store (trust_dir, &ncerts);
  if (!store)
    return -1;
  X509 *cert = d2i_X509 (NULL, &p, (long)block->cert_len);
  if (ncerts == 0)
    ulp_fail ("trust store %s holds no certificate", trust_dir);
  else if (!cert || p != block->cert + block->cert_len)
    ulp_fail ("malformed signer certificate");
  else if (chain_to_trust (cert, store) == 0 && check_usage (cert) == 0
           && signature_matches (cert, file, block->signed_len, block->sig,
                                 block->sig_len)
                  == 0) {
    describe_signer (cert, signer);
    rc = 0;
  }
  ERR_clear_error ();
  X509_free (cert);
  X509_STORE_free (store);
  return rc;
}
