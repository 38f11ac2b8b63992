int
bench_step_v2 (int x)
{
  return x * 3 + 2;
}
