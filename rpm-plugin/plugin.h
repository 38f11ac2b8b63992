/* What the plugin's parts share: the livepatch packages of a transaction
   and the worker that delivers them.  */
#ifndef ULP_RPM_PLUGIN_H
#define ULP_RPM_PLUGIN_H

#include <limits.h>
#include <rpm/rpmte.h>

#include "catalog.h"
#include "container.h"

struct livepatch
{
  rpmte te;
  char *nevra, *name, *target;
  int erased;   /* else installed */
  int done;     /* the element went through */
  char **files; /* containers, with the root directory prefixed */
  size_t nfiles;
  struct ulp_container *old; /* of an erased package, read beforehand */
  size_t nold;
};

struct plugin_state
{
  struct livepatch *lp;
  size_t n;
  int skip;
  char root[PATH_MAX];
  /* Each stop-the-processes step gives up after this long, well within the
     deadline after which the worker is killed.  */
  double step_timeout;
  /* Build-ID catalogs of the root and of $ULP_CATALOG_DIR: the report
     names the package behind each process's build.  */
  struct ulp_catalog catalog;
};

/* Applies and reverts what S noted, in a worker process with a deadline
   (%_ulp_plugin_timeout); its report goes to rpm's log.  */
void plugin_deliver (struct plugin_state *s);

#endif
