/* The ulp subcommands, one file each.  */
#ifndef ULP_COMMAND_H
#define ULP_COMMAND_H

#include <stdio.h>

int cmd_livepatchable (int argc, char **argv);
int cmd_packer (int argc, char **argv);
int cmd_extract (int argc, char **argv);
int cmd_dump (int argc, char **argv);
int cmd_trigger (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_patches (int argc, char **argv);
int cmd_sign (int argc, char **argv);
int cmd_verify (int argc, char **argv);

/* Exit statuses shared by every subcommand.  */
enum
{
  ULP_EXIT_OK = 0,
  ULP_EXIT_FAILED = 1,
  ULP_EXIT_USAGE = 2
};

/* The usage of subcommand NAME, from the one table in ulp.c.  On stdout
   (what `ulp NAME --help` prints) it is followed by the command's summary
   and the result is ULP_EXIT_OK; on stderr (a usage error) it stands alone
   and the result is ULP_EXIT_USAGE.  */
int ulp_command_usage (const char *name, FILE *out);

#endif
