/* rless login / rless logout (in rless-image).  Login checks the credentials
 * against the registry's /v2/ before it keeps them, as docker does, so a typo
 * never replaces a working login; the credentials go to the registry client
 * as an auth.json that lives in a memfd, and to disk only once accepted. */
#include "rl_auth.h"
#include "rl_cli.h"
#include "rl_imageref.h"
#include "rl_registry.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>

#define SECRET_MAX    4096      /* a user name or password */
#define AUTH_FILE_MAX (4 << 20) /* as src/auth.c reads them */

static void free_secretp(char **s)
{
  if (*s) {
    explicit_bzero(*s, strlen(*s));
    free(*s);
  }
}
#define cleanup_secret __attribute__((cleanup(free_secretp)))

struct login_opts {
  const char *user, *pass, *auth_file, *registries_conf, *registry;
  bool password_stdin;
  int tls_verify; /* -1: from the registries config */
};

static const char login_usage[] =
    "Usage: rless login [OPTIONS] REGISTRY\n\n"
    "Check credentials against REGISTRY (host[:port]) and store them.\n\n"
    "  -u, --username USER       user name (asked on the terminal when missing)\n"
    "  -p, --password PASS       password (visible to other users: prefer --password-stdin)\n"
    "      --password-stdin      read the password from standard input\n"
    "      --authfile FILE       auth.json to write (default: see `man containers-auth.json`)\n"
    "      --tls-verify=BOOL     false: plain http; true: https (default: the registries\n"
    "                            config's `insecure`, else https)\n"
    "      --registries-conf F   registries config (JSON) instead of the default\n";

static const char logout_usage[] =
    "Usage: rless logout [OPTIONS] REGISTRY\n"
    "       rless logout [OPTIONS] --all\n\n"
    "  -a, --all                 remove the credentials of every registry in the auth file\n"
    "      --authfile FILE       auth.json to change (default: the one login writes)\n";

static int bad_option(const char *cmd, const char *opt, rl_error_t *err)
{
  rl_make_error(err, 0, "bad option `%s` for `rless %s`", opt, cmd);
  return rl_error_hint(err, "see `rless %s --help`", cmd);
}

static int parse_tls_verify(const char *v, int *out, rl_error_t *err)
{
  if (v == NULL || strcmp(v, "true") == 0)
    *out = 1;
  else if (strcmp(v, "false") == 0)
    *out = 0;
  else
    return rl_make_error(err, 0, "invalid --tls-verify `%s`: use true or false", v);
  return 0;
}

/* 0 parsed, 1 help printed, -1 error. */
static int parse_login(int argc, char **argv, struct login_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"username", required_argument, NULL, 'u'},
      {"password", required_argument, NULL, 'p'},
      {"password-stdin", no_argument, NULL, 's'},
      {"authfile", required_argument, NULL, 'A'},
      {"tls-verify", optional_argument, NULL, 'T'},
      {"registries-conf", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:u:p:", opts, NULL)) != -1) {
    switch (c) {
    case 'u':
      o->user = optarg;
      break;
    case 'p':
      o->pass = optarg;
      break;
    case 's':
      o->password_stdin = true;
      break;
    case 'A':
      o->auth_file = optarg;
      break;
    case 'T':
      if (parse_tls_verify(optarg, &o->tls_verify, err) < 0)
        return -1;
      break;
    case 'c':
      o->registries_conf = optarg;
      break;
    case 'h':
      fputs(login_usage, stdout);
      return 1;
    default:
      return bad_option("login", argv[optind - 1], err);
    }
  }
  if (optind + 1 != argc)
    return rl_make_error(err, 0, "`rless login` takes exactly one registry (host[:port])");
  o->registry = argv[optind];
  if (o->pass && o->password_stdin)
    return rl_make_error(err, 0, "`rless login`: -p and --password-stdin exclude each other");
  if (o->password_stdin && o->user == NULL)
    return rl_make_error(err, 0, "`rless login --password-stdin` needs the user name with -u");
  return 0;
}

