/* Where trust comes from: the trust store (a directory of PEM
   certificates, /etc/ulp/trust.d) and the policy in /etc/ulp/ulp.conf.
   ULP_TRUST_DIR and ULP_CONFIG override both paths.  Every file and
   directory on the way to either must be owned by root (or by the user
   running the tool) and writable by no one else.  */
#ifndef ULP_TRUST_H
#define ULP_TRUST_H

#include <openssl/x509_vfy.h>

#define ULP_DEFAULT_TRUST_DIR "/etc/ulp/trust.d"
#define ULP_DEFAULT_CONFIG "/etc/ulp/ulp.conf"
#define ULP_TRUST_ABSENT (-2)

struct ulp_policy
{
  const char *trust_dir;
  int require_signature;
};

const char *ulp_trust_dir (void);
const char *ulp_config_path (void);
/* Reads the policy; require_signature defaults to yes as soon as the trust
   store holds a certificate.  */
int ulp_policy_load (struct ulp_policy *policy);
/* A certificate store with every certificate of DIR, each a trust anchor
   (partial chains allowed); refuses a store that is missing, unreadable,
   or that anyone but root could change.  */
X509_STORE *ulp_trust_store (const char *dir, size_t *ncerts);
/* Opens PATH with FLAGS (O_DIRECTORY for a directory, else a regular file
   is required) after checking PATH and every directory above it.  Returns
   the descriptor, ULP_TRUST_ABSENT when PATH does not exist, or -1 with
   the reason naming the path at fault.  */
int ulp_trusted_open (const char *path, int flags);

#endif
