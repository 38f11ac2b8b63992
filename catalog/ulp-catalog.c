/* ulp-catalog: builds and reads build-ID catalogs (see catalog.h).

     ulp-catalog download --repo URL --package NAME --library SONAME ...
     ulp-catalog list [CATALOG...]
     ulp-catalog lookup BUILD-ID [CATALOG...]
     ulp-catalog dist OUTPUT.tar.xz PREFIX FILE...

   Without CATALOG, list and lookup read every *.catalog in
   $ULP_CATALOG_DIR (default /usr/share/ulp/catalog).  */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct
{
  const char *name;
  int (*run) (int, char **);
  const char *usage;
} commands[] = {
  { "download", cmd_download,
    "download --repo URL --package NAME --library SONAME [--arch ARCH]\n"
    "                            [--dest DIR] [--catalog FILE] "
    "[--key PUBKEY.asc]\n" },
  { "list", cmd_list, "list [CATALOG...]\n" },
  { "lookup", cmd_lookup, "lookup BUILD-ID [CATALOG...]\n" },
  { "dist", cmd_dist, "dist OUTPUT.tar.xz PREFIX FILE...\n" },
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

void
catalog_usage (const char *name, FILE *out)
{
  int first = 1;
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (!name || strcmp (name, commands[i].name) == 0) {
      fprintf (out, "%s ulp-catalog %s", first ? "usage:" : "      ",
               commands[i].usage);
      first = 0;
    }
  if (!name)
    fprintf (out, "See ulp-catalog(1).\n");
}

/* --help (or -h) among the arguments, before any "--".  */
static int
wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
      return 1;
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && wants_help (argc, argv)) {
    catalog_usage (NULL, stdout);
    return 0;
  }
  for (size_t i = 0; argc >= 2 && i < N_COMMANDS; i++)
    if (strcmp (argv[1], commands[i].name) == 0) {
      if (wants_help (argc - 1, argv + 1)) {
        catalog_usage (commands[i].name, stdout);
        return 0;
      }
      return commands[i].run (argc - 1, argv + 1);
    }
  catalog_usage (NULL, stderr);
  return 2;
}
