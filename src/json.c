#include "rl_json.h"

json_t *rl_strv_to_json(const rl_strv_t *s)
{
  json_t *a = json_array();
  for (size_t i = 0; i < s->n; i++)
    json_array_append_new(a, json_string(s->v[i]));
  return a;
}

void rl_strv_from_json(json_t *arr, rl_strv_t *out)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (json_is_string(v))
      rl_strv_push(out, json_string_value(v));
  }
}
