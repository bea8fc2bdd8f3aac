/* A string where a double goes: tg__number_parameter_takes_no_string. */
#include "common.h"

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, hyp2, "2", 3.0);
    tg_graph_free(g);
    return a ? 0 : 1;
}
