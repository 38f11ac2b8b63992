/* libFuzzer harness: the signature trailer and block parser sees files
   before anything is trusted; what it accepts must lie inside the file.  */
#include <stdint.h>
#include <stdlib.h>

#include "signature.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ulp_signature_block b;
  if (ulp_signature_parse (data, size, &b) != 0)
    return 0;
  const uint8_t *end = data + size;
  if (b.signed_len + b.block_len + ULP_SIG_TRAILER != size
      || b.cert < data + b.signed_len || b.cert + b.cert_len > end
      || b.sig < b.cert + b.cert_len || b.sig + b.sig_len > end || !b.cert_len
      || !b.sig_len)
    abort ();
  return 0;
}