/* One line (tty) or everything up to EOF (a pipe), without the line end. */
static char *read_secret(int fd, bool one_line, const char *what, rl_error_t *err)
{
  cleanup_secret char *buf = rl_xcalloc(1, SECRET_MAX + 1);
  size_t len = 0;
  for (;;) {
    if (len == SECRET_MAX) {
      rl_make_error(err, 0, "the %s is longer than %d bytes", what, SECRET_MAX);
      return NULL;
    }
    ssize_t r = read(fd, buf + len, one_line ? 1 : SECRET_MAX - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rl_make_error(err, errno, "read the %s", what);
      return NULL;
    }
    if (r == 0)
      break;
    len += (size_t)r;
    if (one_line && buf[len - 1] == '\n')
      break;
  }
  if (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  if (len == 0) {
    rl_make_error(err, 0, "the %s is empty", what);
    return NULL;
  }
  if (memchr(buf, '\0', len) != NULL) {
    rl_make_error(err, 0, "the %s contains a NUL byte", what);
    return NULL;
  }
  return rl_steal_ptr(&buf);
}

/* Ask on the controlling terminal, echoing only when asked to. */
static char *ask_terminal(const char *prompt, bool echo, const char *what, rl_error_t *err)
{
  cleanup_close int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    rl_make_error(err, errno, "open the terminal `/dev/tty` to ask for the %s", what);
    rl_error_hint(err, "give it on the command line: -u USER, and --password-stdin or -p");
    return NULL;
  }
  struct termios saved, quiet;
  bool restore = false;
  if (!echo) {
    if (tcgetattr(fd, &saved) < 0) {
      rl_make_error(err, errno, "read the settings of the terminal `/dev/tty`");
      return NULL;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL; /* the Enter still moves to the next line */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
      rl_make_error(err, errno, "turn off echo on the terminal `/dev/tty`");
      return NULL;
    }
    restore = true;
  }
  char *line = NULL;
  if (rl_write_all(fd, prompt, strlen(prompt)) < 0)
    rl_make_error(err, errno, "write to the terminal `/dev/tty`");
  else
    line = read_secret(fd, true, what, err);
  if (restore)
    tcsetattr(fd, TCSAFLUSH, &saved);
  return line;
}

static char *get_password(const struct login_opts *o, rl_error_t *err)
{
  if (o->pass) {
    rl_warn("a password given with -p is visible to other users of this host (ps, shell "
            "history); prefer --password-stdin");
    if (*o->pass == '\0') {
      rl_make_error(err, 0, "`rless login -p`: the password is empty");
      return NULL;
    }
    return rl_xstrdup(o->pass);
  }
  if (o->password_stdin)
    return read_secret(STDIN_FILENO, false, "password on standard input", err);
  return ask_terminal("Password: ", false, "password", err);
}

/* insecure (plain http): --tls-verify decides, else the registries config. */
static int registry_insecure(const struct login_opts *o, const char *registry, bool *insecure,
                             rl_error_t *err)
{
  if (o->tls_verify >= 0) {
    *insecure = o->tls_verify == 0;
    return 0;
  }
  struct rl_registries_conf c;
  if (rl_registries_conf_load(o->registries_conf, &c, err) < 0)
    return -1;
  const struct rl_registry_conf *rc = rl_registries_find(&c, registry);
  *insecure = rc && rc->insecure;
  rl_registries_conf_free(&c);
  return 0;
}

/* 0 accepted, 1 refused, -1 error (unreachable, not a registry...). */
static int check_credentials(const char *registry, bool insecure, const char *auth_file,
                             rl_error_t *err)
{
  struct rl_registry_opts ro = {.registry = registry,
                                .insecure = insecure,
                                .auth_file = auth_file,
                                .progress = RL_PROGRESS_QUIET};
  struct rl_registry *reg = NULL;
  if (rl_registry_open(&ro, NULL, &reg, err) < 0)
    return -1;
  int r = rl_registry_ping(reg, err);
  rl_registry_close(reg);
  if (r < 0 && !insecure)
    rl_error_hint(err, "for a registry that speaks plain http, add --tls-verify=false or set "
                       "\"insecure\": true for it in the registries config");
  if (r < 0)
    return rl_error_wrap(err, "log in to %s%s", registry, insecure ? " over plain http" : "");
  return r;
}

/* An auth.json holding only these credentials, in memory: what
 * check_credentials reads as /proc/self/fd/N. */
static int memory_auth_file(const char *registry, const char *user, const char *pass, int *fd,
                            rl_error_t *err)
{
  cleanup_close int mfd = memfd_create("rless-login", MFD_CLOEXEC);
  if (mfd < 0)
    return rl_make_error(err, errno, "memfd_create for the credentials of %s", registry);
  cleanup_secret char *b64 = rl_auth_encode(user, pass);
  /* registry is a checked host[:port] and b64 is base64: nothing to escape. */
  cleanup_secret char *text =
      rl_xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}\n", registry, b64);
  if (rl_write_all(mfd, text, strlen(text)) < 0)
    return rl_make_error(err, errno, "write the credentials of %s to a memfd", registry);
  *fd = rl_steal_fd(&mfd);
  return 0;
}

static int verify_new(const char *registry, bool insecure, const char *user, const char *pass,
                      rl_error_t *err)
{
  cleanup_close int fd = -1;
  if (memory_auth_file(registry, user, pass, &fd, err) < 0)
    return -1;
  cleanup_free char *path = rl_xasprintf("/proc/self/fd/%d", fd);
  int r = check_credentials(registry, insecure, path, err);
  if (r == 1) {
    rl_make_error(err, 0,
                  "authentication to %s failed: the registry refused user `%s` and this "
                  "password",
                  registry, user);
    return rl_error_hint(err, "check the user name and the password; nothing was stored");
  }
  return r;
}

/* Without -u/-p: credentials already stored and still accepted are enough.
 * 1 done, 0 ask for new ones, -1 error. */
