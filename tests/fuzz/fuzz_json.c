/* tests/fuzz/fuzz_json.c - libFuzzer harness for the JSON graph reader.
 *
 * Each input is parsed as JSON and read as a graph document (the format
 * of taskgraph/viz.h, as tg-viz reads it); a document that reads must
 * also summarize (the one-node-per-function picture tg-viz draws of big
 * graphs).  A document that does not read must fail with TG_EFORMAT (or
 * TG_ENOMEM).  ASan, UBSan and LeakSanitizer report the rest.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "viz/model_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, 0, &err);
    if (!root)
        return 0;
    tg__vgraph vg = {0};
    int rc = tg__vgraph_read_json(root, &vg);
    if (rc == 0) {
        tg__vgraph sum = {0};
        rc = tg__vgraph_summarize(&vg, &sum);
        tg__vgraph_free(&sum);
        if (rc != 0 && rc != TG_ENOMEM) {
            fprintf(stderr, "fuzz_json: a read graph does not summarize: %s\n",
                    tg_last_error());
            abort();
        }
    } else if (rc != TG_EFORMAT && rc != TG_ENOMEM) {
        fprintf(stderr, "fuzz_json: unexpected code %d: %s\n", rc,
                tg_last_error());
        abort();
    }
    tg__vgraph_free(&vg);
    json_decref(root);
    return 0;
}
