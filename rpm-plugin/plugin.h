/* What the plugin's parts share: the livepatch packages of a transaction
   and the spawning of the helper that delivers them.  */
#ifndef ULP_RPM_PLUGIN_H
#define ULP_RPM_PLUGIN_H

#include <limits.h>
#include <rpm/rpmte.h>

#include "catalog.h"

struct livepatch
{
  rpmte te;
  char *nevra, *name, *target;
  int erased;   /* else installed */
  int done;     /* the element went through */
  char **files; /* containers, with the root directory prefixed */
  size_t nfiles;
};

struct plugin_state
{
  struct livepatch *lp;
  size_t n;
  int skip;
  char root[PATH_MAX]; /* rpm --root, without trailing '/': "" for / */
  /* Build-ID catalogs of the root and of $ULP_CATALOG_DIR: read before
     the transaction when a package is erased (its catalog goes with it),
     handed to the helper, which reads them again after the transaction
     for those just installed.  The report names the package behind each
     process's build.  */
  char catalog_dir[PATH_MAX + 64];
  struct ulp_catalog catalog;
};

/* Sets S's catalog directory: %{ulp_catalog_dir} in S's root.  */
void plugin_find_catalogs (struct plugin_state *s);

/* Applies and reverts what S noted through the helper (%_ulp_helper),
   with a deadline (%_ulp_plugin_timeout); its report goes to rpm's log.  */
void plugin_deliver (struct plugin_state *s);

#endif
