/* Container with a thread-local variable: the packer refuses it, as the
   tool's loader cannot give every thread its copy.  */
static __thread int calls;

const char *
demo_message_tls (void)
{
  return ++calls > 1 ? "patched tls again" : "patched tls";
}
