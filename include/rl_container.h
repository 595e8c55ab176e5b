/* One container run: the runtime configuration derived from the options,
 * the parent's side of the run path (container.c) and the side that runs
 * inside the new namespaces (child.c). */
#ifndef RL_CONTAINER_H
#define RL_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "rl_attach.h"
#include "rl_cgroup.h"
#include "rl_error.h"
#include "rl_idmap.h"
#include "rl_mount.h"
#include "rl_options.h"
#include "rl_rootfs.h"
#include "rl_seccomp.h"
#include "rl_userns.h"

struct rl_container {
  char id[65];
  const struct rl_run_opts *opts;
  struct rl_rootfs_source rootfs;
  struct rl_userns ns;
  uint64_t caps;
  struct rl_seccomp_cfg seccomp;
  /* The filter compiled in the child while its maps are written; pid 1
   * loads it last before exec. */
  struct rl_seccomp_prog seccomp_prog;
  /* rless-init, a sealed memfd copied by the child while its maps are
   * written, before any of the container exists: every exec goes through
   * it, never through a file on the host (rl_proc_exec). */
  int init_fd;
  rl_error_t early_err; /* why that work of the child failed, if it did */
  char *hostname;
  struct rl_mount_cfg mounts;
  /* What runs, after the image config and the options are merged (an
   * image's values first, the options' over them). */
  rl_strv_t argv;
  rl_strv_t image_env; /* the image's Env, before -e and --env-file */
  char *workdir;       /* NULL: "/" */
  char *user;          /* NULL: root, or the caller with keep-id */
  char *stop_signal;   /* the image's StopSignal, NULL for SIGTERM */
  char *image_id;      /* config digest of the image, NULL with --rootfs */
  char *state_dir;     /* <data>/containers/<id> for an image, else NULL */
  char *etc_prefix;    /* its hostname, hosts and resolv.conf: this + name (rl_etcfiles.h) */
  bool etc_private;    /* --rootfs: on a tmpfs of its mount namespace (rl_container_write_etc) */
  bool has_winsize;    /* -t and the host has a terminal: its size at start */
  /* Detached (-d) runs: pid 1's stdin/stdout/stderr (-1: inherit rless'),
   * and where the monitor logs them. */
  int stdio[3];
  int log_fd, log_out, log_err; /* the log, and the read ends of stdout and stderr */
  /* Called once the command was executed (err NULL) or failed to start. */
  void (*on_start)(void *ctx, pid_t pid1, rl_error_t err);
  void *on_start_ctx;
  struct rl_attach_srv *attach; /* the monitor's attach socket with -t, or NULL */
  pid_t pid1;                   /* host pid of pid 1, once a detached start returned */
  struct rl_cgroup cgroup;      /* its own cgroup while it runs (rl_container_run) */
  struct rl_net net;            /* --network resolved (rl_net.h) */
  bool oom_killed;              /* the kernel OOM-killed something in it */
  struct winsize winsize;
};

/* Fill c from the options: resolve ids, caps, paths; everything that can be
 * checked before clone is checked here so errors come early. */
int rl_container_prepare(struct rl_container *c, struct rl_run_opts *o, rl_error_t *err);
void rl_container_free(struct rl_container *c);
/* Write its hostname, hosts and resolv.conf files at etc_prefix. */
int rl_container_write_etc(const struct rl_container *c, rl_error_t *err);
/* The same with the root filesystem, command and dirs from `source` (the
 * container `id` already exists: `rless start`). */
int rl_container_prepare_from(struct rl_container *c, struct rl_run_opts *o, const char *id,
                              int (*source)(struct rl_container *c, void *ctx, rl_error_t *err),
                              void *ctx, rl_error_t *err);

/* The whole run path; returns the container's exit status (docker's codes). */
int rl_container_run(struct rl_container *c, rl_error_t *err);

/* Inside the new user namespace (after clone): never returns. */
__attribute__((noreturn)) void rl_child_main(const struct rl_container *c, int sock);

#endif
