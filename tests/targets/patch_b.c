const char *
demo_message_b (void)
{
  return "patch B";
}
