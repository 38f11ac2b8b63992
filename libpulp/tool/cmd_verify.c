/* ulp verify [--trust DIR] CONTAINER: checks the signature against the
   trust store and names the signer.  */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "command.h"
#include "container.h"
#include "error.h"
#include "trust.h"

int
cmd_verify (int argc, char **argv)
{
  static const struct option options[]
      = { { "trust", required_argument, NULL, 't' },
          { "timing", no_argument, NULL, 'T' },
          { NULL, 0, NULL, 0 } };
  int timing = 0;
  struct ulp_policy policy = { ulp_trust_dir (), 1 };
  int opt;
  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    if (opt == 't')
      policy.trust_dir = optarg;
    else if (opt == 'T')
      timing = 1;
    else
      optind = argc + 1;
  if (optind != argc - 1) {
    fprintf (stderr, "usage: ulp verify [--trust DIR] [--timing] CONTAINER\n");
    return ULP_EXIT_USAGE;
  }
  struct ulp_container c;
  if (ulp_container_open (argv[optind], &c) < 0) {
    fprintf (stderr, "ulp verify: %s\n", ulp_error ());
    return ULP_EXIT_USAGE;
  }
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  int rc = ulp_container_verify (&c, &policy);
  clock_gettime (CLOCK_MONOTONIC, &b);
  if (timing)
    printf ("timing: verify_us=%lld\n",
            (long long)((b.tv_sec - a.tv_sec) * 1000000LL
                        + (b.tv_nsec - a.tv_nsec) / 1000));
  if (rc < 0)
    fprintf (stderr, "ulp verify: %s\n", ulp_error ());
  else
    printf ("%s: good signature\n  signer: %s\n  key sha256: %s\n", c.label,
            c.signer.subject, c.signer.fingerprint);
  ulp_container_free (&c);
  return rc < 0 ? ULP_EXIT_FAILED : ULP_EXIT_OK;
}
