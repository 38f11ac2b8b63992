/* ulp verify [--trust DIR] CONTAINER: checks the signature against the
   trust store and names the signer.  Exit 1 for every signature verdict,
   2 for a file that cannot be read or, signed, is not a container.  */
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
  struct ulp_policy policy
      = { .trust_dir = ulp_trust_dir (), .require_signature = 1 };
  int opt;
  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    if (opt == 't')
      policy.trust_dir = optarg;
    else if (opt == 'T')
      timing = 1;
    else
      optind = argc + 1;
  if (optind != argc - 1) {
    return ulp_command_usage ("verify", stderr);
  }
  /* The signature is checked before anything parses the container.  */
  struct ulp_container c;
  if (ulp_container_read (argv[optind], &c) < 0) {
    fprintf (stderr, "ulp verify: %s\n", ulp_error ());
    return ULP_EXIT_USAGE;
  }
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  int rc = c.sig_status == 1 ? ulp_fail ("%s: not signed", c.label)
                             : ulp_container_verify (&c, &policy);
  clock_gettime (CLOCK_MONOTONIC, &b);
  if (timing)
    printf ("timing: verify_us=%lld\n",
            (long long)((b.tv_sec - a.tv_sec) * 1000000LL
                        + (b.tv_nsec - a.tv_nsec) / 1000));
  int status = rc < 0 ? ULP_EXIT_FAILED : ULP_EXIT_OK;
  if (rc == 0 && ulp_container_parse (&c) < 0)
    status = ULP_EXIT_USAGE;
  if (status != ULP_EXIT_OK)
    fprintf (stderr, "ulp verify: %s%s\n", ulp_error (),
             rc == 0 ? " (the signature is good)" : "");
  else
    printf ("%s: good signature\n  signer: %s\n  key sha256: %s\n", c.label,
            c.signer.subject, c.signer.fingerprint);
  ulp_container_free (&c);
  return status;
}
