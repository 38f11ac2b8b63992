/* ulp: apply, revert and inspect live patches in running processes.  */
#include <stdio.h>
#include <string.h>

#include "command.h"

struct command
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *args;    /* the usage line after "ulp NAME" */
  const char *summary; /* one line, for `ulp --help` and `ulp NAME --help` */
};

static const struct command commands[] = {
  { "livepatchable", cmd_livepatchable, "LIB",
    "Tell whether a library can be live patched." },
  { "packer", cmd_packer, "FILE.dsc",
    "Embed a description's patch metadata in its container." },
  { "dump", cmd_dump, "CONTAINER", "Print a container's metadata." },
  { "extract", cmd_extract, "LIB [-o FILE.json]",
    "Write a library's build-ID and symbols as JSON, for the packer." },
  { "trigger", cmd_trigger,
    "[-p PID|NAME|WILDCARD] [--revert] [--revert-all=LIB|target] "
    "[--timeout=SECONDS] [--retries=N] [-q] [--timing] [PATCH...]",
    "Apply or revert live patches in running processes." },
  { "check", cmd_check, "-p PID PATCH",
    "Tell whether PATCH is applied in process PID (exit 0 applied, 1 not)." },
  { "patches", cmd_patches, "[-p PID|NAME|WILDCARD] [--json]",
    "List the livepatchable libraries and applied patches of processes." },
  { "sign", cmd_sign, "--key KEY.pem --cert CERT.pem CONTAINER",
    "Sign a packed container in place." },
  { "verify", cmd_verify, "[--trust DIR] [--timing] CONTAINER",
    "Check a container's signature against the trust store." },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *
find_command (const char *name)
{
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp (name, commands[i].name) == 0)
      return &commands[i];
  return NULL;
}

int
ulp_command_usage (const char *name, FILE *out)
{
  const struct command *c = find_command (name);
  if (!c)
    return ULP_EXIT_USAGE;
  fprintf (out, "usage: ulp %s %s\n", c->name, c->args);
  if (out != stdout)
    return ULP_EXIT_USAGE;
  printf ("\n%s\n\nSee ulp(1).\n", c->summary);
  return ULP_EXIT_OK;
}

static int
usage (FILE *out)
{
  fprintf (out, "usage: ulp COMMAND [ARGS]\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf (out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'ulp COMMAND --help' shows a command's arguments.\n"
                "See ulp(1) and libpulp(7).\n");
  return out == stdout ? ULP_EXIT_OK : ULP_EXIT_USAGE;
}

static int
is_help (const char *arg)
{
  return strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0;
}

/* Whether ARGV (a subcommand's arguments, ARGV[0] its name) asks for help:
   --help or -h before any "--".  */
static int
wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (is_help (argv[i]))
      return 1;
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return usage (stderr);
  if (is_help (argv[1]))
    return usage (stdout);
  if (strcmp (argv[1], "--version") == 0) {
    printf ("ulp %s\n", ULP_VERSION);
    return ULP_EXIT_OK;
  }
  const struct command *c = find_command (argv[1]);
  if (!c) {
    fprintf (stderr, "ulp: unknown command '%s'\n", argv[1]);
    return usage (stderr);
  }
  if (wants_help (argc - 1, argv + 1))
    return ulp_command_usage (c->name, stdout);
  return c->run (argc - 1, argv + 1);
}
