#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <openssl/pem.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "proc.h"
#include "trust.h"

const char *
ulp_trust_dir (void)
{
  const char *dir = getenv ("ULP_TRUST_DIR");
  return dir && *dir ? dir : ULP_DEFAULT_TRUST_DIR;
}

const char *
ulp_config_path (void)
{
  const char *config = getenv ("ULP_CONFIG");
  return config && *config ? config : ULP_DEFAULT_CONFIG;
}

/* Anyone who can change a file on the way to a trust decision can make the
   tool inject code.  The caller's own files are trusted too: a tool that
   is not root can only patch the caller's own processes anyway.  A
   directory above the object may be writable by others when it is sticky
   (/tmp): they can then add entries, which are refused as not ours, but
   not move ours away.  */
static int
check_safe (const char *path, const struct stat *st, int is_object)
{
  uid_t me = geteuid ();
  if (st->st_uid != 0 && st->st_uid != me)
    return me == 0 ? ulp_fail ("%s is owned by uid %u, not by root: "
                               "refusing to trust it",
                               path, (unsigned)st->st_uid)
                   : ulp_fail ("%s is owned by uid %u, neither root nor uid "
                               "%u: refusing to trust it",
                               path, (unsigned)st->st_uid, (unsigned)me);
  int sticky_dir = S_ISDIR (st->st_mode) && (st->st_mode & S_ISVTX);
  if ((st->st_mode & (S_IWGRP | S_IWOTH)) && (is_object || !sticky_dir))
    return ulp_fail ("%s is writable by users other than %s: refusing to "
                     "trust it",
                     path, me == 0 ? "root" : "its owner");
  return 0;
}

/* An absolute path without symbolic links; a missing tail is kept as
   given, so that the directories above it can still be checked.  */
static int
resolve (const char *path, char *out)
{
  char abs[PATH_MAX], cwd[PATH_MAX];
  int n = path[0] == '/' ? snprintf (abs, sizeof abs, "%s", path)
          : getcwd (cwd, sizeof cwd)
              ? snprintf (abs, sizeof abs, "%s/%s", cwd, path)
              : -1;
  if (n < 0 || n >= PATH_MAX)
    return errno = ENAMETOOLONG, -1;
  while (n > 1 && abs[n - 1] == '/')
    abs[--n] = '\0';
  if (realpath (abs, out))
    return 0;
  if (errno != ENOENT)
    return -1;
  char *slash = strrchr (abs, '/');
  *slash = '\0';
  if (resolve (slash == abs ? "/" : abs, out) < 0)
    return -1;
  size_t used = strlen (out);
  if ((size_t)snprintf (out + used, PATH_MAX - used, "%s%s",
                        out[used - 1] == '/' ? "" : "/", slash + 1)
      >= PATH_MAX - used)
    return errno = ENAMETOOLONG, -1;
  return 0;
}

/* Opens the last component NAME of PATH in DIRFD with FLAGS and checks
   it.  A FIFO or device opens without blocking, and is refused.  */
static int
open_object (int dirfd, const char *name, const char *path, int flags)
{
  int fd = openat (dirfd, name,
                   flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return errno == ENOENT    ? ULP_TRUST_ABSENT
           : errno == ENOTDIR ? ulp_fail ("%s: not a directory", path)
           : errno == ELOOP
               ? ulp_fail ("%s: a symbolic link to nothing, or one that "
                           "changed while being checked",
                           path)
               : ulp_fail ("%s: %s", path, strerror (errno));
  int want_dir = (flags & O_DIRECTORY) != 0;
  if (fstat (fd, &st) != 0
      || (want_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode))) {
    close (fd);
    return ulp_fail ("%s: not a %s", path,
                     want_dir ? "directory" : "regular file");
  }
  if (check_safe (path, &st, 1) < 0
      || fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    close (fd);
    return -1;
  }
  return fd;
}

