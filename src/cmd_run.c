/* rless run: options -> container -> run in the foreground, or detached
 * under a monitor (-d); the container's state is recorded as it starts and
 * ends (rl_monitor.h). */
#include "rl_attach.h"
#include "rl_cli.h"
#include "rl_console.h"
#include "rl_container.h"
#include "rl_monitor.h"

#include <stdio.h>

/* run -t of an image: the monitor holds the terminal and rless attaches to
 * it, so the detach keys can leave the container running (rless attach
 * comes back). */
static int run_attached(struct rl_container *c, rl_error_t *err)
{
  int fd = -1, code = -1;
  c->has_winsize = rl_console_get_winsize(&c->winsize);
  int r = rl_run_detached(c, &fd, err);
  if (r == 0)
    r = rl_attach_client(fd, c->opts->interactive, c->opts->detach_keys, c->pid1, &code, err);
  if (fd >= 0)
    close(fd);
  if (r == 1) {
    fprintf(stderr,
            "\r\nrless: detached from container %.12s (`rless attach %.12s` returns to it)\r\n",
            c->id, c->id);
    return 0;
  }
  if (r == 0 && code < 0)
    return rl_make_error(err, 0, "the monitor of container %.12s ended without an exit code",
                         c->id);
  return r < 0 ? -1 : code;
}

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
  if (r == 0 && o.tty && !o.detach && c.state_dir) {
    r = run_attached(&c, err);
  } else if (r == 0 && o.detach) {
    r = rl_run_detached(&c, NULL, err);
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
