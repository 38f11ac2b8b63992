/* ulp: apply, revert and inspect live patches in running processes.  */
#include <stdio.h>
#include <string.h>

#include "command.h"

struct command
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
  { "livepatchable", cmd_livepatchable,
    "LIB: tell whether a library can be live patched" },
  { "packer", cmd_packer, "FILE.dsc: embed patch metadata in a container" },
  { "dump", cmd_dump, "CONTAINER: print a container's metadata" },
  { "trigger", cmd_trigger,
    "[-p PID|NAME] [--revert] [--revert-all=LIB] PATCH...: apply or revert" },
  { "check", cmd_check, "-p PID PATCH: tell whether PATCH is applied" },
  { "patches", cmd_patches, "[-p PID|NAME] [--json]: list applied patches" },
  { "sign", cmd_sign, "--key KEY.pem --cert CERT.pem CONTAINER: sign it" },
  { "verify", cmd_verify, "[--trust DIR] CONTAINER: check its signature" },
};

static int
usage (FILE *out)
{
  fprintf (out, "usage: ulp COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nSee ulp(1) and libpulp(7).\n");
  return out == stdout ? ULP_EXIT_OK : ULP_EXIT_USAGE;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return usage (stderr);
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    return usage (stdout);
  if (strcmp (argv[1], "--version") == 0) {
    printf ("ulp %s\n", ULP_VERSION);
    return ULP_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "ulp: unknown command '%s'\n", argv[1]);
  return usage (stderr);
}
