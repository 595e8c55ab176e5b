/* PLACEHOLDER: being written; replaced whole by its owner. */
#include "rl_cli.h"

int rl_cmd_save(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  return rl_make_error(err, 0, "`%s` is not built yet", argv[0]);
}

int rl_cmd_load(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  return rl_make_error(err, 0, "`%s` is not built yet", argv[0]);
}

int rl_cmd_import(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  return rl_make_error(err, 0, "`%s` is not built yet", argv[0]);
}

