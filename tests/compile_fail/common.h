/* tests/compile_fail/common.h - an adapted function for the cases that
 * must not compile (tests/check_compile_fail.sh). */
#include <taskgraph.h>

static double hyp2(double x, double y)
{
    return x * x + y * y;
}
TG_ADAPT(double, hyp2, double, double)
static size_t len_of(tg_cstr s)
{
    return s ? 1 : 0;
}
TG_ADAPT(size_t, len_of, tg_cstr)
