/* array/array_internal.h - the chunked array layer: state and call flow.
 *
 * State.  A chunk is a TG_NDARRAY value whose payload is a tg__nd (dtype,
 * shape, C-order data and how to release it); it is immutable once
 * wrapped, so any thread may read it.  A tg_array (struct below) is
 * build-time state only: shape, regular chunk extents, the grid, and
 * either one delayed chunk per grid cell (blocks) or a *pending* form
 * that records tasks only when something needs the blocks:
 *   - prog: a fused elementwise program over leaf arrays (kernels.c);
 *   - perm_of: a permutation of another array's axes (transpose);
 *   - is_const: a 0-d constant (tg_array_scalar).
 * Pending forms let builders see through chains: an elementwise op
 * inlines its operands' programs, a reduction evaluates a program inside
 * its per-chunk partial, matmul reads a transposed operand's blocks
 * with a transpose flag and recognises a times its own transpose.
 * tg_array structs are owned by their graph (a literal node holding a
 * tg_object, as dataframes are) and touched only by the thread building
 * the graph (the caller serialises).
 *
 * Tasks.  Every task is a function registered at load time (ndarray.c's
 * constructor calls each unit's tg__array_register_*) under
 * "tg.array.<op>", recorded with exactly that pointer and a NULL
 * context, so its key hashes the name and it runs on any process.  Its
 * first argument is a list of plain values (params.c reads them and
 * fails the task with a tg_error naming what is malformed); the rest
 * are chunks (or partials: lists of chunks).  A task runs on any worker
 * thread and touches nothing but its arguments and its result.  The one
 * exception is results.c's "tg.array.store", a local call whose context
 * is a destination buffer in this process: it copies a chunk into place
 * on the in-process schedulers, so that a result is never held twice.
 *
 * Units: ndarray.c (the value, its token and codec), builders.c (the
 * struct, blocks, elementwise builders), kernels.c (the tile machine
 * that evaluates fused programs), reduce.c, layout.c (transpose, slice,
 * rechunk, concatenate), linalg.c (matmul on OpenBLAS), create.c,
 * npy.c, results.c (compute, store, persist).  array/README.md has the
 * user's view.
 */
#ifndef TG_ARRAY_ARRAY_INTERNAL_H
#define TG_ARRAY_ARRAY_INTERNAL_H

#include <string.h>

#include "runtime/alloc_internal.h"
#include "runtime/value_internal.h"
#include "taskgraph/array.h"

#define TG__ND_MAX TG_NDARRAY_MAX_DIMS

/* ---- chunk values (ndarray.c) ---------------------------------------- */

/* The payload of a TG_NDARRAY value. */
typedef struct tg__nd {
    tg_dtype dtype; /* TG_DT_FLOAT64, TG_DT_INT64 or TG_DT_BOOL */
    size_t ndim;    /* <= TG__ND_MAX */
    size_t size;    /* elements: the product of shape (1 for 0-d) */
    void *data;     /* size * itemsize bytes, C order; never NULL */
    void (*release)(void *data, void *ctx); /* frees data, or NULL */
    void *release_ctx;
    size_t shape[]; /* ndim extents */
} tg__nd;

/* Bytes per element of dtype, 0 for a dtype arrays cannot hold. */
static inline size_t tg__nd_itemsize(tg_dtype t)
{
    return t == TG_DT_FLOAT64 || t == TG_DT_INT64 ? 8 : t == TG_DT_BOOL ? 1 : 0;
}

/* The product of n extents into *out; false when it overflows or the
 * bytes (times itemsize, when not 0) would not fit a size_t. */
bool tg__nd_count(size_t n, const size_t *shape, size_t itemsize, size_t *out);

/* A new array of dtype and shape with uninitialised (or, if zero,
 * zeroed) data from the large-block allocator.  NULL with
 * tg_last_error() set. */
tg__nd *tg__nd_alloc(tg_dtype dtype, size_t ndim, const size_t *shape,
                     bool zero);
void tg__nd_free(tg__nd *a);
/* Wraps a as a TG_NDARRAY value (new reference); steals a, freeing it
 * on failure. */
tg_value *tg__nd_value(tg__nd *a);
/* The array of a TG_NDARRAY value, or NULL. */
const tg__nd *tg__nd_of(const tg_value *v);

/* Writes "(3, 4)" (NumPy's spelling) into buf. */
void tg__shape_str(char *buf, size_t len, size_t ndim, const size_t *shape);

/* ---- task parameters (params.c) -------------------------------------- */

