/* Unit tests for src/manifest.c: media types and shapes, schema 1, every
 * validation error with the JSON path it names, platform selection and
 * parsing, image configs with docker's nulls, and layer media types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/utsname.h>

#include "rl_error.h"
#include "rl_manifest.h"
#include "rl_util.h"

int rl_log_level = 0;

#define OCI_INDEX   "application/vnd.oci.image.index.v1+json"
#define OCI_IMAGE   "application/vnd.oci.image.manifest.v1+json"
#define DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_V2   "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_CONFIG  "application/vnd.oci.image.config.v1+json"
#define OCI_TGZ     "application/vnd.oci.image.layer.v1.tar+gzip"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG_A  "sha256:" HEX_A
#define DG_B  "sha256:" HEX_B
#define DG_C  "sha256:" HEX_C

/* A layer descriptor, with single quotes for JSON's double ones. */
#define LAYER(dg, size) "{'mediaType':'" OCI_TGZ "','digest':'" dg "','size':" #size "}"
#define CONFIG_DESC     "{'mediaType':'" OCI_CONFIG "','digest':'" DG_C "','size':1469}"
#define ENTRY(dg, plat)                                                                            \
  "{'mediaType':'" OCI_IMAGE "','digest':'" dg "','size':480,'platform':" plat "}"

/* Test JSON is written with single quotes; the parser sees double ones. */
static char *j(const char *s)
{
  char *r = rl_xstrdup(s);
  for (char *p = r; *p; p++)
    if (*p == '\'')
      *p = '"';
  return r;
}

/* An OCI image manifest whose layers array is LAYERS. */
static char *image_with_layers(const char *layers)
{
  cleanup_free char *s = rl_xasprintf("{'schemaVersion':2,'mediaType':'" OCI_IMAGE
                                      "','config':" CONFIG_DESC ",'layers':[%s]}",
                                      layers);
  return j(s);
}

static char *index_with(const char *entries)
{
  cleanup_free char *s =
      rl_xasprintf("{'schemaVersion':2,'mediaType':'" OCI_INDEX "','manifests':[%s]}", entries);
  return j(s);
}

static void parse_ok(const char *body, const char *ct, struct rl_manifest *m)
{
  rl_error_t err = NULL;
  int r = rl_manifest_parse(body, strlen(body), ct, m, &err);
  if (r != 0)
    fail_msg("parse failed: %s", err->msg);
  assert_null(err);
}

/* Parse must fail, leave *m empty, and say WANT (a substring of the message). */
static void parse_fails(const char *body, const char *ct, const char *want)
{
  struct rl_manifest m;
  memset(&m, 0x5a, sizeof(m));
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_parse(body, strlen(body), ct, &m, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, want) == NULL)
    fail_msg("message `%s` lacks `%s`", err->msg, want);
  assert_null(m.layers);
  assert_null(m.manifests);
  assert_null(m.config.digest);
  assert_int_equal(m.n_layers + m.n_manifests, 0);
  rl_error_free(&err);
}

static void layer_fails(const char *bad_layer, const char *want)
{
  cleanup_free char *layers =
      rl_xasprintf(LAYER(DG_A, 1) "," LAYER(DG_B, 2) "," LAYER(DG_A, 3) ",%s", bad_layer);
  cleanup_free char *body = image_with_layers(layers);
  parse_fails(body, OCI_IMAGE, want);
}

static void entry_fails(const char *bad_entry, const char *want)
{
  cleanup_free char *entries =
      rl_xasprintf(ENTRY(DG_A, "{'os':'linux','architecture':'amd64'}") ",%s", bad_entry);
  cleanup_free char *body = index_with(entries);
  parse_fails(body, NULL, want);
}

/* ---- real-looking documents ---- */

static const char docker_v2_manifest[] =
    "{\n   \"schemaVersion\": 2,\n"
    "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
    "   \"config\": {\n"
    "      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
    "      \"size\": 1472,\n"
    "      \"digest\": \"" DG_C "\"\n   },\n"
    "   \"layers\": [\n      {\n"
    "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
    "         \"size\": 3408729,\n"
    "         \"digest\": \"" DG_A "\"\n      },\n      {\n"
    "         \"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\n"
    "         \"size\": 0,\n"
    "         \"digest\": \"" DG_B "\",\n"
    "         \"urls\": [\"https://example.com/layer.tar.gz\"]\n      }\n   ]\n}";

static const char docker_list[] =
    "{\"manifests\":["
    "{\"digest\":\"sha256:"
    "1111111111111111111111111111111111111111111111111111111111111111\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":528},"
    "{\"digest\":\"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"},\"size\":528},"
    "{\"digest\":\"sha256:"
    "3333333333333333333333333333333333333333333333333333333333333333\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"},\"size\":528},"
    "{\"digest\":\"sha256:"
    "4444444444444444444444444444444444444444444444444444444444444444\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"},\"size\":528}"
    ","
    "{\"digest\":\"sha256:"
    "5555555555555555555555555555555555555555555555555555555555555555\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"386\",\"os\":\"linux\"},\"size\":528},"
    "{\"digest\":\"sha256:"
    "6666666666666666666666666666666666666666666666666666666666666666\",\"mediaType\":\"" DOCKER_V2
    "\",\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"},\"size\":528}"
    "],\"mediaType\":\"" DOCKER_LIST "\",\"schemaVersion\":2}";

