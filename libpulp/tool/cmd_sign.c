/* ulp sign --key KEY.pem --cert CERT.pem CONTAINER: signs a packed
   container in place, replacing any earlier signature.  */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "command.h"
#include "container.h"
#include "error.h"
#include "signature.h"

/* Keeps the container's permissions.  */
static int
replace_file (const char *path, const uint8_t *data, size_t len)
{
  struct stat st;
  if (stat (path, &st) != 0)
    return ulp_fail ("%s: %s", path, strerror (errno));
  return ulp_file_replace (path, data, len, st.st_mode & 07777);
}

int
cmd_sign (int argc, char **argv)
{
  static const struct option options[]
      = { { "key", required_argument, NULL, 'k' },
          { "cert", required_argument, NULL, 'c' },
          { NULL, 0, NULL, 0 } };
  const char *key = NULL, *cert = NULL;
  int opt;
  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    if (opt == 'k')
      key = optarg;
    else if (opt == 'c')
      cert = optarg;
    else
      key = NULL, optind = argc + 1;
  if (!key || !cert || optind != argc - 1) {
    return ulp_command_usage ("sign", stderr);
  }
  const char *path = argv[optind];
  struct ulp_container c;
  uint8_t *signed_image = NULL;
  size_t signed_len;
  int rc = ULP_EXIT_FAILED;
  if (ulp_container_open (path, &c) < 0) {
    fprintf (stderr, "ulp sign: %s\n", ulp_error ());
    return ULP_EXIT_USAGE;
  }
  /* An earlier signature is replaced, never signed over.  */
  size_t content = c.signed_ ? c.sig.signed_len : c.image_len;
  if (ulp_sign (c.image, content, key, cert, &signed_image, &signed_len) < 0
      || replace_file (path, signed_image, signed_len) < 0)
    fprintf (stderr, "ulp sign: %s\n", ulp_error ());
  else {
    printf ("signed %s\n", path);
    rc = ULP_EXIT_OK;
  }
  free (signed_image);
  ulp_container_free (&c);
  return rc;
}
