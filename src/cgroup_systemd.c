/* A delegated cgroup from the systemd user manager: StartTransientUnit of a
 * scope with Delegate=yes and our pid, over sd-bus, then wait for its job.
 * libsystemd is opened with dlopen only here, so `rless run` on a host
 * whose cgroup is writable (or without systemd) never loads it.  The few
 * sd-bus types are declared here: opaque pointers, and sd_bus_error, whose
 * layout is part of libsystemd's stable ABI. */
#include "rl_cgroup.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_slot sd_bus_slot;
typedef struct {
  const char *name;
  const char *message;
  int need_free;
} sd_bus_error;
typedef int (*sd_bus_handler)(sd_bus_message *m, void *userdata, sd_bus_error *ret);

struct sdbus {
  void *lib;
  int (*open_user)(sd_bus **);
  int (*new_call)(sd_bus *, sd_bus_message **, const char *, const char *, const char *,
                  const char *);
  int (*append)(sd_bus_message *, const char *, ...);
  int (*open_container)(sd_bus_message *, char, const char *);
  int (*close_container)(sd_bus_message *);
  int (*call)(sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
  int (*read)(sd_bus_message *, const char *, ...);
  int (*match_signal)(sd_bus *, sd_bus_slot **, const char *, const char *, const char *,
                      const char *, sd_bus_handler, void *);
  int (*process)(sd_bus *, sd_bus_message **);
  int (*wait)(sd_bus *, uint64_t);
  void (*error_free)(sd_bus_error *);
  sd_bus_message *(*message_unref)(sd_bus_message *);
  sd_bus_slot *(*slot_unref)(sd_bus_slot *);
  sd_bus *(*close_unref)(sd_bus *);
};

static int load(struct sdbus *b, rl_error_t *err)
{
  b->lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (b->lib == NULL)
    return rl_make_error(err, 0, "load libsystemd: %s", dlerror());
  struct {
    const char *name;
    void **slot;
  } syms[] = {
      {"sd_bus_open_user", (void **)&b->open_user},
      {"sd_bus_message_new_method_call", (void **)&b->new_call},
      {"sd_bus_message_append", (void **)&b->append},
      {"sd_bus_message_open_container", (void **)&b->open_container},
      {"sd_bus_message_close_container", (void **)&b->close_container},
      {"sd_bus_call", (void **)&b->call},
      {"sd_bus_message_read", (void **)&b->read},
      {"sd_bus_match_signal", (void **)&b->match_signal},
      {"sd_bus_process", (void **)&b->process},
      {"sd_bus_wait", (void **)&b->wait},
      {"sd_bus_error_free", (void **)&b->error_free},
      {"sd_bus_message_unref", (void **)&b->message_unref},
      {"sd_bus_slot_unref", (void **)&b->slot_unref},
      {"sd_bus_flush_close_unref", (void **)&b->close_unref},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(syms); i++) {
    *syms[i].slot = dlsym(b->lib, syms[i].name);
    if (*syms[i].slot == NULL)
      return rl_make_error(err, 0, "libsystemd has no %s", syms[i].name);
  }
  return 0;
}

struct job_wait {
  struct sdbus *b;
  const char *job;
  char *result; /* set when the job is gone */
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
  struct job_wait *w = userdata;
  uint32_t id;
  const char *path, *unit, *result;
  if (w->job && w->b->read(m, "uoss", &id, &path, &unit, &result) >= 0 && strcmp(path, w->job) == 0)
    w->result = rl_xstrdup(result);
  return 0;
}

/* The method call: StartTransientUnit(name, "fail", properties, aux). */
static int build_call(struct sdbus *b, sd_bus *bus, const char *name, sd_bus_message **m)
{
  int r = b->new_call(bus, m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                      "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = b->append(*m, "ss", name, "fail");
  if (r >= 0)
    r = b->open_container(*m, 'a', "(sv)");
  if (r >= 0)
    r = b->append(*m, "(sv)(sv)(sv)(sv)", "Delegate", "b", 1, "PIDs", "au", 1, (uint32_t)getpid(),
                  "CollectMode", "s", "inactive-or-failed", "Description", "s",
                  "rless container supervisor");
  if (r >= 0)
    r = b->close_container(*m);
  if (r >= 0)
    r = b->append(*m, "a(sa(sv))", 0);
  return r;
}

static int wait_job(struct sdbus *b, sd_bus *bus, struct job_wait *w, const char *name,
                    rl_error_t *err)
{
  /* TCG-emulated test VMs take seconds; a real host milliseconds. */
  for (int i = 0; i < 300 && w->result == NULL; i++) {
    int r = b->process(bus, NULL);
    if (r < 0)
      return rl_make_error(err, -r, "read the session bus while waiting for %s", name);
    if (r == 0)
      b->wait(bus, 100000);
  }
  if (w->result == NULL)
    return rl_make_error(err, 0, "systemd did not start %s within 30 seconds", name);
  if (strcmp(w->result, "done") != 0)
    return rl_make_error(err, 0, "systemd could not start %s: job %s", name, w->result);
  return 0;
}

static int start_scope(struct sdbus *b, const char *name, rl_error_t *err)
{
  sd_bus *bus = NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_slot *slot = NULL;
  sd_bus_error e = {0};
  struct job_wait w = {.b = b};
  int r = b->open_user(&bus);
  if (r < 0) {
    rl_make_error(err, -r, "connect to the session bus");
  } else if ((r = b->match_signal(bus, &slot, "org.freedesktop.systemd1",
                                  "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                  "JobRemoved", on_job_removed, &w)) < 0) {
    rl_make_error(err, -r, "subscribe to systemd's JobRemoved");
  } else if ((r = build_call(b, bus, name, &m)) < 0) {
    rl_make_error(err, -r, "build the StartTransientUnit call for %s", name);
  } else if ((r = b->call(bus, m, 30000000, &e, &reply)) < 0) {
    rl_make_error(err, -r, "ask the systemd user manager for the scope %s: %s", name,
                  e.message ? e.message : "refused");
  } else if ((r = b->read(reply, "o", &w.job)) < 0) {
    rl_make_error(err, -r, "read StartTransientUnit's reply");
  } else {
    r = wait_job(b, bus, &w, name, err);
  }
  free(w.result);
  b->error_free(&e);
  if (reply)
    b->message_unref(reply);
  if (m)
    b->message_unref(m);
  if (slot)
    b->slot_unref(slot);
  if (bus)
    b->close_unref(bus);
  return r < 0 ? -1 : 0;
}

int rl_systemd_delegated_scope(const char *name, rl_error_t *err)
{
  const char *rt = getenv("XDG_RUNTIME_DIR");
  if (getenv("DBUS_SESSION_BUS_ADDRESS") == NULL && rt == NULL)
    return rl_make_error(err, 0,
                         "no session bus (neither DBUS_SESSION_BUS_ADDRESS nor "
                         "XDG_RUNTIME_DIR is set)");
  if (getenv("DBUS_SESSION_BUS_ADDRESS") == NULL) {
    cleanup_free char *sock = rl_xasprintf("%s/bus", rt);
    if (access(sock, F_OK) < 0)
      return rl_make_error(err, errno, "no session bus at %s", sock);
  }
  struct sdbus b = {0};
  int r = load(&b, err);
  if (r == 0)
    r = start_scope(&b, name, err);
  /* Not closed: libsystemd may keep thread-local state whose destructors
   * would point into an unmapped library (the reason idmap.c keeps
   * libsubid too). */
  return r;
}
