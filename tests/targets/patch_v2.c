const char *
demo_message_v2fix (void)
{
  return "patch for v2";
}
