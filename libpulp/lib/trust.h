/* Where trust comes from: the trust store (a directory of PEM
   certificates, /etc/ulp/trust.d) and the policy in /etc/ulp/ulp.conf.
   ULP_TRUST_DIR and ULP_CONFIG override both paths.  */
#ifndef ULP_TRUST_H
#define ULP_TRUST_H

#include <openssl/x509_vfy.h>

#define ULP_DEFAULT_TRUST_DIR "/etc/ulp/trust.d"
#define ULP_DEFAULT_CONFIG "/etc/ulp/ulp.conf"

struct ulp_policy
{
  const char *trust_dir;
  int require_signature;
};

const char *ulp_trust_dir (void);
/* Reads the policy; require_signature defaults to yes as soon as the trust
   store holds a certificate.  */
int ulp_policy_load (struct ulp_policy *policy);
/* A certificate store with every certificate of DIR; refuses a store that
   is missing, unreadable, or writable by anyone but root.  */
X509_STORE *ulp_trust_store (const char *dir, size_t *ncerts);

#endif