/* What buildx pushes: two images and their attestation manifests. */
static const char buildx_index[] =
    "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" OCI_INDEX "\",\n  \"manifests\": [\n"
    "    {\"mediaType\": \"" OCI_IMAGE "\", \"digest\": \"" DG_A "\", \"size\": 1049,\n"
    "     \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}},\n"
    "    {\"mediaType\": \"" OCI_IMAGE "\", \"digest\": \"" DG_B "\", \"size\": 1049,\n"
    "     \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\"}},\n"
    "    {\"mediaType\": \"" OCI_IMAGE "\", \"digest\": \"" DG_C "\", \"size\": 566,\n"
    "     \"annotations\": {\"vnd.docker.reference.digest\": \"" DG_A "\",\n"
    "                     \"vnd.docker.reference.type\": \"attestation-manifest\"},\n"
    "     \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}}\n  ]\n}\n";

static const char docker_config[] =
    "{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"Tty\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/"
    "sbin:/usr/bin:/sbin:/bin\",\"LANG=C.UTF-8\",\"EMPTY=\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"echo "
    "hi\"],\"Image\":\"" DG_A "\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
    "\"OnBuild\":null,\"Labels\":null},\"container\":\"4f1a\",\"created\":\"2023-02-11T04:46:42."
    "558343068Z\",\"docker_version\":\"20.10.12\",\"history\":[{\"created\":\"2023-02-11T04:46:"
    "42Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:40887ab in / \"}],\"os\":\"linux\","
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG_B "\"]}}";

static void test_docker_v2_manifest(void **state)
{
  struct rl_manifest m;
  parse_ok(docker_v2_manifest, DOCKER_V2, &m);
  assert_int_equal(m.kind, RL_MANIFEST_IMAGE);
  assert_string_equal(m.config.media_type, "application/vnd.docker.container.image.v1+json");
  assert_string_equal(m.config.digest, DG_C);
  assert_int_equal(m.config.size, 1472);
  assert_int_equal(m.n_layers, 2);
  assert_string_equal(m.layers[0].digest, DG_A);
  assert_int_equal(m.layers[0].size, 3408729);
  assert_string_equal(m.layers[1].media_type,
                      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
  assert_int_equal(m.layers[1].size, 0);
  assert_null(m.manifests);
  rl_manifest_free(&m);
  assert_null(m.layers);
}

static void test_oci_image_manifest_ct_params(void **state)
{
  cleanup_free char *body = image_with_layers(LAYER(DG_A, 10) "," LAYER(DG_B, 20));
  struct rl_manifest m;
  /* Parameters and case do not change a media type. */
  parse_ok(body, " Application/VND.oci.image.manifest.v1+json ; charset=utf-8", &m);
  assert_int_equal(m.kind, RL_MANIFEST_IMAGE);
  assert_int_equal(m.n_layers, 2);
  assert_string_equal(m.layers[1].digest, DG_B);
  assert_int_equal(m.layers[1].size, 20);
  rl_manifest_free(&m);
}

static void test_docker_manifest_list(void **state)
{
  struct rl_manifest m;
  parse_ok(docker_list, DOCKER_LIST, &m);
  assert_int_equal(m.kind, RL_MANIFEST_INDEX);
  assert_int_equal(m.n_manifests, 6);
  assert_string_equal(m.manifests[2].os, "linux");
  assert_string_equal(m.manifests[2].arch, "arm");
  assert_string_equal(m.manifests[2].variant, "v7");
  assert_null(m.manifests[0].variant);
  assert_string_equal(m.manifests[3].media_type, DOCKER_V2);
  const struct rl_descriptor *d = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "arm", "v6", &d, &err), 0);
  assert_ptr_equal(d, &m.manifests[1]);
  assert_int_equal(rl_manifest_select(&m, "linux", "arm64", NULL, &d, &err), 0);
  assert_ptr_equal(d, &m.manifests[3]);
  assert_int_equal(rl_manifest_select(&m, "linux", "s390x", NULL, &d, &err), 0);
  assert_string_equal(d->digest,
                      "sha256:6666666666666666666666666666666666666666666666666666666666666666");
  rl_manifest_free(&m);
}

static void test_buildx_index(void **state)
{
  struct rl_manifest m;
  parse_ok(buildx_index, OCI_INDEX, &m);
  assert_int_equal(m.kind, RL_MANIFEST_INDEX);
  assert_int_equal(m.n_manifests, 3);
  assert_string_equal(m.manifests[2].os, "unknown");
  const struct rl_descriptor *d = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "amd64", NULL, &d, &err), 0);
  assert_string_equal(d->digest, DG_A);
  /* The attestation is never a candidate nor listed. */
  assert_int_equal(rl_manifest_select(&m, "unknown", "unknown", NULL, &d, &err), -1);
  assert_string_equal(err->msg, "no unknown/unknown in index; it has linux/amd64, linux/arm64");
  rl_error_free(&err);
  rl_manifest_free(&m);
}

static void test_body_type_decides_when_ct_null(void **state)
{
  struct rl_manifest m;
  parse_ok(buildx_index, NULL, &m);
  assert_int_equal(m.kind, RL_MANIFEST_INDEX);
  rl_manifest_free(&m);
  parse_ok(docker_v2_manifest, "application/json", &m);
  assert_int_equal(m.kind, RL_MANIFEST_IMAGE);
  rl_manifest_free(&m);
  parse_ok(docker_list, "text/plain; charset=utf-8", &m);
  assert_int_equal(m.kind, RL_MANIFEST_INDEX);
  rl_manifest_free(&m);
}

