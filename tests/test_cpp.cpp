// tests/test_cpp.cpp - the public headers from C++: TG_ADAPT and TG_CALL
// with boxed arguments (C++ has no _Generic, so plain values are boxed by
// the caller), computed on sync.  Exits 0 when the answers are right.
#include <cstdio>
#include <taskgraph.h>

static double hyp2(double x, double y)
{
    return x * x + y * y;
}
TG_ADAPT(double, hyp2, double, double)

int main()
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, tg_float(1), tg_int(2));
    tg_value *b = TG_CALL(g, hyp2, a, tg_float(0));
    tg_value *r = tg_compute(b, nullptr);
    bool ok = !tg_is_error(r) && tg_as_float(r) == 25.0;
    std::printf("hyp2(hyp2(1, 2), 0) = %g %s\n", tg_as_float(r),
                ok ? "OK" : "WRONG");
    tg_decref(r);
    tg_graph_free(g);
    return ok ? 0 : 1;
}
