#include "rl_cli.h"
#include "rl_container.h"
#include "rl_image_run.h"

int rl_cmd_run(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_run_opts o;
  struct rl_container c;
  int r = rl_run_opts_parse(argc, argv, &o, err);
  if (r != 0) {
    rl_run_opts_free(&o);
    return r > 0 ? 0 : -1;
  }
  o.root = g->root;
  o.storage_driver = g->storage_driver;
  r = rl_container_prepare(&c, &o, err);
  if (r == 0)
    r = rl_container_run(&c, err);
  rl_image_cleanup(&c);
  rl_container_free(&c);
  rl_run_opts_free(&o);
  return r;
}