static void test_shape_without_media_type(void **state)
{
  cleanup_free char *idx = j("{'schemaVersion':2,'manifests':[" ENTRY(
      DG_A, "{'os':'linux','architecture':'arm64','variant':'v8'}") "]}");
  cleanup_free char *img =
      j("{'schemaVersion':2,'config':" CONFIG_DESC ",'layers':[" LAYER(DG_B, 7) "]}");
  struct rl_manifest m;
  parse_ok(idx, "text/plain", &m);
  assert_int_equal(m.kind, RL_MANIFEST_INDEX);
  assert_string_equal(m.manifests[0].variant, "v8");
  rl_manifest_free(&m);
  parse_ok(img, NULL, &m);
  assert_int_equal(m.kind, RL_MANIFEST_IMAGE);
  assert_int_equal(m.layers[0].size, 7);
  rl_manifest_free(&m);
  /* A typed response needs no mediaType in the body (OCI before 1.1). */
  parse_ok(img, OCI_IMAGE, &m);
  assert_int_equal(m.kind, RL_MANIFEST_IMAGE);
  rl_manifest_free(&m);
}

static void test_shape_ambiguous(void **state)
{
  cleanup_free char *both =
      j("{'schemaVersion':2,'manifests':[],'config':" CONFIG_DESC ",'layers':[]}");
  cleanup_free char *neither = j("{'schemaVersion':2,'blobs':[]}");
  parse_fails(both, NULL, "manifest: no mediaType, and the document is both");
  parse_fails(neither, "application/json", "the document is neither");
}

static void test_ct_body_disagree(void **state)
{
  parse_fails(docker_v2_manifest, OCI_IMAGE,
              "manifest: the Content-Type `" OCI_IMAGE
              "` disagrees with the body's mediaType `" DOCKER_V2 "`");
  parse_fails(buildx_index, DOCKER_LIST, "disagrees");
}

static void test_schema1(void **state)
{
  static const char jws[] = "eyJhbGciOiJFUzI1NiJ9.not-json";
  parse_fails(jws, "application/vnd.docker.distribution.manifest.v1+prettyjws",
              "manifest: schema 1 manifests are not supported (deprecated by docker); push the "
              "image again with a current tool");
  cleanup_free char *v1 = j("{'schemaVersion':1,'name':'library/busybox','tag':'latest',"
                            "'architecture':'amd64','fsLayers':[{'blobSum':'" DG_A "'}]}");
  parse_fails(v1, NULL, "schema 1 manifests are not supported");
  parse_fails(v1, "application/json", "schema 1");
  cleanup_free char *typed =
      j("{'schemaVersion':2,'mediaType':'application/vnd.docker.distribution.manifest.v1+json'}");
  parse_fails(typed, NULL, "schema 1 manifests are not supported");
  parse_fails(v1, "application/vnd.docker.distribution.manifest.v1+json", "schema 1");
}

static void test_schema_version(void **state)
{
  cleanup_free char *none = j("{'mediaType':'" OCI_INDEX "','manifests':[]}");
  cleanup_free char *three = j("{'schemaVersion':3,'manifests':[]}");
  cleanup_free char *str = j("{'schemaVersion':'2','manifests':[]}");
  cleanup_free char *real = j("{'schemaVersion':2.0,'manifests':[]}");
  parse_fails(none, NULL, "manifest: schemaVersion: missing (expected 2)");
  parse_fails(three, NULL, "manifest: schemaVersion: 3 is not supported");
  parse_fails(str, NULL, "manifest: schemaVersion: expected the integer 2, got a string");
  parse_fails(real, NULL, "got a fractional number");
}

static void test_unknown_media_types(void **state)
{
  cleanup_free char *artifact =
      j("{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact.manifest.v1+json'}");
  parse_fails(artifact, NULL,
              "manifest: media type `application/vnd.oci.artifact.manifest.v1+json` is not an "
              "image manifest or index");
  parse_fails(artifact, "application/vnd.oci.artifact.manifest.v1+json", "is not an image");
  cleanup_free char *typed_num = j("{'schemaVersion':2,'mediaType':7,'manifests':[]}");
  parse_fails(typed_num, NULL, "manifest: mediaType: expected a string, got an integer");
  rl_error_t err = NULL;
  struct rl_manifest m;
  assert_int_equal(rl_manifest_parse(artifact, strlen(artifact), NULL, &m, &err), -1);
  assert_non_null(err->hint);
  rl_error_free(&err);
}

static void test_malformed_json(void **state)
{
  parse_fails("{\"schemaVersion\": 2, \"manifests\": [", NULL,
              "manifest: invalid JSON at line 1 column");
  parse_fails("{\"schemaVersion\": 2} trailing", NULL, "invalid JSON");
  parse_fails("[1,2]", NULL, "manifest: expected a JSON object, got an array");
  parse_fails("", NULL, "invalid JSON");
  parse_fails("{\"schemaVersion\": 2, \"schemaVersion\": 1}", NULL, "duplicate");
  parse_fails("{\"schemaVersion\": 2, \"mediaType\": \"\xff\xfe\"}", NULL, "invalid JSON");
  parse_fails("{\"schemaVersion\": 2, \"x\": \"a\\u0000b\"}", NULL, "invalid JSON");
  rl_error_t err = NULL;
  struct rl_manifest m;
  assert_int_equal(rl_manifest_parse(NULL, 0, OCI_IMAGE, &m, &err), -1);
  assert_non_null(strstr(err->msg, "empty document"));
  rl_error_free(&err);
}

static void test_oversized_body(void **state)
{
  size_t n = (4 << 20) + 1;
  cleanup_free char *big = rl_xmalloc(n + 1);
  memset(big, ' ', n);
  big[0] = '{';
  memcpy(big + n - 1, "}", 2);
  rl_error_t err = NULL;
  struct rl_manifest m;
  assert_int_equal(rl_manifest_parse(big, n, OCI_IMAGE, &m, &err), -1);
  assert_non_null(strstr(err->msg, "more than the"));
  rl_error_free(&err);
}

