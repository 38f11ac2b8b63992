/* Livepatch 1 of the demo library: fixes demo_message.  */
const char *
demo_message_lp1 (void)
{
  return "livepatch 1";
}
