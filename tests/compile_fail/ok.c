/* Compiles: the control case for the others, with the same flags. */
#include "common.h"

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, 1, 2.5);
    tg_value *b = TG_CALL(g, len_of, "abc");
    int ok = a && b;
    tg_graph_free(g);
    return ok ? 0 : 1;
}