static void test_layer_digest_errors(void **state)
{
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha512:" HEX_A HEX_A "','size':1}",
              "manifest: layers[3].digest: digest algorithm `sha512` is not supported");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha256:" HEX_A "A','size':1}",
              "manifest: layers[3].digest: `sha256:aaaa");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha256:ABCDEF" HEX_A "','size':1}",
              "64 lowercase hex digits");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha256:abc','size':1}",
              "layers[3].digest: `sha256:abc`: a sha256 digest is 64 lowercase hex digits");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" HEX_A "','size':1}",
              "layers[3].digest: `" HEX_A "` is not a digest");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha256:','size':1}", "is not a digest");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':':" HEX_A "','size':1}", "is not a digest");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'sha256:" HEX_A "/..','size':1}",
              "is not a digest");
  layer_fails("{'mediaType':'" OCI_TGZ "','size':1}", "manifest: layers[3].digest: missing");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':42,'size':1}",
              "layers[3].digest: expected a string, got an integer");
}

static void test_layer_size_errors(void **state)
{
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" DG_A "','size':-1}",
              "manifest: layers[3].size: -1 is negative");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" DG_A "','size':1.5}",
              "layers[3].size: expected an integer, got a fractional number");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" DG_A "','size':'12'}",
              "layers[3].size: expected an integer, got a string");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" DG_A "'}", "layers[3].size: missing");
  layer_fails("{'mediaType':'" OCI_TGZ "','digest':'" DG_A "','size':99999999999999999999}",
              "invalid JSON");
}

static void test_layer_media_type_errors(void **state)
{
  layer_fails("{'digest':'" DG_A "','size':1}", "manifest: layers[3].mediaType: missing");
  layer_fails("{'mediaType':null,'digest':'" DG_A "','size':1}",
              "layers[3].mediaType: expected a string, got null");
  layer_fails("{'mediaType':'tar','digest':'" DG_A "','size':1}",
              "layers[3].mediaType: `tar` is not a media type");
  /* Control characters never reach the terminal. */
  layer_fails("{'mediaType':'a/\\u001b[31mred','digest':'" DG_A "','size':1}",
              "`a/?[31mred` is not a media type");
  layer_fails("[1]", "manifest: layers[3]: expected a descriptor object, got an array");
}

static void test_image_structure_errors(void **state)
{
  cleanup_free char *no_config = j("{'schemaVersion':2,'mediaType':'" OCI_IMAGE "','layers':[]}");
  cleanup_free char *no_layers =
      j("{'schemaVersion':2,'mediaType':'" OCI_IMAGE "','config':" CONFIG_DESC "}");
  cleanup_free char *layers_obj = image_with_layers("");
  char *p = strstr(layers_obj, "\"layers\":[]");
  memcpy(p, "\"layers\":{}", 11);
  cleanup_free char *helm = j("{'schemaVersion':2,'mediaType':'" OCI_IMAGE
                              "','config':{'mediaType':'application/vnd.cncf.helm.config.v1+json',"
                              "'digest':'" DG_A "','size':1},'layers':[]}");
  cleanup_free char *bad_config =
      j("{'schemaVersion':2,'mediaType':'" OCI_IMAGE "','config':{'mediaType':'" OCI_CONFIG
        "','digest':'md5:abc','size':1},'layers':[]}");
  parse_fails(no_config, NULL, "manifest: config: missing");
  parse_fails(no_layers, NULL, "manifest: layers: missing");
  parse_fails(layers_obj, NULL, "manifest: layers: expected an array, got an object");
  parse_fails(helm, NULL,
              "manifest: config.mediaType: `application/vnd.cncf.helm.config.v1+json` is not a "
              "container image config");
  parse_fails(bad_config, NULL, "manifest: config.digest: digest algorithm `md5`");
  /* An untyped index body served as an image manifest has no config. */
  cleanup_free char *untyped = j("{'schemaVersion':2,'manifests':[]}");
  parse_fails(untyped, OCI_IMAGE, "manifest: config: missing");
}

static char *repeat_json(const char *item, size_t n)
{
  size_t len = strlen(item);
  char *r = rl_xmalloc(n * (len + 1) + 1);
  for (size_t i = 0; i < n; i++) {
    memcpy(r + i * (len + 1), item, len);
    r[i * (len + 1) + len] = ',';
  }
  r[n ? n * (len + 1) - 1 : 0] = '\0';
  return r;
}

static void test_counts(void **state)
{
  cleanup_free char *l1000 = repeat_json(LAYER(DG_A, 1), 1000);
  cleanup_free char *l1001 = repeat_json(LAYER(DG_A, 1), 1001);
  cleanup_free char *ok = image_with_layers(l1000), *over = image_with_layers(l1001);
  struct rl_manifest m;
  parse_ok(ok, NULL, &m);
  assert_int_equal(m.n_layers, 1000);
  rl_manifest_free(&m);
  parse_fails(over, NULL, "manifest: layers: 1001 entries, more than the 1000 rless accepts");
  cleanup_free char *e1001 =
      repeat_json(ENTRY(DG_A, "{'os':'linux','architecture':'amd64'}"), 1001);
  cleanup_free char *big_index = index_with(e1001);
  parse_fails(big_index, NULL, "index: manifests: 1001 entries");
}

