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

static int
usage (void)
{
  fprintf (stderr,
           "usage: ulp-catalog download --repo URL --package NAME --library "
           "SONAME [--arch ARCH]\n"
           "                            [--dest DIR] [--catalog FILE] [--key "
           "PUBKEY.asc]\n"
           "       ulp-catalog list [CATALOG...]\n"
           "       ulp-catalog lookup BUILD-ID [CATALOG...]\n"
           "       ulp-catalog dist OUTPUT.tar.xz PREFIX FILE...\n");
  return 2;
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (int, char **);
  } commands[] = { { "download", cmd_download },
                   { "list", cmd_list },
                   { "lookup", cmd_lookup },
                   { "dist", cmd_dist } };
  if (argc < 2)
    return usage ();
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  return usage ();
}
