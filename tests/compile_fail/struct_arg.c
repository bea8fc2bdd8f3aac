/* A struct is neither a value nor a plain C number or string. */
#include "common.h"

struct point {
    double x, y;
};

int main(void)
{
    struct point p = {1, 2};
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, p, 3.0);
    tg_graph_free(g);
    return a ? 0 : 1;
}