static void test_index_entry_errors(void **state)
{
  entry_fails(ENTRY(DG_B, "'linux/amd64'"),
              "index: manifests[1].platform: expected an object, got a string");
  entry_fails(ENTRY(DG_B, "{'architecture':'amd64'}"), "index: manifests[1].platform.os: missing");
  entry_fails(ENTRY(DG_B, "{'os':'linux'}"), "manifests[1].platform.architecture: missing");
  entry_fails(ENTRY(DG_B, "{'os':'linux','architecture':'amd 64'}"),
              "manifests[1].platform.architecture: `amd 64` is not a platform name");
  entry_fails(ENTRY(DG_B, "{'os':'linux','architecture':'arm','variant':7}"),
              "manifests[1].platform.variant: expected a string, got an integer");
  entry_fails(ENTRY(DG_B, "{'os':'','architecture':'arm'}"), "manifests[1].platform.os: ``");
  entry_fails(ENTRY("sha256:abc", "{'os':'linux','architecture':'arm'}"),
              "index: manifests[1].digest:");
  entry_fails("{'mediaType':'" OCI_IMAGE "','digest':'" DG_B "','size':-5}",
              "index: manifests[1].size: -5 is negative");
  entry_fails("null", "index: manifests[1]: expected a descriptor object, got null");
  cleanup_free char *not_array = j("{'schemaVersion':2,'mediaType':'" OCI_INDEX "','manifests':7}");
  parse_fails(not_array, NULL, "index: manifests: expected an array, got an integer");
}

static void test_index_optional_platform(void **state)
{
  cleanup_free char *body =
      index_with("{'mediaType':'" OCI_IMAGE "','digest':'" DG_A "','size':1}," ENTRY(
          DG_B, "{'os':'linux','architecture':'arm','variant':''}") "," ENTRY(DG_C, "null"));
  struct rl_manifest m;
  parse_ok(body, OCI_INDEX, &m);
  assert_int_equal(m.n_manifests, 3);
  assert_null(m.manifests[0].os);
  assert_null(m.manifests[0].arch);
  assert_null(m.manifests[1].variant); /* "" is none */
  assert_null(m.manifests[2].os);
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "arm", NULL, &d, &err), 0);
  assert_ptr_equal(d, &m.manifests[1]);
  rl_manifest_free(&m);
}

/* ---- select ---- */

/* An index of the N entries E (single-quoted JSON). */
static void index_of(struct rl_manifest *m, const char *const *e, size_t n)
{
  cleanup_free char *joined = rl_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = rl_xasprintf("%s%s%s", joined, i ? "," : "", e[i]);
    free(joined);
    joined = next;
  }
  cleanup_free char *body = index_with(joined);
  parse_ok(body, NULL, m);
}

#define INDEX_OF(m, ...)                                                                           \
  do {                                                                                             \
    const char *const e_[] = {__VA_ARGS__};                                                        \
    index_of(m, e_, RL_ARRAY_SIZE(e_));                                                            \
  } while (0)

#define P(os, arch)     "{'os':'" os "','architecture':'" arch "'}"
#define PV(os, arch, v) "{'os':'" os "','architecture':'" arch "','variant':'" v "'}"

static size_t pick(const struct rl_manifest *m, const char *os, const char *arch,
                   const char *variant)
{
  const struct rl_descriptor *d = NULL;
  rl_error_t err = NULL;
  if (rl_manifest_select(m, os, arch, variant, &d, &err) < 0)
    fail_msg("select failed: %s", err->msg);
  return (size_t)(d - m->manifests);
}

static void test_select_variants(void **state)
{
  struct rl_manifest m;
  INDEX_OF(&m, ENTRY(DG_A, PV("linux", "arm", "v6")), ENTRY(DG_B, PV("linux", "arm", "v7")),
           ENTRY(DG_C, P("linux", "arm")), ENTRY(DG_A, P("windows", "amd64")),
           ENTRY(DG_B, P("linux", "amd64")));
  assert_int_equal(pick(&m, "linux", "arm", "v7"), 1);
  assert_int_equal(pick(&m, "linux", "arm", "v6"), 0);
  assert_int_equal(pick(&m, "linux", "amd64", NULL), 4);
  assert_int_equal(pick(&m, "windows", "amd64", NULL), 3);
  /* No variant asked, none preferred by the host (it is not arm): the one without. */
  struct utsname u;
  assert_int_equal(uname(&u), 0);
  if (strncmp(u.machine, "arm", 3) != 0)
    assert_int_equal(pick(&m, "linux", "arm", NULL), 2);
  const struct rl_descriptor *d = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "arm", "v5", &d, &err), -1);
  assert_null(d);
  assert_string_equal(err->msg, "no linux/arm/v5 in index; it has linux/arm/v6, linux/arm/v7, "
                                "linux/arm, windows/amd64, linux/amd64");
  assert_non_null(strstr(err->hint, "--platform"));
  rl_error_free(&err);
  rl_manifest_free(&m);
}

static void test_select_any_variant(void **state)
{
  struct rl_manifest m;
  INDEX_OF(&m, ENTRY(DG_A, P("linux", "amd64")), ENTRY(DG_B, PV("linux", "riscv64", "rva23")));
  /* Only variants there, none asked: any will do. */
  assert_int_equal(pick(&m, "linux", "riscv64", NULL), 1);
  rl_manifest_free(&m);
}

static void test_select_amd64_ignores_variant(void **state)
{
  struct rl_manifest m;
  INDEX_OF(&m, ENTRY(DG_A, PV("linux", "amd64", "v3")), ENTRY(DG_B, P("linux", "amd64")));
  assert_int_equal(pick(&m, "linux", "amd64", NULL), 1);
  assert_int_equal(pick(&m, "linux", "amd64", "v3"), 0);
  assert_int_equal(pick(&m, "linux", "amd64", "v2"), 1);
  rl_manifest_free(&m);
  INDEX_OF(&m, ENTRY(DG_A, PV("linux", "amd64", "v3")));
  assert_int_equal(pick(&m, "linux", "amd64", "v2"), 0);
  assert_int_equal(pick(&m, "linux", "amd64", NULL), 0);
  rl_manifest_free(&m);
}

