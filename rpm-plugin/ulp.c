/* ulp.so: the rpm transaction plugin that live patches running processes
   when a livepatch package is installed, upgraded or erased.

   A livepatch package provides ulp-livepatch(TARGET), TARGET being the file
   name of the library it patches, and installs its containers under a
   .../ulp/ directory.  As rpm processes each such package (psm_pre, run
   inside the root) the plugin notes it, and reads the containers of one
   about to be erased.  After the transaction (tsm_post, outside the root)
   a worker process applies what was installed (replacing all earlier
   patches on the target, one stop per process) and reverts what was
   erased.  The transaction never fails or hangs because of it: the worker
   has a deadline and every problem is only logged.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/header.h>
#include <rpm/rpmds.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmte.h>
#include <rpm/rpmts.h>

#include "error.h"
#include "rpmplugin.h"

#include "plugin.h"

#define PROVIDE_PREFIX "ulp-livepatch("

static struct plugin_state *
state_of (rpmPlugin plugin)
{
  return rpmPluginGetData (plugin);
}

static void
livepatch_free (struct livepatch *lp)
{
  free (lp->nevra);
  free (lp->name);
  free (lp->target);
  for (size_t i = 0; i < lp->nfiles; i++)
    free (lp->files[i]);
  free (lp->files);
  ulp_containers_free (lp->old, lp->nold);
}

static void
state_clear (struct plugin_state *s)
{
  for (size_t i = 0; i < s->n; i++)
    livepatch_free (&s->lp[i]);
  free (s->lp);
  s->lp = NULL;
  s->n = 0;
  s->skip = 0;
  ulp_catalog_free (&s->catalog);
}

/* TARGET of the package's ulp-livepatch(TARGET), or NULL.  */
static char *
livepatch_target (Header h)
{
  rpmds ds = rpmdsNew (h, RPMTAG_PROVIDENAME, 0);
  size_t p = strlen (PROVIDE_PREFIX);
  char *target = NULL;
  while (!target && rpmdsNext (ds) >= 0) {
    const char *n = rpmdsN (ds);
    size_t len = strlen (n);
    if (len > p + 1 && strncmp (n, PROVIDE_PREFIX, p) == 0 && n[len - 1] == ')')
      target = strndup (n + p, len - p - 1);
  }
  rpmdsFree (ds);
  return target;
}

static int
is_container (const char *path, mode_t mode)
{
  size_t n = strlen (path);
  return S_ISREG (mode) && strstr (path, "/ulp/") && n > 3
         && strcmp (path + n - 3, ".so") == 0;
}

static int
add_file (struct livepatch *lp, const char *path)
{
  char **f = realloc (lp->files, (lp->nfiles + 1) * sizeof *f);
  if (!f || !(f[lp->nfiles] = strdup (path)))
    return -1;
  lp->files = f;
  lp->nfiles++;
  return 0;
}

/* Paths as the package names them: inside the root.  */
static int
collect_containers (struct livepatch *lp, Header h)
{
  rpmfiles files = rpmfilesNew (NULL, h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);
  rpmfi fi = rpmfilesIter (files, RPMFI_ITER_FWD);
  int rc = 0;
  while (rc == 0 && rpmfiNext (fi) >= 0)
    if (is_container (rpmfiFN (fi), rpmfiFMode (fi)))
      rc = add_file (lp, rpmfiFN (fi));
  rpmfiFree (fi);
  rpmfilesFree (files);
  return rc;
}

/* After the transaction, outside the root: prefixes ROOT to every path.  */
static int
prefix_root (struct livepatch *lp, const char *root)
{
  if (strcmp (root, "/") == 0)
    return 0;
  size_t n = strlen (root);
  int slash = root[n - 1] == '/';
  for (size_t i = 0; i < lp->nfiles; i++) {
    char *p;
    if (asprintf (&p, "%.*s%s", (int)(n - slash), root, lp->files[i]) < 0)
      return -1;
    free (lp->files[i]);
    lp->files[i] = p;
  }
  return 0;
}

/* The files of a package being erased are gone after the transaction:
   what its patches are is read now.  Without them, everything on the
   target library is reverted instead.  */
static void
read_old_containers (struct livepatch *lp)
{
  if (lp->nfiles
      && ulp_containers_prepare (lp->files, lp->nfiles, 1, &lp->old) == 0)
    lp->nold = lp->nfiles;
  else if (lp->nfiles)
    rpmlog (RPMLOG_WARNING,
            "ulp: %s: %s; all patches on %s will be "
            "reverted\n",
            lp->nevra, ulp_error (), lp->target);
}

