/* A livepatchable library with a bug to fix: it greets nobody by name.  */
const char *
greeting (void)
{
  return "Hello, world";
}
