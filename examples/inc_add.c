/* examples/inc_add.c - the smallest graph: a = inc(1); b = inc(2);
 * c = add(a, b).  Prints 5. */
#include <stdio.h>
#include <taskgraph.h>

static tg_value *inc(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)nargs, (void)ctx;
    return tg_int(tg_as_int(args[0]) + 1);
}

static tg_value *add(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)nargs, (void)ctx;
    return tg_int(tg_as_int(args[0]) + tg_as_int(args[1]));
}

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, inc, tg_int(1));
    tg_value *b = TG_DELAYED(g, inc, tg_int(2));
    tg_value *c = TG_DELAYED(g, add, a, b);
    if (!c) {
        fprintf(stderr, "building the graph failed: %s\n", tg_last_error());
        return 1;
    }
    tg_value *r = tg_compute(c, NULL); /* NULL: the sync scheduler */
    int rc = 0;
    if (tg_is_error(r)) {
        fprintf(stderr, "%s failed: %s\n", tg_error_key(r),
                tg_error_message(r));
        rc = 1;
    } else {
        printf("%s = %lld\n", tg_key(c), (long long)tg_as_int(r));
    }
    tg_decref(r);
    tg_graph_free(g);
    return rc;
}
