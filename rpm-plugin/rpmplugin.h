/* The part of rpm's plugin interface this plugin uses.  rpm 4.18 does not
   install its rpmplugin.h (rpm 4.20 does, with the same table), so the
   hook table is declared here, member for member in rpm's order.  Checked
   against rpm 4.16, 4.18 and 4.20.  */
#ifndef ULP_RPMPLUGIN_H
#define ULP_RPMPLUGIN_H

#include <rpm/rpmfi.h>
#include <rpm/rpmtypes.h>
#include <sys/types.h>

typedef rpmFlags rpmFsmOp;

struct rpmPluginHooks_s
{
  rpmRC (*init) (rpmPlugin plugin, rpmts ts);
  void (*cleanup) (rpmPlugin plugin);
  rpmRC (*tsm_pre) (rpmPlugin plugin, rpmts ts);
  rpmRC (*tsm_post) (rpmPlugin plugin, rpmts ts, int res);
  rpmRC (*psm_pre) (rpmPlugin plugin, rpmte te);
  rpmRC (*psm_post) (rpmPlugin plugin, rpmte te, int res);
  rpmRC (*scriptlet_pre) (rpmPlugin plugin, const char *s_name, int type);
  rpmRC (*scriptlet_fork_post) (rpmPlugin plugin, const char *path, int type);
  rpmRC (*scriptlet_post) (rpmPlugin plugin, const char *s_name, int type,
                           int res);
  rpmRC (*fsm_file_pre) (rpmPlugin plugin, rpmfi fi, const char *path,
                         mode_t file_mode, rpmFsmOp op);
  rpmRC (*fsm_file_post) (rpmPlugin plugin, rpmfi fi, const char *path,
                          mode_t file_mode, rpmFsmOp op, int res);
  rpmRC (*fsm_file_prepare) (rpmPlugin plugin, rpmfi fi, int fd,
                             const char *path, const char *dest,
                             mode_t file_mode, rpmFsmOp op);
};

void *rpmPluginGetData (rpmPlugin plugin);
void rpmPluginSetData (rpmPlugin plugin, void *data);

#endif
