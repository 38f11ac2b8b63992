/* The live patch: the fixed greeting.  */
const char *
greeting_fixed (void)
{
  return "Hello, live-patched world";
}
