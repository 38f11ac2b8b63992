/* libpulp.so.0: formerly the runtime that live patched processes had to
   preload.  The tool now maps patches into any process itself, so this
   library does nothing; it is kept so that programs started with
   LD_PRELOAD=libpulp.so.0 keep starting.  */
__attribute__ ((visibility ("default"))) const char ulp_runtime_version[]
    = "ulp runtime: not needed since ulp 0.2";
