/* rless run: options -> container -> run in the foreground, or detached
 * under a monitor (-d); the container's state is recorded as it starts and
 * ends (rl_monitor.h). */
#include "rl_cli.h"
#include "rl_container.h"
#include "rl_monitor.h"

#include <stdio.h>

int rl_cmd_run(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_run_opts o;
  struct rl_container c;
  int r = rl_run_opts_parse(argc, argv, &o, err);
  if (r != 0) {
    rl_run_opts_free(&o);
    return r > 0 ? 0 : -1;
  }
  if (o.detach && o.rootfs) {
    rl_run_opts_free(&o);
    rl_make_error(err, 0, "--detach needs an image: containers of --rootfs DIR are not recorded");
    return rl_error_hint(err,
                         "make the tree an image first: tar -C DIR -c . | rless import - NAME");
  }
  o.root = g->root;
  o.storage_driver = g->storage_driver;
  r = rl_container_prepare(&c, &o, err);
  if (r == 0 && o.detach) {
    r = rl_run_detached(&c, err);
    if (r == 0)
      printf("%s\n", c.id);
  } else if (r == 0) {
    rl_container_track(&c);
    r = rl_container_run(&c, err);
    rl_container_finish(&c, r >= 0 ? r : (*err)->exit_code);
  }
  rl_container_free(&c);
  rl_run_opts_free(&o);
  return r;
}
