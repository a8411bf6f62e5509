#include <pocketsphinx.h>
#include <sphinxbase/err.h>

/* cmd_ln_init is variadic, which Swift cannot call: build the configuration from an argv array. */
static inline cmd_ln_t *visor_ps_config(int argc, char **argv) {
    return cmd_ln_parse_r(NULL, ps_args(), argc, argv, 0);
}
