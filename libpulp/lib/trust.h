/* Where trust comes from: the trust store (a directory of PEM
   certificates, /etc/ulp/trust.d) and the policy in /etc/ulp/ulp.conf.
   ULP_TRUST_DIR and ULP_CONFIG override both paths.  Every file and
   directory on the way to either must be owned by root (or by the user
   running the tool) and writable by no one else.  */
#ifndef ULP_TRUST_H
#define ULP_TRUST_H

#include <openssl/x509_vfy.h>
#include <stddef.h>
#include <sys/types.h>

#define ULP_DEFAULT_TRUST_DIR "/etc/ulp/trust.d"
#define ULP_DEFAULT_CONFIG "/etc/ulp/ulp.conf"
#define ULP_TRUST_ABSENT (-2)

#define ULP_MAX_EXCLUDES 32

struct ulp_policy
{
  const char *trust_dir;
  int require_signature;
  /* Processes no trigger touches: by name (shell wildcards, "exclude =
     postgres* mysqld") and by cgroup ("exclude_cgroup = /system.slice/db"
     excludes that cgroup and those below it).  */
  char exclude[ULP_MAX_EXCLUDES][64];
  size_t nexclude;
  char exclude_cgroup[ULP_MAX_EXCLUDES][256];
  size_t nexclude_cgroup;
};

const char *ulp_trust_dir (void);
const char *ulp_config_path (void);
/* Reads the policy; require_signature defaults to yes as soon as the trust
   store holds a certificate.  */
int ulp_policy_load (struct ulp_policy *policy);
/* Reads only what the policy file says (exclusions among it), not the
   trust store.  */
int ulp_policy_read (struct ulp_policy *policy);
/* Why POLICY excludes process PID named NAME ("exclude = GLOB" or
   "exclude_cgroup = PATH"), in WHY; 0 when it does not.  */
/* Whether PID opted out of live patching the way SUSE libpulp's runtime
   lets a program (the environment it started with: LIBPULP_DISABLE_ON_PATH
   = patterns of its program's path, LIBPULP_DISABLE_ON_USERS and
   LIBPULP_DISABLE_ON_GROUPS = ids or name patterns of its real user and
   group, colon-separated), as ENV of LEN bytes says (NUL-terminated after
   them); why in WHY.  */
int ulp_env_opted_out (pid_t pid, const char *env, size_t len, char *why,
                       size_t size);
int ulp_policy_excludes (const struct ulp_policy *policy, pid_t pid,
                         const char *name, char *why, size_t size);
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
