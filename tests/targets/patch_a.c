const char *
demo_message_a (void)
{
  return "patch A";
}
