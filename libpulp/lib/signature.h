/* Container signatures, appended after the ELF bytes in the manner of
   kernel modules:

     [signed bytes][block][u32 block length][u32 version]
     [16-byte magic "ULP-SIGNATURE-01"]
     block = [u32 n][n bytes: signer certificate, DER]
             [u32 m][m bytes: signature]

   The signature covers every byte before the block: SHA-256 with RSA
   (PKCS#1 v1.5) or ECDSA, or pure Ed25519.  Integers are little-endian.
   ELF readers ignore the trailer; any rewrite of the ELF drops it.  */
#ifndef ULP_SIGNATURE_H
#define ULP_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define ULP_SIG_MAGIC "ULP-SIGNATURE-01"
#define ULP_SIG_MAGIC_LEN 16
#define ULP_SIG_VERSION 1
#define ULP_SIG_TRAILER (ULP_SIG_MAGIC_LEN + 8)

struct ulp_signature_block
{
  size_t signed_len; /* bytes covered: the file up to the signature */
  size_t block_len;
  const uint8_t *cert; /* DER */
  size_t cert_len;
  const uint8_t *sig;
  size_t sig_len;
};

/* 1 when FILE has no signature, 0 when the block is well formed, -1 when
   a trailer is present but malformed.  */
int ulp_signature_parse (const uint8_t *file, size_t len,
                         struct ulp_signature_block *block);

struct ulp_signer
{
  char subject[512];
  char fingerprint[65]; /* SHA-256 of the public key, hex */
};

/* Signs the first LEN bytes of DATA; *OUT receives the whole file: data,
   signature and trailer.  */
int ulp_sign (const uint8_t *data, size_t len, const char *key_pem,
              const char *cert_pem, uint8_t **out, size_t *out_len);

/* Verifies BLOCK over FILE against the certificates in TRUST_DIR.  */
int ulp_signature_verify (const uint8_t *file,
                          const struct ulp_signature_block *block,
                          const char *trust_dir, struct ulp_signer *signer);

#endif
