/* dataframe/tasks.c - the registry of the dataframe's task functions.
 *
 * Every task the dataframe records is a registered call: when the
 * library loads, tg__df_register (run by the one constructor, in
 * frame.c) registers each function under "tg.df.<op>" with a NULL
 * context, and the codec types of frames and partials; tg__df_call
 * records exactly that name, function and context, so a call's key
 * hashes the name and a worker resolves it from the name alone.
 * DESIGN.md: "registered vs local calls".
 */
#include "df_internal.h"
#include "runtime/codec_internal.h"

static const struct {
    const char *name;
    tg_fn fn;
} ops[TG__N_OPS] = {
    [TG__OP_READ_CSV] = {"tg.df.read_csv", tg__task_read_csv},
    [TG__OP_CSV_COUNT] = {"tg.df.csv_count", tg__task_csv_count},
    [TG__OP_CSV_PREFIX] = {"tg.df.csv_prefix", tg__task_csv_prefix},
    [TG__OP_CHECK] = {"tg.df.check", tg__task_check},
    [TG__OP_FILTER] = {"tg.df.filter", tg__task_filter},
    [TG__OP_ASSIGN] = {"tg.df.assign", tg__task_assign},
    [TG__OP_PROJECT] = {"tg.df.project", tg__task_project},
    [TG__OP_HEAD] = {"tg.df.head", tg__task_head},
    [TG__OP_CONCAT] = {"tg.df.concat", tg__task_concat},
    [TG__OP_EMPTY] = {"tg.df.empty", tg__task_empty},
    [TG__OP_LEN] = {"tg.df.len", tg__task_len},
    [TG__OP_SUM] = {"tg.df.sum", tg__task_sum},
    [TG__OP_PARTIAL] = {"tg.df.agg_partial", tg__task_partial},
    [TG__OP_COMBINE] = {"tg.df.agg_combine", tg__task_combine},
    [TG__OP_FINISH] = {"tg.df.agg_finish", tg__task_finish},
    [TG__OP_SPLIT] = {"tg.df.agg_split", tg__task_split},
    [TG__OP_PICK] = {"tg.df.pick", tg__task_pick},
    [TG__OP_MERGE] = {"tg.df.agg_merge", tg__task_merge},
    [TG__OP_WRITE_PART] = {"tg.df.write_csv_part", tg__task_write_part},
    [TG__OP_WRITE_CHAIN] = {"tg.df.write_csv", tg__task_write_chain},
    [TG__OP_SHUFFLE_SPLIT] = {"tg.df.shuffle_split", tg__task_shuffle_split},
    [TG__OP_SORT_SAMPLE] = {"tg.df.sort_sample", tg__task_sort_sample},
    [TG__OP_SORT_SPLITTERS] = {"tg.df.sort_splitters", tg__task_sort_splitters},
    [TG__OP_SORT] = {"tg.df.sort", tg__task_sort},
    [TG__OP_JOIN] = {"tg.df.join", tg__task_join},
    [TG__OP_TRANSFORM] = {"tg.df.transform", tg__task_transform},
    [TG__OP_CSV_FORMAT] = {"tg.df.csv_format", tg__task_csv_format},
};

/* A failure (out of memory, or a program that registered one of these
 * names first) leaves that op a local call: it still runs here, and a
 * scheduler that crosses processes refuses it by name. */
void tg__df_register(void)
{
    for (size_t i = 0; i < TG__N_OPS; i++)
        (void)tg_register(ops[i].name, ops[i].fn, NULL);
    (void)tg__codec_register(&tg__frame_codec);
    (void)tg__codec_register(&tg__partial_codec);
}

tg_value *tg__df_call(tg_graph *g, tg__df_op op, size_t nargs,
                      tg_value *const *args)
{
    assert((unsigned)op < TG__N_OPS);
    return tg_delayed_v(g, ops[op].name, ops[op].fn, NULL, 0, nargs, args);
}

tg_value *tg__df_tree(tg_graph *g, tg__df_op op, tg_value *const *lead,
                      size_t n_lead, tg_value **vals, size_t n, size_t fan)
{
    tg_value *small[40], **args = small;
    if (fan < 2)
        fan = 2;
    if (fan + n_lead > 40
        && !(args = tg__malloc((fan + n_lead) * sizeof *args)))
        return NULL;
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += fan) {
            size_t k = n - i < fan ? n - i : fan;
            for (size_t a = 0; a < n_lead; a++)
                args[a] = tg_incref(lead[a]);
            memcpy(args + n_lead, vals + i, k * sizeof *args);
            if (!(vals[m++] = tg__df_call(g, op, n_lead + k, args))) {
                n = 0;
                break;
            }
        }
        n = m;
    }
    if (args != small)
        tg__free(args);
    return n ? vals[0] : NULL;
}

tg_value *tg__df_not_frame(const char *task, const tg_value *v)
{
    return tg_error("%s: expected a frame, got %s", task,
                    tg_type_name(tg_typeof(v)));
}

tg_value *tg__df_bad_param(const char *task, const char *what, const char *why)
{
    return tg_error("%s: malformed %s parameter: %s", task, what, why);
}
