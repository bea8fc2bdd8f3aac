/* tests/mpi_client.c - the program tests/test_mpi.sh runs under tg-mpi.
 *
 * Rank 1 of the launch runs it with TG_SCHEDULER_FILE set; it computes a
 * graph whose tasks read data made on the other worker, on the cluster
 * (tg_scheduler_distributed(NULL)) and on sync, and exits 0 when both
 * agree and both workers (ranks 2 and 3) ran tasks.
 */
#include <stdio.h>

#include "net_fns.c"

int main(void)
{
    tg_scheduler *dist = tg_scheduler_distributed(NULL);
    if (!dist) {
        fprintf(stderr, "mpi_client: %s\n", tg_last_error());
        return 1;
    }
    tg_graph *g = tg_graph_new();
    tg_value *blobs[8], *pids[16], *out[16];
    for (int i = 0; i < 8; i++)
        blobs[i] = tg_delayed_registered(g, "net.blob", 1,
                                         tg_int((1 << 18) + 1000 * i));
    tg_value *pairs[4];
    for (int i = 0; i < 4; i++)
        pairs[i] = tg_delayed_registered(g, "net.bytesum", 2, blobs[2 * i],
                                         blobs[7 - 2 * i]);
    tg_value *total = tg_delayed_registered(g, "net.mix0", 4, pairs[0],
                                            pairs[1], pairs[2], pairs[3]);
    for (int i = 0; i < 16; i++)
        pids[i] = tg_delayed_registered(g, "net.pid", 1, tg_int(i));
    tg_value *want = tg_compute(total, NULL); /* sync */
    tg_value *got = tg_compute(total, dist);
    int rc = 0;
    if (tg_is_error(got) || tg_as_int(got) != tg_as_int(want)) {
        fprintf(stderr, "mpi_client: the cluster's total differs: %s\n",
                tg_is_error(got) ? tg_error_message(got) : "wrong value");
        rc = 1;
    }
    if (tg_compute_many(pids, 16, out, dist) != 0) {
        fprintf(stderr, "mpi_client: %s\n", tg_error_message(out[0]));
        rc = 1;
    } else {
        int distinct = 1;
        for (int i = 1; i < 16; i++)
            distinct += tg_as_int(out[i]) != tg_as_int(out[0]);
        if (distinct == 1) {
            fprintf(stderr, "mpi_client: one worker ran every task\n");
            rc = 1;
        }
    }
    for (int i = 0; i < 16; i++)
        tg_decref(out[i]);
    tg_decref(want);
    tg_decref(got);
    tg_graph_free(g);
    tg_scheduler_free(dist);
    if (rc == 0)
        printf("mpi_client: the cluster agrees with sync\n");
    return rc;
}
