/* A number where a string goes: tg__string_parameter_takes_no_number. */
#include "common.h"

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_CALL(g, len_of, 42);
    tg_graph_free(g);
    return a ? 0 : 1;
}
