/* tests/preload/main.c - the program of tests/check_preload.sh.
 *
 * Usage: squares SCHEDULER_FILE N
 * Waits for two workers, sums the squares of 1..N on the cluster (its
 * functions come from libsquares.so, which this program links and the
 * workers preload), checks the sum against sync and that both workers
 * ran tasks, then stops the cluster with tg_shutdown_scheduler.
 * Exits 0 when all of that holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <taskgraph.h>

int squares_register(void); /* from libsquares.so */

int main(int argc, char **argv)
{
    if (argc != 3 || squares_register() != 0)
        return 2;
    const char *file = argv[1];
    int n = atoi(argv[2]);
    if (n < 1 || n > 100000 || tg_wait_for_workers(file, 2, 30000) != 0) {
        fprintf(stderr, "squares: %s\n", n < 1 ? "bad N" : tg_last_error());
        return 1;
    }
    tg_scheduler *dist = tg_scheduler_distributed(file);
    if (!dist) {
        fprintf(stderr, "squares: %s\n", tg_last_error());
        return 1;
    }
    tg_graph *g = tg_graph_new();
    tg_value **sq = malloc((size_t)n * sizeof *sq);
    tg_value *pids[8], *out[8];
    for (int i = 0; i < n; i++)
        sq[i] = tg_delayed_registered(g, "squares.square", 1, tg_int(i + 1));
    tg_value *total = tg_delayed_reduce(g, "tg.sum", (size_t)n, sq, 0);
    for (int i = 0; i < 8; i++)
        pids[i] = tg_delayed_registered(g, "squares.where", 1, tg_int(i));
    tg_value *want = tg_compute(total, NULL);
    tg_value *got = tg_compute(total, dist);
    int rc = 0;
    if (tg_is_error(got) || tg_as_int(got) != tg_as_int(want)) {
        fprintf(stderr, "squares: the cluster's sum differs: %s\n",
                tg_is_error(got) ? tg_error_message(got) : "wrong value");
        rc = 1;
    }
    if (tg_compute_many(pids, 8, out, dist) != 0) {
        fprintf(stderr, "squares: %s\n", tg_error_message(out[0]));
        rc = 1;
    } else {
        int distinct = 1;
        for (int i = 1; i < 8; i++)
            distinct += tg_as_int(out[i]) != tg_as_int(out[0]);
        if (distinct == 1) {
            fprintf(stderr, "squares: one worker ran every task\n");
            rc = 1;
        }
        for (int i = 0; i < 8; i++)
            tg_decref(out[i]);
    }
    if (rc == 0)
        printf("squares: sum of squares of 1..%d = %lld on the cluster\n", n,
               (long long)tg_as_int(got));
    tg_decref(want);
    tg_decref(got);
    tg_graph_free(g);
    free(sq);
    tg_scheduler_free(dist);
    if (tg_shutdown_scheduler(file) != 0) {
        fprintf(stderr, "squares: %s\n", tg_last_error());
        rc = 1;
    }
    return rc;
}