static int
noted (const struct plugin_state *s, rpmte te)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->lp[i].te == te)
      return 1;
  return 0;
}

/* Runs in the root (rpm chroots for this hook): an erased package's
   containers are read by the paths it names.  */
static int
note_element (struct plugin_state *s, rpmte te)
{
  Header h = rpmteHeader (te);
  char *target = h ? livepatch_target (h) : NULL;
  struct livepatch *lp
      = target ? realloc (s->lp, (s->n + 1) * sizeof *lp) : NULL;
  if (!lp) {
    free (target);
    headerFree (h);
    return target ? -1 : 0;
  }
  s->lp = lp;
  lp = &s->lp[s->n++];
  memset (lp, 0, sizeof *lp);
  lp->te = te;
  lp->target = target;
  lp->nevra = strdup (rpmteNEVRA (te));
  lp->name = strdup (rpmteN (te));
  lp->erased = rpmteType (te) == TR_REMOVED;
  int rc = !lp->nevra || !lp->name ? -1 : collect_containers (lp, h);
  headerFree (h);
  if (rc < 0)
    return -1;
  if (lp->erased)
    read_old_containers (lp);
  if (prefix_root (lp, s->root) < 0)
    return -1;
  rpmlog (RPMLOG_DEBUG, "ulp: %s %s, livepatch for %s with %zu containers\n",
          lp->erased ? "erasing" : "installing", lp->nevra, lp->target,
          lp->nfiles);
  return 0;
}

static rpmRC
ulp_init (rpmPlugin plugin, rpmts ts)
{
  (void)ts;
  struct plugin_state *s = calloc (1, sizeof *s);
  if (!s)
    return RPMRC_FAIL;
  rpmPluginSetData (plugin, s);
  return RPMRC_OK;
}

static void
ulp_cleanup (rpmPlugin plugin)
{
  struct plugin_state *s = state_of (plugin);
  if (s)
    state_clear (s);
  free (s);
}

static rpmRC
ulp_tsm_pre (rpmPlugin plugin, rpmts ts)
{
  struct plugin_state *s = state_of (plugin);
  state_clear (s);
  if (rpmtsFlags (ts) & (RPMTRANS_FLAG_TEST | RPMTRANS_FLAG_JUSTDB)) {
    s->skip = 1;
    return RPMRC_OK;
  }
  const char *root = rpmtsRootDir (ts);
  snprintf (s->root, sizeof s->root, "%s", root && *root ? root : "/");
  return RPMRC_OK;
}

static rpmRC
ulp_psm_pre (rpmPlugin plugin, rpmte te)
{
  struct plugin_state *s = state_of (plugin);
  if (s->skip || noted (s, te))
    return RPMRC_OK;
  if (note_element (s, te) < 0) {
    rpmlog (RPMLOG_WARNING, "ulp: out of memory; no livepatch applied\n");
    s->skip = 1;
  }
  return RPMRC_OK;
}

static rpmRC
ulp_psm_post (rpmPlugin plugin, rpmte te, int res)
{
  struct plugin_state *s = state_of (plugin);
  for (size_t i = 0; i < s->n; i++)
    if (s->lp[i].te == te) {
      s->lp[i].done = res == RPMRC_OK;
      rpmlog (RPMLOG_DEBUG, "ulp: %s %s\n", s->lp[i].nevra,
              res == RPMRC_OK ? "went through" : "failed");
    }
  return RPMRC_OK;
}

/* The %post helper of a livepatch package steps aside when it sees this,
   so nothing is applied twice.  */
static rpmRC
ulp_scriptlet_fork_post (rpmPlugin plugin, const char *path, int type)
{
  (void)plugin;
  (void)path;
  (void)type;
  setenv ("ULP_RPM_PLUGIN", "1", 1);
  return RPMRC_OK;
}

static int
has_work (const struct plugin_state *s)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->lp[i].done)
      return 1;
  return 0;
}

static rpmRC
ulp_tsm_post (rpmPlugin plugin, rpmts ts, int res)
{
  (void)ts;
  (void)res;
  struct plugin_state *s = state_of (plugin);
  if (!s->skip && has_work (s))
    plugin_deliver (s);
  state_clear (s);
  return RPMRC_OK;
}

__attribute__ ((visibility ("default"))) struct rpmPluginHooks_s ulp_hooks = {
  .init = ulp_init,
  .cleanup = ulp_cleanup,
  .tsm_pre = ulp_tsm_pre,
  .tsm_post = ulp_tsm_post,
  .psm_pre = ulp_psm_pre,
  .psm_post = ulp_psm_post,
  .scriptlet_fork_post = ulp_scriptlet_fork_post,
};
