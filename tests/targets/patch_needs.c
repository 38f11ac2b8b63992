/* Container linked against libplain.so.1, which libdemo.so.1 does not load:
   the packer refuses it, as the tool's loader loads no dependencies.  */
extern const char *plain_message (void);

const char *
demo_message_needs (void)
{
  return plain_message ();
}