static void test_select_arm64_v8_is_default(void **state)
{
  struct rl_manifest m;
  INDEX_OF(&m, ENTRY(DG_A, P("linux", "amd64")), ENTRY(DG_B, P("linux", "arm64")));
  assert_int_equal(pick(&m, "linux", "arm64", "v8"), 1);
  assert_int_equal(pick(&m, "linux", "aarch64", NULL), 1);
  rl_manifest_free(&m);
  INDEX_OF(&m, ENTRY(DG_A, PV("linux", "arm64", "v8")));
  assert_int_equal(pick(&m, "linux", "arm64", NULL), 0);
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "arm64", "v9", &d, &err), -1);
  rl_error_free(&err);
  rl_manifest_free(&m);
}

/* The host's variant wins when nothing is asked; meaningful on arm hosts only. */
/* As on an arm/v7 host, whatever this machine is: the host's variant wins
 * over another and over none when the request names none. */
static void test_select_prefers_host_variant(void **state)
{
  const char *os = "linux", *arch = "arm", *variant = "v7";
  const char *const host[3] = {os, arch, variant};
  cleanup_free char *other = rl_xasprintf(ENTRY(DG_A, PV("%s", "%s", "vZZ")), os, arch);
  cleanup_free char *none = rl_xasprintf(ENTRY(DG_B, P("%s", "%s")), os, arch);
  cleanup_free char *hostv = rl_xasprintf(ENTRY(DG_C, PV("%s", "%s", "%s")), os, arch, variant);
  struct rl_manifest m;
  INDEX_OF(&m, other, none, hostv);
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select_for(&m, os, arch, NULL, host, &d, &err), 0);
  assert_ptr_equal(d, &m.manifests[2]);
  /* On another host the same request takes the first acceptable one. */
  const char *const amd[3] = {"linux", "amd64", NULL};
  assert_int_equal(rl_manifest_select_for(&m, os, arch, NULL, amd, &d, &err), 0);
  assert_ptr_not_equal(d, &m.manifests[2]);
  rl_manifest_free(&m);
}

static void test_select_no_match_lists(void **state)
{
  struct rl_manifest m;
  INDEX_OF(&m, ENTRY(DG_A, P("linux", "arm64")), ENTRY(DG_B, PV("linux", "arm", "v7")),
           ENTRY(DG_C, P("unknown", "unknown")), ENTRY(DG_A, P("linux", "arm64")));
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "amd64", NULL, &d, &err), -1);
  assert_string_equal(err->msg, "no linux/amd64 in index; it has linux/arm64, linux/arm/v7");
  rl_error_free(&err);
  rl_manifest_free(&m);
  INDEX_OF(&m, ENTRY(DG_C, P("unknown", "unknown")));
  assert_int_equal(rl_manifest_select(&m, "linux", "amd64", NULL, &d, &err), -1);
  assert_string_equal(err->msg, "no linux/amd64 in index; it lists no platforms");
  rl_error_free(&err);
  rl_manifest_free(&m);
}

static void test_select_long_list_capped(void **state)
{
  rl_strv_t e = {0};
  for (int i = 0; i < 20; i++)
    rl_strv_push_owned(&e, rl_xasprintf(ENTRY(DG_A, "{'os':'os%d','architecture':'amd64'}"), i));
  struct rl_manifest m;
  index_of(&m, (const char *const *)e.v, e.n);
  rl_strv_free(&e);
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "amd64", NULL, &d, &err), -1);
  assert_non_null(strstr(err->msg, "os15/amd64 and 4 more"));
  assert_null(strstr(err->msg, "os16"));
  rl_error_free(&err);
  rl_manifest_free(&m);
}

static void test_select_not_index(void **state)
{
  struct rl_manifest m;
  parse_ok(docker_v2_manifest, NULL, &m);
  const struct rl_descriptor *d;
  rl_error_t err = NULL;
  assert_int_equal(rl_manifest_select(&m, "linux", "amd64", NULL, &d, &err), -1);
  assert_non_null(strstr(err->msg, "not an index"));
  rl_error_free(&err);
  rl_manifest_free(&m);
}

/* ---- platforms ---- */

static void platform_ok(const char *s, const char *os, const char *arch, const char *variant)
{
  cleanup_free char *o = NULL, *a = NULL, *v = NULL;
  rl_error_t err = NULL;
  if (rl_platform_parse(s, &o, &a, &v, &err) < 0)
    fail_msg("`%s`: %s", s, err->msg);
  assert_string_equal(o, os);
  assert_string_equal(a, arch);
  if (variant)
    assert_string_equal(v, variant);
  else
    assert_null(v);
}

static void platform_fails(const char *s, const char *want)
{
  char *o = NULL, *a = NULL, *v = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_platform_parse(s, &o, &a, &v, &err), -1);
  if (strstr(err->msg, want) == NULL)
    fail_msg("`%s`: message `%s` lacks `%s`", s ? s : "(null)", err->msg, want);
  assert_non_null(err->hint);
  assert_null(o);
  assert_null(a);
  assert_null(v);
  rl_error_free(&err);
}

static void test_platform_parse(void **state)
{
  platform_ok("linux/amd64", "linux", "amd64", NULL);
  platform_ok("linux/arm/v7", "linux", "arm", "v7");
  platform_ok("linux/arm64/v8", "linux", "arm64", "v8");
  platform_ok("linux/x86_64", "linux", "amd64", NULL);
  platform_ok("linux/aarch64", "linux", "arm64", NULL);
  platform_ok("Linux/AMD64", "linux", "amd64", NULL);
  platform_ok("linux/armhf", "linux", "arm", "v7");
  platform_ok("linux/armel/v5", "linux", "arm", "v5");
  platform_ok("windows/amd64", "windows", "amd64", NULL);
}

