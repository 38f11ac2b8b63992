int
demo_hidden_fixed (int x)
{
  return x + 1000;
}
