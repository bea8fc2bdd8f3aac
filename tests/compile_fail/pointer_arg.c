/* A pointer to something else is not a value either. */
#include "common.h"

int main(void)
{
    int x = 2;
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, &x, 3.0);
    tg_graph_free(g);
    return a ? 0 : 1;
}
