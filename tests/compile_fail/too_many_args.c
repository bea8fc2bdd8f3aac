/* hyp2 takes two arguments, not three. */
#include "common.h"

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, 1.0, 2.0, 3.0);
    tg_graph_free(g);
    return a ? 0 : 1;
}
