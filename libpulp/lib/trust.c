#include <dirent.h>
#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "trust.h"

const char *
ulp_trust_dir (void)
{
  const char *dir = getenv ("ULP_TRUST_DIR");
  return dir && *dir ? dir : ULP_DEFAULT_TRUST_DIR;
}

/* Anyone who can write the trust store can make the tool inject code.  */
static int
safe_owner (const char *path, const struct stat *st)
{
  if (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)))
    return ulp_fail ("trust store %s is writable by users other than root: "
                     "refusing to trust it",
                     path);
  return 0;
}

static int
add_certificates (X509_STORE *store, const char *path, size_t *ncerts)
{
  FILE *f = fopen (path, "re");
  if (!f)
    return ulp_fail ("trust store: %s: %s", path, strerror (errno));
  X509 *cert;
  size_t before = *ncerts;
  while ((cert = PEM_read_X509 (f, NULL, NULL, NULL))) {
    X509_STORE_add_cert (store, cert);
    X509_free (cert);
    (*ncerts)++;
  }
  fclose (f);
  if (*ncerts == before)
    return ulp_fail ("trust store: %s: no PEM certificate in it", path);
  return 0;
}

static int
is_certificate_name (const char *name)
{
  size_t n = strlen (name);
  return name[0] != '.'
         && ((n > 4 && strcmp (name + n - 4, ".pem") == 0)
             || (n > 4 && strcmp (name + n - 4, ".crt") == 0));
}

static int
load_directory (X509_STORE *store, const char *dir, size_t *ncerts)
{
  struct stat st;
  if (stat (dir, &st) != 0)
    return ulp_fail ("trust store %s: %s", dir,
                     errno == ENOENT ? "no such directory" : strerror (errno));
  if (!S_ISDIR (st.st_mode))
    return ulp_fail ("trust store %s: not a directory", dir);
  if (safe_owner (dir, &st) < 0)
    return -1;
  DIR *d = opendir (dir);
  if (!d)
    return ulp_fail ("trust store %s: %s", dir, strerror (errno));
  struct dirent *ent;
  int rc = 0;
  while (rc == 0 && (ent = readdir (d))) {
    char path[4096];
    if (!is_certificate_name (ent->d_name))
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, ent->d_name);
    if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
      continue;
    rc = safe_owner (path, &st) < 0 ? -1
                                    : add_certificates (store, path, ncerts);
  }
  closedir (d);
  return rc;
}

X509_STORE *
ulp_trust_store (const char *dir, size_t *ncerts)
{
  X509_STORE *store = X509_STORE_new ();
  *ncerts = 0;
  if (!store) {
    ulp_fail ("out of memory");
    return NULL;
  }
  if (load_directory (store, dir, ncerts) < 0) {
    X509_STORE_free (store);
    return NULL;
  }
  return store;
}

static char *
trimmed (char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen (s);
  while (n && strchr (" \t\r\n", s[n - 1]))
    s[--n] = '\0';
  return s;
}

static int
parse_setting (const char *file, int lineno, char *line,
               struct ulp_policy *policy)
{
  char *eq = strchr (line, '=');
  if (!eq)
    return ulp_fail ("%s:%d: expected 'key = value'", file, lineno);
  *eq = '\0';
  char *key = trimmed (line), *value = trimmed (eq + 1);
  if (strcmp (key, "require_signature") != 0)
    return ulp_fail ("%s:%d: unknown setting '%s'", file, lineno, key);
  if (strcmp (value, "yes") == 0)
    policy->require_signature = 1;
  else if (strcmp (value, "no") == 0)
    policy->require_signature = 0;
  else
    return ulp_fail ("%s:%d: require_signature must be yes or no", file,
                     lineno);
  return 0;
}

static int
read_config (const char *file, struct ulp_policy *policy)
{
  FILE *f = fopen (file, "re");
  char line[1024];
  int lineno = 0, rc = 0;
  if (!f)
    return errno == ENOENT ? 0 : ulp_fail ("%s: %s", file, strerror (errno));
  while (rc == 0 && fgets (line, sizeof line, f)) {
    char *s = trimmed (line);
    lineno++;
    if (*s && *s != '#')
      rc = parse_setting (file, lineno, s, policy);
  }
  fclose (f);
  return rc;
}

static int
trust_store_has_certificates (const char *dir)
{
  size_t n = 0;
  X509_STORE *store = ulp_trust_store (dir, &n);
  X509_STORE_free (store);
  /* A store that exists but cannot be trusted still means signatures are
     expected: verification will then fail with the reason.  */
  return n > 0 || (store == NULL && access (dir, F_OK) == 0);
}

int
ulp_policy_load (struct ulp_policy *policy)
{
  const char *config = getenv ("ULP_CONFIG");
  policy->trust_dir = ulp_trust_dir ();
  policy->require_signature = -1;
  if (read_config (config && *config ? config : ULP_DEFAULT_CONFIG, policy) < 0)
    return -1;
  if (policy->require_signature < 0)
    policy->require_signature
        = trust_store_has_certificates (policy->trust_dir);
  return 0;
}