/* Walks PATH from / and checks every directory on the way.  */
static int
walk (char *path, int flags)
{
  int fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  char *name = path + 1, *slash;
  if (fd < 0 || fstat (fd, &st) != 0)
    return ulp_fail ("/: %s", strerror (errno));
  if (check_safe ("/", &st, 0) < 0) {
    close (fd);
    return -1;
  }
  while ((slash = strchr (name, '/'))) {
    *slash = '\0';
    int next = openat (fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int rc = next < 0 ? (errno == ENOENT
                             ? ULP_TRUST_ABSENT
                             : ulp_fail ("%s: %s", path, strerror (errno)))
             : fstat (next, &st) != 0 || !S_ISDIR (st.st_mode)
                 ? ulp_fail ("%s: not a directory (or changed while being "
                             "checked)",
                             path)
                 : check_safe (path, &st, 0);
    close (fd);
    *slash = '/';
    if (rc < 0) {
      if (next >= 0)
        close (next);
      return rc;
    }
    fd = next;
    name = slash + 1;
  }
  int rc = open_object (fd, *name ? name : ".", path, flags);
  close (fd);
  return rc;
}

int
ulp_trusted_open (const char *path, int flags)
{
  char resolved[PATH_MAX];
  if (resolve (path, resolved) < 0)
    return ulp_fail ("%s: %s", path, strerror (errno));
  return walk (resolved, flags);
}

/* "WHAT PATH: reason", naming PATH once.  */
static int
fail_in (const char *what, const char *path)
{
  size_t n = strlen (path);
  const char *e = ulp_error ();
  if (strncmp (e, path, n) == 0 && (e[n] == ':' || e[n] == ' '))
    return ulp_fail ("%s %s", what, e);
  return ulp_fail ("%s %s: %s", what, path, e);
}

static int
add_certificates (X509_STORE *store, const char *path, size_t *ncerts)
{
  int fd = ulp_trusted_open (path, O_RDONLY);
  if (fd == ULP_TRUST_ABSENT)
    return ulp_fail ("trust store: %s: vanished while being read", path);
  if (fd < 0)
    return fail_in ("trust store:", path);
  FILE *f = fdopen (fd, "r");
  if (!f) {
    close (fd);
    return ulp_fail ("trust store: %s: %s", path, strerror (errno));
  }
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

/* 0 loaded, ULP_TRUST_ABSENT when DIR does not exist, -1 refused.  */
static int
load_directory (X509_STORE *store, const char *dir, size_t *ncerts)
{
  int fd = ulp_trusted_open (dir, O_RDONLY | O_DIRECTORY);
  if (fd == ULP_TRUST_ABSENT)
    return fd;
  if (fd < 0)
    return fail_in ("trust store", dir);
  DIR *d = fdopendir (fd);
  if (!d) {
    close (fd);
    return ulp_fail ("trust store %s: %s", dir, strerror (errno));
  }
  struct dirent *ent;
  int rc = 0;
  while (rc == 0 && (ent = readdir (d))) {
    char path[PATH_MAX];
    if (!is_certificate_name (ent->d_name))
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, ent->d_name);
    rc = add_certificates (store, path, ncerts);
  }
  closedir (d);
  return rc;
}

static X509_STORE *
new_store (void)
{
  X509_STORE *store = X509_STORE_new ();
  /* A certificate of the store is a trust anchor even when it is not
     self-signed: the vendor certificate itself may be installed.  */
  if (!store || !X509_STORE_set_flags (store, X509_V_FLAG_PARTIAL_CHAIN)) {
    X509_STORE_free (store);
    ulp_fail ("out of memory");
    return NULL;
  }
  return store;
}

X509_STORE *
ulp_trust_store (const char *dir, size_t *ncerts)
{
  X509_STORE *store = new_store ();
  *ncerts = 0;
  if (!store)
    return NULL;
  int rc = load_directory (store, dir, ncerts);
  if (rc < 0) {
    if (rc == ULP_TRUST_ABSENT)
      ulp_fail ("trust store %s: no such directory", dir);
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

/* Adds the blank-separated words of VALUE to LIST (COUNT entries of SIZE
   bytes).  */
static int
add_words (const char *file, int lineno, char *value, char *list, size_t size,
           size_t *count)
{
  for (char *w = strtok (value, " \t"); w; w = strtok (NULL, " \t")) {
    if (*count == ULP_MAX_EXCLUDES)
      return ulp_fail ("%s:%d: more than %d exclusions", file, lineno,
                       ULP_MAX_EXCLUDES);
    if (strlen (w) >= size)
      return ulp_fail ("%s:%d: '%s' is too long", file, lineno, w);
    strcpy (list + size * (*count)++, w);
  }
  return 0;
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
  if (strcmp (key, "exclude") == 0)
    return add_words (file, lineno, value, policy->exclude[0],
                      sizeof policy->exclude[0], &policy->nexclude);
  if (strcmp (key, "exclude_cgroup") == 0) {
    if (*value && *value != '/')
      return ulp_fail ("%s:%d: exclude_cgroup takes cgroup paths (/...)", file,
                       lineno);
    return add_words (file, lineno, value, policy->exclude_cgroup[0],
                      sizeof policy->exclude_cgroup[0],
                      &policy->nexclude_cgroup);
  }
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
  int fd = ulp_trusted_open (file, O_RDONLY);
  if (fd == ULP_TRUST_ABSENT)
    return 0;
  if (fd < 0)
    return fail_in ("signature policy", file);
  FILE *f = fdopen (fd, "r");
  char line[1024];
  int lineno = 0, rc = 0;
  if (!f) {
    close (fd);
    return ulp_fail ("%s: %s", file, strerror (errno));
  }
  while (rc == 0 && fgets (line, sizeof line, f)) {
    char *s = trimmed (line);
    lineno++;
    if (*s && *s != '#')
      rc = parse_setting (file, lineno, s, policy);
  }
  fclose (f);
  return rc;
}

/* Without a policy line, signatures are required as soon as the store
   holds a certificate.  A store that exists but cannot be trusted is an
   error, with its reason: it is not taken for an empty one.  */
static int
trust_store_has_certificates (const char *dir)
{
  X509_STORE *store = new_store ();
  size_t n = 0;
  if (!store)
    return -1;
  int rc = load_directory (store, dir, &n);
  X509_STORE_free (store);
  if (rc == ULP_TRUST_ABSENT)
    return 0;
  return rc < 0 ? -1 : n > 0;
}

int
ulp_policy_read (struct ulp_policy *policy)
{
  memset (policy, 0, sizeof *policy);
  policy->trust_dir = ulp_trust_dir ();
  policy->require_signature = -1;
  return read_config (ulp_config_path (), policy);
}

int
ulp_policy_load (struct ulp_policy *policy)
{
  if (ulp_policy_read (policy) < 0)
    return -1;
  if (policy->require_signature < 0)
    policy->require_signature
        = trust_store_has_certificates (policy->trust_dir);
  return policy->require_signature < 0 ? -1 : 0;
}

/* Whether cgroup path CG is PREFIX or below it.  */
static int
in_cgroup (const char *cg, const char *prefix)
{
  size_t n = strlen (prefix);
  while (n > 1 && prefix[n - 1] == '/')
    n--;
  return strncmp (cg, prefix, n) == 0
         && (cg[n] == '\0' || cg[n] == '/' || n == 1);
}

/* The cgroup v2 path of PID ("0::/PATH" in /proc/PID/cgroup), or "".  */
static void
cgroup_of (pid_t pid, char *out, size_t size)
{
  char file[64], line[512];
  snprintf (file, sizeof file, "/proc/%d/cgroup", (int)pid);
  FILE *f = fopen (file, "re");
  out[0] = '\0';
  while (f && fgets (line, sizeof line, f))
    if (strncmp (line, "0::", 3) == 0) {
      line[strcspn (line, "\n")] = '\0';
      snprintf (out, size, "%s", line + 3);
    }
  if (f)
    fclose (f);
}

int
ulp_policy_excludes (const struct ulp_policy *policy, pid_t pid,
                     const char *name, char *why, size_t size)
{
  for (size_t i = 0; i < policy->nexclude; i++)
    if (fnmatch (policy->exclude[i], name, 0) == 0) {
      snprintf (why, size, "excluded by %s (exclude = %s)", ulp_config_path (),
                policy->exclude[i]);
      return 1;
    }
  if (!policy->nexclude_cgroup)
    return 0;
  char cg[512];
  cgroup_of (pid, cg, sizeof cg);
  for (size_t i = 0; *cg && i < policy->nexclude_cgroup; i++)
    if (in_cgroup (cg, policy->exclude_cgroup[i])) {
      snprintf (why, size, "excluded by %s (exclude_cgroup = %s)",
                ulp_config_path (), policy->exclude_cgroup[i]);
      return 1;
    }
  return 0;
}

/* The value of NAME in the NUL-separated environment ENV of LEN bytes, or
   NULL.  */
static const char *
env_value (const char *env, size_t len, const char *name)
{
  size_t n = strlen (name);
  for (size_t at = 0; at < len; at += strlen (env + at) + 1)
    if (strncmp (env + at, name, n) == 0 && env[at + n] == '=')
      return env + at + n + 1;
  return NULL;
}

/* Whether one of the colon-separated PATTERNS is the number ID or matches
   TEXT (NULL: no text); the pattern in MATCHED.  */
static int
list_matches (const char *patterns, long id, const char *text, char *matched,
              size_t size)
{
  char copy[1024], *save = NULL;
  snprintf (copy, sizeof copy, "%s", patterns);
  for (char *p = strtok_r (copy, ":", &save); p;
       p = strtok_r (NULL, ":", &save)) {
    char *end;
    long number = strtol (p, &end, 10);
    int hit = id >= 0 && *p && !*end
                  ? number == id
                  : text && fnmatch (p, text, FNM_EXTMATCH) == 0;
    if (hit) {
      snprintf (matched, size, "%s", p);
      return 1;
    }
  }
  return 0;
}

static int
path_opt_out (pid_t pid, const char *patterns, char *matched, size_t size)
{
  char link[64], exe[PATH_MAX];
  snprintf (link, sizeof link, "/proc/%d/exe", (int)pid);
  ssize_t n = readlink (link, exe, sizeof exe - 1);
  if (n <= 0)
    return 0;
  exe[n] = '\0';
  return list_matches (patterns, -1, exe, matched, size);
}

static const char *
user_name (long uid)
{
  struct passwd *pw = getpwuid ((uid_t)uid);
  return pw ? pw->pw_name : NULL;
}

static const char *
group_name (long gid)
{
  struct group *gr = getgrgid ((gid_t)gid);
  return gr ? gr->gr_name : NULL;
}

/* Whether PID's real user (GROUP 0) or group (1) is among the PATTERNS,
   by id or by name.  */
static int
id_opt_out (pid_t pid, int group, const char *patterns, char *matched,
            size_t size)
{
  struct ulp_proc_status st;
  if (ulp_proc_status (pid, &st) < 0)
    return 0;
  long id = group ? st.gid : st.uid;
  return list_matches (patterns, id, group ? group_name (id) : user_name (id),
                       matched, size);
}

static int
user_opt_out (pid_t pid, const char *patterns, char *matched, size_t size)
{
  return id_opt_out (pid, 0, patterns, matched, size);
}

static int
group_opt_out (pid_t pid, const char *patterns, char *matched, size_t size)
{
  return id_opt_out (pid, 1, patterns, matched, size);
}

int
ulp_env_opted_out (pid_t pid, const char *env, size_t len, char *why,
                   size_t size)
{
  static const struct
  {
    const char *name;
    int (*matches) (pid_t, const char *, char *, size_t);
  } opt_outs[] = { { "LIBPULP_DISABLE_ON_PATH", path_opt_out },
                   { "LIBPULP_DISABLE_ON_USERS", user_opt_out },
                   { "LIBPULP_DISABLE_ON_GROUPS", group_opt_out } };
  char matched[256];
  if (!memmem (env, len, "LIBPULP_DISABLE_ON_", 19))
    return 0;
  for (size_t i = 0; i < sizeof opt_outs / sizeof opt_outs[0]; i++) {
    const char *value = env_value (env, len, opt_outs[i].name);
    if (value && opt_outs[i].matches (pid, value, matched, sizeof matched)) {
      snprintf (why, size, "it opted out (%s: %s)", opt_outs[i].name, matched);
      return 1;
    }
  }
  return 0;
}