static void test_platform_parse_errors(void **state)
{
  platform_fails("", "--platform: empty");
  platform_fails(NULL, "empty");
  platform_fails("linux", "--platform `linux`: no architecture");
  platform_fails("linux/", "--platform `linux/`: empty architecture");
  platform_fails("/amd64", "empty OS");
  platform_fails("linux//v7", "empty architecture");
  platform_fails("linux/arm/", "empty variant");
  platform_fails("linux/arm/v7/extra", "too many parts");
  platform_fails("linux/arm/v7/", "too many parts");
  platform_fails("linux/am d64", "invalid character in the architecture");
  platform_fails("lin\x1bux/amd64", "--platform `lin?ux/amd64`: invalid character in the OS");
}

static void test_platform_host(void **state)
{
  static const struct {
    const char *machine, *arch, *variant;
  } known[] = {
      {"x86_64", "amd64", NULL},    {"aarch64", "arm64", "v8"}, {"armv7l", "arm", "v7"},
      {"armv6l", "arm", "v6"},      {"i686", "386", NULL},      {"i386", "386", NULL},
      {"ppc64le", "ppc64le", NULL}, {"s390x", "s390x", NULL},   {"riscv64", "riscv64", NULL}};
  const char *os, *arch, *variant;
  rl_platform_host(&os, &arch, &variant);
  assert_string_equal(os, "linux");
  struct utsname u;
  assert_int_equal(uname(&u), 0);
  for (size_t i = 0; i < RL_ARRAY_SIZE(known); i++)
    if (strcmp(u.machine, known[i].machine) == 0) {
      assert_string_equal(arch, known[i].arch);
      if (known[i].variant)
        assert_string_equal(variant, known[i].variant);
      else
        assert_null(variant);
      return;
    }
  fail_msg("machine %s is not in the test's table", u.machine);
}

/* ---- image config ---- */

static void config_fails(const char *json_sq, const char *want)
{
  cleanup_free char *body = j(json_sq);
  struct rl_image_config c;
  memset(&c, 0x5a, sizeof(c));
  rl_error_t err = NULL;
  assert_int_equal(rl_image_config_parse(body, strlen(body), &c, &err), -1);
  if (strstr(err->msg, want) == NULL)
    fail_msg("message `%s` lacks `%s`", err->msg, want);
  assert_null(c.env);
  assert_null(c.diff_ids);
  rl_error_free(&err);
}

#define ROOTFS "'rootfs':{'type':'layers','diff_ids':['" DG_A "']}"

static void test_config_docker(void **state)
{
  struct rl_image_config c;
  rl_error_t err = NULL;
  assert_int_equal(rl_image_config_parse(docker_config, strlen(docker_config), &c, &err), 0);
  assert_null(c.entrypoint); /* null */
  assert_string_equal(c.cmd[0], "/bin/sh");
  assert_string_equal(c.cmd[2], "echo hi");
  assert_null(c.cmd[3]);
  assert_string_equal(c.env[1], "LANG=C.UTF-8");
  assert_string_equal(c.env[2], "EMPTY=");
  assert_null(c.env[3]);
  assert_null(c.working_dir); /* "" */
  assert_null(c.user);        /* "" */
  assert_null(c.stop_signal); /* absent */
  assert_string_equal(c.os, "linux");
  assert_string_equal(c.arch, "amd64");
  assert_string_equal(c.diff_ids[0], DG_B);
  assert_null(c.diff_ids[1]);
  rl_image_config_free(&c);
  assert_null(c.cmd);
}

static void test_config_oci_full(void **state)
{
  cleanup_free char *body = j("{'architecture':'arm64','os':'linux','config':{'Entrypoint':["
                              "'/init','--'],'Cmd':[],'Env':['A=1'],'WorkingDir':'/srv',"
                              "'User':'1000:1000','StopSignal':'SIGQUIT'}," ROOTFS "}");
  struct rl_image_config c;
  rl_error_t err = NULL;
  assert_int_equal(rl_image_config_parse(body, strlen(body), &c, &err), 0);
  assert_string_equal(c.entrypoint[1], "--");
  assert_null(c.entrypoint[2]);
  assert_non_null(c.cmd); /* [] is kept: it is not "absent" */
  assert_null(c.cmd[0]);
  assert_string_equal(c.working_dir, "/srv");
  assert_string_equal(c.user, "1000:1000");
  assert_string_equal(c.stop_signal, "SIGQUIT");
  assert_string_equal(c.arch, "arm64");
  rl_image_config_free(&c);
}

static void test_config_nulls_and_absent(void **state)
{
  cleanup_free char *nulls =
      j("{'config':{'Entrypoint':null,'Cmd':null,'Env':null,"
        "'WorkingDir':null,'User':null,'StopSignal':null},'os':null," ROOTFS "}");
  cleanup_free char *bare = j("{'config':null,'rootfs':{'type':'layers','diff_ids':[]}}");
  struct rl_image_config c;
  rl_error_t err = NULL;
  assert_int_equal(rl_image_config_parse(nulls, strlen(nulls), &c, &err), 0);
  assert_null(c.entrypoint);
  assert_null(c.cmd);
  assert_null(c.env);
  assert_null(c.working_dir);
  assert_null(c.os);
  assert_null(c.arch);
  assert_non_null(c.diff_ids);
  rl_image_config_free(&c);
  assert_int_equal(rl_image_config_parse(bare, strlen(bare), &c, &err), 0);
  assert_null(c.cmd);
  assert_non_null(c.diff_ids);
  assert_null(c.diff_ids[0]);
  rl_image_config_free(&c);
}