static int try_existing(const struct login_opts *o, const char *registry, bool insecure,
                        rl_error_t *err)
{
  cleanup_free char *user = NULL;
  cleanup_secret char *pass = NULL;
  int found = rl_auth_lookup(o->auth_file, registry, &user, &pass, err);
  if (found <= 0)
    return found;
  printf("Authenticating with existing credentials for %s\n", registry);
  int r = check_credentials(registry, insecure, o->auth_file, err);
  if (r < 0)
    return -1;
  if (r == 1) {
    rl_notice("the stored credentials of user `%s` for %s were refused", user, registry);
    return 0;
  }
  printf("Existing credentials are valid. Already logged in to %s\n", registry);
  return 1;
}

int rl_cmd_login(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct login_opts o = {.tls_verify = -1};
  int r = parse_login(argc, argv, &o, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  cleanup_free char *registry = NULL;
  bool insecure = false;
  if (rl_imageref_parse_registry(o.registry, &registry, err) < 0 ||
      registry_insecure(&o, registry, &insecure, err) < 0)
    return -1;
  if (o.user == NULL && o.pass == NULL) {
    r = try_existing(&o, registry, insecure, err);
    if (r != 0)
      return r > 0 ? 0 : -1;
  }
  cleanup_free char *user =
      o.user ? rl_xstrdup(o.user) : ask_terminal("Username: ", true, "user name", err);
  if (user == NULL)
    return -1;
  if (strchr(user, ':') != NULL)
    return rl_make_error(err, 0, "user name `%s`: registries' Basic auth forbids `:` in it", user);
  cleanup_secret char *pass = get_password(&o, err);
  if (pass == NULL || verify_new(registry, insecure, user, pass, err) < 0 ||
      rl_auth_store(o.auth_file, registry, user, pass, err) < 0)
    return -1;
  puts("Login Succeeded");
  return 0;
}

/* ---- logout ---- */

static int parse_logout(int argc, char **argv, const char **auth_file, bool *all, rl_error_t *err)
{
  static const struct option opts[] = {
      {"authfile", required_argument, NULL, 'A'},
      {"all", no_argument, NULL, 'a'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:a", opts, NULL)) != -1) {
    switch (c) {
    case 'A':
      *auth_file = optarg;
      break;
    case 'a':
      *all = true;
      break;
    case 'h':
      fputs(logout_usage, stdout);
      return 1;
    default:
      return bad_option("logout", argv[optind - 1], err);
    }
  }
  if (*all && optind != argc)
    return rl_make_error(err, 0, "`rless logout --all` takes no registry");
  if (!*all && optind + 1 != argc)
    return rl_make_error(err, 0, "`rless logout` takes exactly one registry (or --all)");
  return 0;
}

/* The keys of the auth file's "auths"; the file is read whole like auth.c does. */
static int auth_keys(const char *path, rl_strv_t *keys, rl_error_t *err)
{
  size_t len = 0;
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, AUTH_FILE_MAX, &len);
  if (text == NULL && errno == ENOENT)
    return 0;
  if (text == NULL)
    return rl_make_error(err, errno, "read registry credentials `%s`", path);
  json_error_t je;
  json_t *root = json_loadb(text, len, 0, &je);
  explicit_bzero(text, len);
  if (root == NULL)
    return rl_make_error(err, 0, "registry credentials `%s`: invalid JSON (line %d: %s)", path,
                         je.line, je.text);
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(root, "auths"), k, v)
  {
    rl_strv_push(keys, k);
  }
  json_decref(root);
  return 0;
}

static int logout_all(const char *auth_file, rl_error_t *err)
{
  cleanup_free char *path = rl_auth_default_path(auth_file, err);
  cleanup_strv rl_strv_t keys = {0};
  if (path == NULL || auth_keys(path, &keys, err) < 0)
    return -1;
  for (size_t i = 0; i < keys.n; i++)
    if (rl_auth_remove(auth_file, keys.v[i], err) < 0)
      return -1;
  puts("Removed login credentials for all registries");
  return 0;
}

static int not_logged_in(const char *auth_file, const char *registry, rl_error_t *err)
{
  cleanup_free char *path = rl_auth_default_path(auth_file, NULL);
  rl_make_error(err, 0, "not logged in to %s (no entry in `%s`)", registry, path ? path : "?");
  cleanup_free char *user = NULL;
  cleanup_secret char *pass = NULL;
  if (rl_auth_lookup(auth_file, registry, &user, &pass, NULL) == 1)
    rl_error_hint(err,
                  "rless still finds credentials of `%s` for %s in another file it reads "
                  "(~/.config/containers/auth.json or ~/.docker/config.json); remove them there",
                  user, registry);
  return -1;
}

int rl_cmd_logout(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  const char *auth_file = NULL;
  bool all = false;
  int r = parse_logout(argc, argv, &auth_file, &all, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (all)
    return logout_all(auth_file, err);
  cleanup_free char *registry = NULL;
  if (rl_imageref_parse_registry(argv[optind], &registry, err) < 0)
    return -1;
  r = rl_auth_remove(auth_file, registry, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return not_logged_in(auth_file, registry, err);
  printf("Removed login credentials for %s\n", registry);
  return 0;
}