/* A reader over a task's parameter list.  Every getter checks type and
 * range; the first failure is kept in err and later calls do nothing,
 * so a task reads everything and checks once. */
typedef struct tg__params {
    const tg_value *list;
    size_t next;
    const char *task; /* for messages */
    char err[200];    /* "" while all is well */
} tg__params;

void tg__params_init(tg__params *p, const char *task, const tg_value *list);
int64_t tg__param_int(tg__params *p, const char *what, int64_t lo, int64_t hi);
double tg__param_float(tg__params *p, const char *what);
const char *tg__param_str(tg__params *p, const char *what);
/* A list of at most max ints in [lo, hi] into out; returns the count. */
size_t tg__param_ints(tg__params *p, const char *what, size_t max, int64_t lo,
                      int64_t hi, int64_t *out);
/* The same as sizes (lo 0, hi SIZE_MAX/2); returns the count. */
size_t tg__param_sizes(tg__params *p, const char *what, size_t max,
                       size_t *out);
/* A list value, borrowed (NULL on failure). */
const tg_value *tg__param_list(tg__params *p, const char *what);
/* Checks that every parameter was read; returns NULL or a tg_error. */
tg_value *tg__params_done(tg__params *p);
/* The parameter values of the builders' lists. */
tg_value *tg__sizes_value(size_t n, const size_t *v);

/* The chunk argument i of a task as an n-d array, or NULL after writing
 * an error into err. */
const tg__nd *tg__arg_nd(const char *task, tg_value *const *args, size_t nargs,
                         size_t i, char *err, size_t len);

/* ---- fused elementwise programs (kernels.c) -------------------------- */

/* Instructions of a program, in postfix order. */
enum {
    TG__OP_IN = 1, /* push input number i */
    TG__OP_CF,     /* push the float64 constant f */
    TG__OP_CI,     /* push the int64 constant i */
    TG__OP_ADD,
    TG__OP_SUB,
    TG__OP_MUL,
    TG__OP_DIV,
    TG__OP_POW,
    TG__OP_MIN,
    TG__OP_MAX,
    TG__OP_LT,
    TG__OP_LE,
    TG__OP_GT,
    TG__OP_GE,
    TG__OP_EQ,
    TG__OP_NE,
    TG__OP_WHERE,
    TG__OP_NEG,
    TG__OP_ABS,
    TG__OP_SQRT,
    TG__OP_EXP,
    TG__OP_LOG,
    TG__OP_TO_F64,
    TG__OP_TO_I64,
    TG__OP_TO_BOOL,
    TG__OP_END
};

#define TG__PROG_MAX_CODE 128  /* instructions */
#define TG__PROG_MAX_INPUTS 16 /* leaf inputs */
#define TG__PROG_MAX_STACK 16  /* evaluation depth */

typedef struct tg__ins {
    int op;
    int64_t i; /* input number (IN) or constant (CI) */
    double f;  /* constant (CF) */
} tg__ins;

/* Checks a program against its inputs' dtypes: every op known, operands
 * present, depth within TG__PROG_MAX_STACK, exactly one result.  Gives
 * the result's dtype; returns NULL or a message (static storage of the
 * calling thread). */
const char *tg__prog_check(const tg__ins *code, size_t n_code,
                           const tg_dtype *in_types, size_t n_inputs,
                           tg_dtype *out);
/* The program as a parameter list, and back (NULL or a message). */
tg_value *tg__prog_value(const tg__ins *code, size_t n_code);
const char *tg__prog_parse(const tg_value *list, tg__ins *code, size_t *n_code);

/* A float64 program that is a chain: a leaf, then steps each either a
 * unary op or a binary op with a leaf (the value so far on its left).
 * A leaf is input `in` or, where in < 0, the constant c.  Step 0 is the
 * first leaf (op TG__OP_IN). */
typedef struct tg__chain_step {
    uint8_t op;
    int in;
    double c;
} tg__chain_step;

typedef struct tg__chain {
    size_t n;
    bool calls; /* a step calls libm for each value (exp, log, pow) */
    tg__chain_step step[TG__PROG_MAX_CODE];
} tg__chain;

/* One tile handed to a sink: n values of dtype at p - or, while p is
 * NULL, a pending float64 tile that the chain computes from src[i] (n
 * values from there, or its one value where one[i]); a sink that cannot
 * fuse it takes tg__tile_values(t). */
typedef struct tg__tile {
    tg_dtype dtype;
    const void *p;
    size_t n;
    const tg__chain *chain;
    const double *src[TG__PROG_MAX_INPUTS];
    bool one[TG__PROG_MAX_INPUTS];
    double *scratch; /* room for n values */
} tg__tile;