static void test_config_wrong_types(void **state)
{
  config_fails("{'config':{'Cmd':'/bin/sh'}," ROOTFS "}",
               "image config: config.Cmd: expected an array of strings or null, got a string");
  config_fails("{'config':{'Entrypoint':['/bin/sh',1]}," ROOTFS "}",
               "image config: config.Entrypoint[1]: expected a string, got an integer");
  config_fails("{'config':{'Env':['A=1',{}]}," ROOTFS "}",
               "config.Env[1]: expected a string, got an object");
  config_fails("{'config':{'WorkingDir':5}," ROOTFS "}",
               "image config: config.WorkingDir: expected a string, got an integer");
  config_fails("{'config':{'User':true}," ROOTFS "}", "config.User: expected a string, got a bool");
  config_fails("{'config':{'StopSignal':[]}," ROOTFS "}", "config.StopSignal: expected a string");
  config_fails("{'config':[]," ROOTFS "}",
               "image config: config: expected an object, got an array");
  config_fails("{'os':1," ROOTFS "}", "image config: os: expected a string, got an integer");
  config_fails("{'architecture':{}," ROOTFS "}", "image config: architecture: expected a string");
}

static void test_config_env_format(void **state)
{
  config_fails("{'config':{'Env':['A=1','NOVALUE']}," ROOTFS "}",
               "image config: config.Env[1]: `NOVALUE` is not KEY=VALUE");
  config_fails("{'config':{'Env':['=x']}," ROOTFS "}", "config.Env[0]: `=x` is not KEY=VALUE");
}

static void test_config_rootfs(void **state)
{
  config_fails("{'config':{}}", "image config: rootfs: missing");
  config_fails("{'rootfs':[]}", "image config: rootfs: expected an object, got an array");
  config_fails("{'rootfs':{'type':'layer','diff_ids':[]}}",
               "image config: rootfs.type: `layer` is not supported (expected \"layers\")");
  config_fails("{'rootfs':{'diff_ids':[]}}", "rootfs.type: missing");
  config_fails("{'rootfs':{'type':'layers'}}", "image config: rootfs.diff_ids: missing");
  config_fails("{'rootfs':{'type':'layers','diff_ids':'x'}}",
               "rootfs.diff_ids: expected an array, got a string");
  config_fails("{'rootfs':{'type':'layers','diff_ids':['" DG_A "','sha256:XYZ']}}",
               "image config: rootfs.diff_ids[1]: `sha256:XYZ`: a sha256 digest is 64");
  config_fails("{'rootfs':{'type':'layers','diff_ids':[3]}}",
               "rootfs.diff_ids[0]: expected a string, got an integer");
  cleanup_free char *ids = repeat_json("'" DG_A "'", 1001);
  cleanup_free char *many = rl_xasprintf("{'rootfs':{'type':'layers','diff_ids':[%s]}}", ids);
  config_fails(many, "rootfs.diff_ids: 1001 entries, more than the 1000");
}

static void test_config_malformed(void **state)
{
  config_fails("{'rootfs':", "image config: invalid JSON at line 1");
  config_fails("'just a string'", "invalid JSON");
  config_fails("[]", "image config: expected a JSON object, got an array");
  config_fails("{'os':'linux','os':'windows'," ROOTFS "}", "duplicate");
}

/* ---- layers ---- */

static void test_layer_media_types(void **state)
{
  static const char *const ok[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  static const char *const bad[] = {
      "application/vnd.oci.image.layer.v1.tar+bzip2",
      "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
      "application/vnd.oci.image.layer.v1.tar+zstd+encrypted",
      "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
      "application/vnd.oci.image.config.v1+json",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip; x=1",
      "",
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(ok); i++)
    assert_true(rl_layer_media_type_ok(ok[i]));
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++)
    if (rl_layer_media_type_ok(bad[i]))
      fail_msg("`%s` accepted", bad[i]);
  assert_false(rl_layer_media_type_ok(NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_v2_manifest),
      cmocka_unit_test(test_oci_image_manifest_ct_params),
      cmocka_unit_test(test_docker_manifest_list),
      cmocka_unit_test(test_buildx_index),
      cmocka_unit_test(test_body_type_decides_when_ct_null),
      cmocka_unit_test(test_shape_without_media_type),
      cmocka_unit_test(test_shape_ambiguous),
      cmocka_unit_test(test_ct_body_disagree),
      cmocka_unit_test(test_schema1),
      cmocka_unit_test(test_schema_version),
      cmocka_unit_test(test_unknown_media_types),
      cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_oversized_body),
      cmocka_unit_test(test_layer_digest_errors),
      cmocka_unit_test(test_layer_size_errors),
      cmocka_unit_test(test_layer_media_type_errors),
      cmocka_unit_test(test_image_structure_errors),
      cmocka_unit_test(test_counts),
      cmocka_unit_test(test_index_entry_errors),
      cmocka_unit_test(test_index_optional_platform),
      cmocka_unit_test(test_select_variants),
      cmocka_unit_test(test_select_any_variant),
      cmocka_unit_test(test_select_amd64_ignores_variant),
      cmocka_unit_test(test_select_arm64_v8_is_default),
      cmocka_unit_test(test_select_prefers_host_variant),
      cmocka_unit_test(test_select_no_match_lists),
      cmocka_unit_test(test_select_long_list_capped),
      cmocka_unit_test(test_select_not_index),
      cmocka_unit_test(test_platform_parse),
      cmocka_unit_test(test_platform_parse_errors),
      cmocka_unit_test(test_platform_host),
      cmocka_unit_test(test_config_docker),
      cmocka_unit_test(test_config_oci_full),
      cmocka_unit_test(test_config_nulls_and_absent),
      cmocka_unit_test(test_config_wrong_types),
      cmocka_unit_test(test_config_env_format),
      cmocka_unit_test(test_config_rootfs),
      cmocka_unit_test(test_config_malformed),
      cmocka_unit_test(test_layer_media_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
