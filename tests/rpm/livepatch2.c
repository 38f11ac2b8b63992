/* Livepatch 2, cumulative: fixes demo_message again and demo_value.  */
const char *
demo_message_lp2 (void)
{
  return "livepatch 2";
}

int
demo_value_lp2 (int x)
{
  return x * 100;
}
