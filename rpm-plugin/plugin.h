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
  char root[PATH_MAX]; /* rpm --root, without trailing '/': "" for / */
  /* CLOCK_MONOTONIC seconds after which the worker starts no new step,
     well before the deadline after which it is killed.  */
  double budget_end;
  /* Build-ID catalogs of the root and of $ULP_CATALOG_DIR, read before the
     transaction and again by the worker: the report names the package
     behind each process's build.  */
  char catalog_dir[PATH_MAX + 64];
  struct ulp_catalog catalog;
};

/* Sets S's catalog directory: %{ulp_catalog_dir} in S's root.  */
void plugin_find_catalogs (struct plugin_state *s);
/* Reads the build-ID catalogs of that directory and of $ULP_CATALOG_DIR:
   before the transaction while those of packages to be erased are still
   there, and again after it for those just installed.  */
void plugin_read_catalogs (struct plugin_state *s);

/* Applies and reverts what S noted, in a worker process with a deadline
   (%_ulp_plugin_timeout); its report goes to rpm's log.  */
void plugin_deliver (struct plugin_state *s);

#endif
