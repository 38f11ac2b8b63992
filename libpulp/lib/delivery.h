/* Delivering a livepatch package to running processes: the part the rpm
   plugin and the %post helper share.  A livepatch package is cumulative
   and targets one library: installing it replaces every earlier patch on
   that library with its own, in one stop per process; erasing it reverts
   its patches.  Results go to a report stream and to syslog.  */
#ifndef ULP_DELIVERY_H
#define ULP_DELIVERY_H

#include <stdio.h>

#include "container.h"
#include "trigger.h"

#define ULP_DEFAULT_SYSCONFIG "/etc/sysconfig/livepatching"
/* Every report line is also appended here, with its time (ULP_LOG names
   another file, or none when empty): what a fleet report reads back.  */
#define ULP_DEFAULT_LOG "/var/log/ulp.log"

/* "glibc-livepatches" -> "GLIBC": the name of the package's switch
   LIVEPATCH_<COMPONENT> in the sysconfig file.  */
void ulp_livepatch_component (const char *package, char *out, size_t size);

/* 1 when LIVEPATCH_<COMPONENT> in $ULP_SYSCONFIG (default above) is auto
   or absent, 0 when it is never, -1 with an error for any other value or
   an unreadable file.  */
int ulp_livepatch_enabled (const char *component);

/* A cumulative livepatch package owns every patch on its target library:
   installing it leaves each process mapping the library with exactly its
   patches (earlier ones reverted in the same stop; where it has no
   container for the build a process runs, earlier ones reverted all the
   same), erasing it leaves nothing applied on the library.  A process
   where a step fails keeps what it had.  */
struct ulp_delivery
{
  const char *package; /* NAME-VERSION-RELEASE, for the log */
  const char *target;  /* the library file name */
  /* Containers to apply; none: an erasure.  */
  char *const *apply;
  size_t napply;
  double timeout;
  /* Names the package behind each process's build in the report, or NULL. */
  const struct ulp_catalog *catalog;
  /* Receives every report line; FAILURE is set for lines about failures. */
  void (*log) (void *ctx, int failure, const char *line);
  void *ctx;
};

/* Runs D; every report line, "PACKAGE: PROCESS (pid N): OUTCOME ...", then
   "PACKAGE: patched N, skipped N, failed N" (reverted, for a removal), goes
   to D's log, to syslog and to the log file (ULP_DEFAULT_LOG).  Returns -1 when
   nothing could be done (the reason is logged as well).  */
int ulp_deliver (const struct ulp_delivery *d,
                 struct ulp_trigger_summary *summary);

#endif
