/* tests/preload/squares.c - a user's task library, as deploying.md
 * builds one: compiled with nothing but `pkg-config --cflags --libs
 * taskgraph` into libsquares.so, loaded by tg-worker --preload and
 * linked into the program that builds the graphs.  Its functions are
 * registered when the library is loaded, from a constructor, so both
 * sides know them by the same names.  The program also calls
 * squares_register() itself (registering again is a no-op): that call is
 * what keeps the linker (--as-needed, the default on Debian) from
 * dropping a library the program otherwise never references.
 */
#include <stdint.h>
#include <taskgraph.h>
#include <unistd.h>

/* x * x, for an int x. */
static tg_value *square(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)nargs, (void)ctx;
    int64_t x = tg_as_int(args[0]);
    return tg_int(x * x);
}

/* The id of the process the task ran in: shows which worker ran it. */
static tg_value *where(tg_value *const *args, size_t nargs, void *ctx)
{
    (void)args, (void)nargs, (void)ctx;
    return tg_int((int64_t)getpid());
}

/* Registers the library's functions; 0 or a tg_register code. */
int squares_register(void)
{
    int rc = tg_register("squares.square", square, NULL);
    return rc ? rc : tg_register("squares.where", where, NULL);
}

__attribute__((constructor)) static void squares_load(void)
{
    squares_register();
}
