/* Container with a constructor: the packer refuses it, as live patches
   never run initializers.  */
static const char *message = "constructor never ran";

__attribute__ ((constructor)) static void
patch_ctor_init (void)
{
  message = "patched ctor";
}

const char *
demo_message_ctor (void)
{
  return message;
}
