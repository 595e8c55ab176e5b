/* The "config" of container.json: the runtime configuration of a container
 * after the image config and the options are merged, everything `rless
 * start` needs to run it again and `inspect` shows. */
#include "rl_container.h"
#include "rl_json.h"
#include "rl_cstate.h"
#include "rl_options.h"

static const char *userns_name(enum rl_userns_mode m)
{
  static const char *const names[] = {"auto", "subids", "keep-id", "single"};
  return (size_t)m < RL_ARRAY_SIZE(names) ? names[m] : "auto";
}

static json_t *volumes_json(const struct rl_run_opts *o)
{
  json_t *a = json_array();
  for (size_t i = 0; i < o->n_volumes; i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "source", o->volumes[i].src,
                                       "destination", o->volumes[i].dst, "ro", o->volumes[i].ro));
  return a;
}

/* docker's Config.Entrypoint and Config.Cmd after --entrypoint and the
 * command arguments (rl_image_argv's rules): null when there is none. */
static void entrypoint_cmd(const struct rl_run_opts *o, json_t *image_config, json_t **ep,
                           json_t **cmd)
{
  json_t *iep = json_object_get(image_config, "Entrypoint");
  json_t *icmd = json_object_get(image_config, "Cmd");
  if (o->entrypoint == NULL)
    *ep = json_is_array(iep) && json_array_size(iep) > 0 ? json_deep_copy(iep) : json_null();
  else
    *ep = *o->entrypoint ? json_pack("[s]", o->entrypoint) : json_null();
  if (o->argv.n > 0)
    *cmd = rl_strv_to_json(&o->argv);
  else if (o->entrypoint == NULL && json_is_array(icmd) && json_array_size(icmd) > 0)
    *cmd = json_deep_copy(icmd);
  else
    *cmd = json_null();
}

json_t *rl_cstate_run_config(const struct rl_container *c, json_t *image_config,
                             const char *storage_driver)
{
  const struct rl_run_opts *o = c->opts;
  cleanup_strv rl_strv_t env = {0};
  for (size_t i = 0; i < c->image_env.n; i++)
    rl_env_set(&env, c->image_env.v[i]);
  for (size_t i = 0; i < o->env.n; i++)
    rl_env_set(&env, o->env.v[i]);
  cleanup_free char *hostname = o->hostname ? rl_xstrdup(o->hostname) : rl_xstrndup(c->id, 12);
  json_t *ep, *cmd;
  entrypoint_cmd(o, image_config, &ep, &cmd);
  json_t *j =
      json_pack("{s:o, s:s?, s:s?, s:s, s:b, s:b, s:b, s:b, s:s}", "env", rl_strv_to_json(&env),
                "workdir", c->workdir, "user", c->user, "hostname", hostname, "tty", o->tty,
                "interactive", o->interactive, "read_only", o->read_only, "init", o->init,
                "network", o->network == RL_NET_HOST ? "host" : "none");
  json_object_set_new(j, "volumes", volumes_json(o));
  json_object_set_new(j, "tmpfs", rl_strv_to_json(&o->tmpfs));
  json_object_set_new(j, "cap_add", rl_strv_to_json(&o->cap_add));
  json_object_set_new(j, "cap_drop", rl_strv_to_json(&o->cap_drop));
  json_object_set_new(j, "userns", json_string(userns_name(o->userns)));
  json_object_set_new(j, "userns_resolved", json_string(userns_name(c->ns.mode)));
  json_object_set_new(j, "storage_driver", json_string(storage_driver ? storage_driver : ""));
  json_object_set_new(j, "entrypoint", ep);
  json_object_set_new(j, "cmd", cmd);
  json_object_set_new(j, "argv", rl_strv_to_json(&c->argv));
  json_object_set_new(j, "privileged", json_boolean(o->privileged));
  json_object_set_new(j, "seccomp", o->seccomp ? json_string(o->seccomp) : json_null());
  json_object_set_new(j, "seccomp_profile", rl_seccomp_cfg_json(&c->seccomp));
  json_object_set_new(j, "mask", rl_strv_to_json(&o->mask));
  json_object_set_new(j, "add_hosts", rl_strv_to_json(&o->add_hosts));
  json_object_set_new(j, "dns", rl_strv_to_json(&o->dns));
  json_object_set_new(j, "dns_search", rl_strv_to_json(&o->dns_search));
  json_object_set_new(j, "unmask", rl_strv_to_json(&o->unmask));
  json_t *res = json_object();
  rl_cgroup_limits_to_json(&o->limits, res);
  json_object_set_new(j, "resources", res);
  rl_net_to_json(&c->net, &o->net, j); /* "network" and the rest of it, as resolved */
  return j;
}
