/* ulp.so: the rpm transaction plugin that live patches running processes
   when a livepatch package is installed, upgraded or erased.

   A livepatch package provides ulp-livepatch(TARGET), TARGET being the file
   name of the library it patches, and installs its containers under a
   .../ulp/ directory.  Before anything is installed or erased (tsm_pre)
   the plugin notes each such package to be erased (and reads the build-ID
   catalogs while theirs are still there); it notes each one installed as
   rpm processes it (psm_pre).  After the transaction (tsm_post) it asks
   rpm which of them went through, and spawns the helper, which applies
   what was installed (replacing all earlier patches on the target, one stop
   per process) and reverts what was erased.  The transaction never fails
   or hangs because of it: the helper has a deadline and every problem is
   only logged.  With --root other than /, nothing is patched unless
   %_ulp_patch_from_root is 1: the processes running are the host's, not
   the root's.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmds.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
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
  for (size_t i = 0; *root && i < lp->nfiles; i++) {
    char *p;
    if (asprintf (&p, "%s%s", root, lp->files[i]) < 0)
      return -1;
    free (lp->files[i]);
    lp->files[i] = p;
  }
  return 0;
}

static int
noted (const struct plugin_state *s, rpmte te)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->lp[i].te == te)
      return 1;
  return 0;
}

/* Paths are made absolute outside the root: an erased package is noted
   before rpm enters the root, an installed one inside it (psm_pre).  */
static int
note_element (struct plugin_state *s, rpmte te, Header h)
{
  char *target = livepatch_target (h);
  struct livepatch *lp
      = target ? realloc (s->lp, (s->n + 1) * sizeof *lp) : NULL;
  if (!lp) {
    free (target);
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
  if (!lp->nevra || !lp->name || collect_containers (lp, h) < 0
      || prefix_root (lp, s->root) < 0)
    return -1;
  rpmlog (RPMLOG_DEBUG, "ulp: %s %s, livepatch for %s with %zu containers\n",
          lp->erased ? "erasing" : "installing", lp->nevra, lp->target,
          lp->nfiles);
  return 0;
}

/* Before anything changes on disk: the erased packages, with their
   headers from the database (rpm keeps no dependency data this late).  */
static int
note_erasures (struct plugin_state *s, rpmts ts)
{
  rpmtsi pi = rpmtsiInit (ts);
  rpmte te;
  int rc = 0;
  while (rc == 0 && (te = rpmtsiNext (pi, TR_REMOVED))) {
    unsigned int record = rpmteDBInstance (te);
    rpmdbMatchIterator mi
        = rpmtsInitIterator (ts, RPMDBI_PACKAGES, &record, sizeof record);
    Header h = mi ? rpmdbNextIterator (mi) : NULL;
    if (h)
      rc = note_element (s, te, h);
    rpmdbFreeIterator (mi);
  }
  rpmtsiFree (pi);
  return rc;
}

/* rpm gives an installed element its database record and takes it from
   an erased one; an element that failed, or was skipped because the
   install it depends on failed, is marked failed.  */
static int
went_through (const struct livepatch *lp)
{
  if (rpmteFailed (lp->te))
    return 0;
  unsigned int record = rpmteDBInstance (lp->te);
  return lp->erased ? record == 0 : record != 0;
}

static rpmRC
ulp_init (rpmPlugin plugin, rpmts ts)
{
  (void)ts;
  /* A plugin that fails here fails every transaction: without memory the
     plugin does nothing instead.  */
  rpmPluginSetData (plugin, calloc (1, sizeof (struct plugin_state)));
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
  if (!s)
    return RPMRC_OK;
  state_clear (s);
  if (rpmtsFlags (ts) & (RPMTRANS_FLAG_TEST | RPMTRANS_FLAG_JUSTDB)) {
    s->skip = 1;
    return RPMRC_OK;
  }
  const char *root = rpmtsRootDir (ts);
  snprintf (s->root, sizeof s->root, "%s", root ? root : "");
  for (size_t n = strlen (s->root); n && s->root[n - 1] == '/'; n--)
    s->root[n - 1] = '\0';
  plugin_find_catalogs (s);
  if (note_erasures (s, ts) < 0) {
    rpmlog (RPMLOG_WARNING, "ulp: out of memory; no livepatch applied\n");
    s->skip = 1;
  } else if (s->n) { /* an erased package may take its catalog along */
    ulp_catalog_read_dir (s->catalog_dir, &s->catalog);
    ulp_catalog_read_dir (NULL, &s->catalog);
  }
  return RPMRC_OK;
}

/* An installed package: its header is at hand while rpm processes it.  */
static rpmRC
ulp_psm_pre (rpmPlugin plugin, rpmte te)
{
  struct plugin_state *s = state_of (plugin);
  if (!s || s->skip || rpmteType (te) != TR_ADDED || noted (s, te))
    return RPMRC_OK;
  Header h = rpmteHeader (te);
  if (h && note_element (s, te, h) < 0) {
    rpmlog (RPMLOG_WARNING, "ulp: out of memory; no livepatch applied\n");
    s->skip = 1;
  }
  headerFree (h);
  return RPMRC_OK;
}

/* The %post helper of a livepatch package steps aside when it sees this,
   so nothing is applied twice.  */
static rpmRC
ulp_scriptlet_fork_post (rpmPlugin plugin, const char *path, int type)
{
  (void)path;
  (void)type;
  const struct plugin_state *s = state_of (plugin);
  if (s && !s->skip)
    setenv ("ULP_RPM_PLUGIN", "1", 1);
  return RPMRC_OK;
}

/* An image or package build root (rpm --root) may hold containers nobody
   vetted, and the processes running are the host's: they are patched from
   a root only where the admin asks for it.  */
static int
root_allowed (const struct plugin_state *s)
{
  if (!s->root[0] || rpmExpandNumeric ("%{?_ulp_patch_from_root}") == 1)
    return 1;
  rpmlog (RPMLOG_NOTICE,
          "ulp: --root %s: no running process patched (they are the "
          "host's; define %%_ulp_patch_from_root 1 to patch them from the "
          "root's packages)\n",
          s->root);
  return 0;
}

static rpmRC
ulp_tsm_post (rpmPlugin plugin, rpmts ts, int res)
{
  (void)ts;
  (void)res;
  struct plugin_state *s = state_of (plugin);
  if (!s)
    return RPMRC_OK;
  int work = 0;
  for (size_t i = 0; i < s->n; i++)
    work |= s->lp[i].done = went_through (&s->lp[i]);
  if (!s->skip && work && root_allowed (s))
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
  .scriptlet_fork_post = ulp_scriptlet_fork_post,
};