/* Receives the program's values tile by tile.  aux[j] is the position
 * of auxiliary stride vector j at the tile's first element and step[j]
 * its step per element (0 or 1 after merging, any value without).
 * Returns 0, or nonzero to stop with the message it wrote to err. */
typedef int (*tg__sink_fn)(void *ctx, const tg__tile *t, const int64_t *aux,
                           const int64_t *step);

#define TG__EVAL_MAX_AUX 2

/* What tg__eval runs: a program over input chunks on a chunk-shaped
 * domain, converting its result to want (when want is not -1). */
typedef struct tg__eval_spec {
    const tg__ins *code;
    size_t n_code;
    const tg__nd *const *in;
    size_t n_in;
    size_t ndim;
    const size_t *shape; /* the domain (the output chunk) */
    int want;            /* dtype handed to the sink, or -1 */
    size_t n_aux;        /* auxiliary stride vectors (reductions) */
    int64_t aux_stride[TG__EVAL_MAX_AUX][TG__ND_MAX];
    int64_t aux_base[TG__EVAL_MAX_AUX];
    bool no_merge; /* keep every axis (the sink needs exact positions) */
    bool lazy;     /* the sink takes pending tiles (tg__tile) */
} tg__eval_spec;

/* Evaluates s, calling sink on each tile in C order.  0, or -1 with a
 * message in err. */
int tg__eval(const tg__eval_spec *s, tg__sink_fn sink, void *ctx, char *err,
             size_t len);
/* Converts n values of dtype from to dtype to (from src to dst). */
void tg__convert(void *dst, tg_dtype to, const void *src, tg_dtype from,
                 size_t n);

/* ---- the chain machine (chain.c) ------------------------------------- */

/* (s, c) += x, exactly up to the final rounding of s + c (TwoSum): the
 * compensated sums of reduce.c and of fused chains. */
static inline void tg__two_sum(double *s, double *c, double x)
{
    double t = *s + x, bp = t - *s;
    *c += (*s - (t - bp)) + (x - bp);
    *s = t;
}

/* Compiles s's program into c when it is a float64 chain over float64
 * inputs whose result s wants as float64; false otherwise. */
bool tg__chain_compile(tg__chain *c, const tg__eval_spec *s);
/* Whether c can run on tiles whose inputs advance st[i] elements per
 * value (0 or 1 for every input it reads), n values at a time. */
bool tg__chain_fits(const tg__chain *c, const int64_t *st, size_t n);
/* Runs pending tile t into out (t->n values). */
void tg__chain_run(const tg__tile *t, double *out);
/* Adds pending tile t's values into 32 compensated lanes (ls[j], lc[j])
 * exactly as reduce.c's lanes_sum adds a stored tile. */
void tg__chain_sum(const tg__tile *t, double *ls, double *lc);
/* t's values: t->p, or the pending tile computed into t->scratch. */
const void *tg__tile_values(const tg__tile *t);

/* ---- chunked arrays (builders.c) ------------------------------------- */

/* A pending fused elementwise chain. */
typedef struct tg__prog {
    size_t n_code;
    tg__ins code[TG__PROG_MAX_CODE];
    size_t n_inputs;
    tg_array *inputs[TG__PROG_MAX_INPUTS]; /* leaves, each aligned with the
                                              result's chunks */
} tg__prog;

struct tg_array {
    tg_graph *g;
    tg_dtype dtype;
    size_t ndim;
    size_t shape[TG__ND_MAX];
    size_t chunk[TG__ND_MAX]; /* >= 1 */
    size_t grid[TG__ND_MAX];  /* chunks per axis, >= 1 */
    size_t n_blocks;          /* product of grid */
    tg_value **blocks;        /* n_blocks delayed chunks (borrowed from
                                 g, C order over the grid), or NULL while
                                 pending */
    tg__prog *prog;           /* pending elementwise chain, or NULL */
    tg_array *perm_of;        /* pending: perm_of's axes permuted ... */
    size_t perm[TG__ND_MAX];  /* ... axis i is perm_of's axis perm[i] */
    uint32_t *order;          /* n_blocks: the order in which to compute
                                 the chunks (costliest first, so that the
                                 last tasks of a run are short), or NULL
                                 for C order; owned */
    bool is_const;            /* pending: a 0-d constant */
    double cf;                /* its value (float64) */
    int64_t ci;               /* its value (int64) */
};

