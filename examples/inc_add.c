/* examples/inc_add.c - the smallest graph: a = inc(1); b = inc(2);
 * c = add(a, b).  Prints 5.
 *
 * The functions are registered under their names, so the calls are
 * registered calls that could run in another process too.
 *
 * Usage: inc_add [sync|threads|loopback|cluster]   (default sync)
 */
#include <stdio.h>
#include <string.h>
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

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "sync";
    if (tg_register("inc", inc, NULL) || tg_register("add", add, NULL)) {
        fprintf(stderr, "registering: %s\n", tg_last_error());
        return 1;
    }
    /* "cluster": two worker processes on this machine, which run this
     * binary again up to here (so they have inc and add too) */
    tg_cluster *cl = NULL;
    if (strcmp(which, "cluster") == 0 && !(cl = tg_cluster_local(2, 1, NULL))) {
        fprintf(stderr, "%s\n", tg_last_error());
        return 1;
    }
    tg_scheduler *s = strcmp(which, "sync") == 0       ? tg_scheduler_sync()
                      : strcmp(which, "threads") == 0  ? tg_scheduler_threads(0)
                      : strcmp(which, "loopback") == 0 ? tg_scheduler_loopback()
                      : cl ? tg_scheduler_distributed(tg_cluster_address(cl))
                           : NULL;
    if (!s) {
        fprintf(stderr, "unknown scheduler '%s'\n", which);
        tg_cluster_close(cl);
        return 2;
    }
    tg_graph *g = tg_graph_new();
    tg_value *a = TG_DELAYED(g, inc, tg_int(1));
    tg_value *b = TG_DELAYED(g, inc, tg_int(2));
    tg_value *c = TG_DELAYED(g, add, a, b);
    if (!c) {
        fprintf(stderr, "building the graph failed: %s\n", tg_last_error());
        return 1;
    }
    tg_value *r = tg_compute(c, s);
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
    tg_scheduler_free(s);
    tg_cluster_close(cl);
    return rc;
}