/* A new array of g, owned by g, with this shape and chunks (0 or more
 * than the extent: the whole axis), no blocks yet.  NULL on failure. */
tg_array *tg__array_new(tg_graph *g, tg_dtype dtype, size_t ndim,
                        const size_t *shape, const size_t *chunks);
/* Gives a the chunk order of from when both have the same chunk grid
 * and from has one (an elementwise result keeps its operand's).  0 or
 * TG_ENOMEM. */
int tg__array_keep_order(tg_array *a, const tg_array *from);
/* The chunk to compute k-th: a->order[k], or k. */
static inline size_t tg__array_nth(const tg_array *a, size_t k)
{
    return a->order ? a->order[k] : k;
}
/* Allocates a->blocks (all NULL).  0 or TG_ENOMEM. */
int tg__array_alloc_blocks(tg_array *a);
/* The delayed chunks of a, recording the tasks of a pending form first.
 * NULL with tg_last_error() set. */
tg_value **tg__array_blocks(tg_array *a);
/* Checks builder inputs: none NULL, all of one graph.  0 or TG_EINVAL. */
int tg__array_check(const char *fn, size_t n, tg_array *const *arrays);
/* The extents of chunk number b (C order over the grid) and its first
 * index per axis (either may be NULL). */
void tg__array_block_box(const tg_array *a, size_t b, size_t *shape,
                         size_t *start);
/* The library's array tasks, each registered at load as its name. */
typedef enum tg__task {
    TG__T_ELEMWISE = 0, /* kernels.c */
    TG__T_CHECK,
    TG__T_FULL, /* create.c */
    TG__T_RANDOM,
    TG__T_ARANGE,
    TG__T_PARTIAL, /* reduce.c */
    TG__T_COMBINE,
    TG__T_REGRID, /* layout.c */
    TG__T_TRANSPOSE,
    TG__T_MATMUL, /* linalg.c */
    TG__T_SYRK,
    TG__T_NPY_READ, /* npy.c */
    TG__T_NPY_WRITE,
    TG__T_COUNT
} tg__task;

/* Registers fn as task id under name (at load, from a constructor). */
void tg__array_register(tg__task id, const char *name, tg_fn fn);
/* Records task id (params, args...) as a registered call: the function
 * registered under its name, with a NULL context.  Steals params and
 * args (args may be NULL when nargs is 0).  Borrowed delayed value, or
 * NULL with tg_last_error() set. */
tg_value *tg__array_call(tg_graph *g, tg__task id, tg_value *params,
                         size_t nargs, tg_value *const *args);
/* A new array holding a's elements with chunks (materialised, rechunked
 * when they differ). */
tg_array *tg__array_rechunk_to(tg_array *a, const size_t *chunks);
/* The NumPy promotion of two dtypes for arithmetic. */
tg_dtype tg__promote(tg_dtype a, tg_dtype b);
/* Normalises an axis argument for an array of ndim axes; -1 when out of
 * range. */
int tg__norm_axis(int axis, size_t ndim);

/* ---- task registration (one per unit, called at load) ---------------- */

void tg__array_register_kernels(void);
void tg__array_register_create(void);
void tg__array_register_reduce(void);
void tg__array_register_layout(void);
void tg__array_register_linalg(void);
void tg__array_register_npy(void);

/* ---- cross-unit builders -------------------------------------------- */

/* The delayed chunks of every leaf of p into leaf[i].  0 or a code. */
int tg__prog_leaves(const tg__prog *p, tg_value ***leaf);
/* The leaves' chunks that chunk b of dom (the array p computes) reads,
 * into args[0 .. p->n_inputs). */
void tg__prog_leaf_args(const tg_array *dom, const tg__prog *p,
                        tg_value **const *leaf, size_t b, tg_value **args);
/* Records a materialised permutation of a's axes. */
tg_array *tg__array_permute_now(tg_array *a, const size_t *perm);
/* The pending program of a as (code, inputs): a's own program, or the
 * one-instruction program reading a (or a constant). */
void tg__array_as_prog(tg_array *a, tg__prog *out);

/* Most chunk arguments a regrid task may have per output chunk. */
#define TG__REGRID_MAX_PIECES 65536

/* Kernel attributes: hot loops are compiled for AVX-512, AVX2 and the
 * baseline, chosen at load time (GCC/clang function multiversioning). */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__SANITIZE_THREAD__)
#define TG__CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef TG__CLONES
#define TG__CLONES
#endif

#endif /* TG_ARRAY_ARRAY_INTERNAL_H */
