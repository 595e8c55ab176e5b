/* String vectors to and from JSON arrays (jansson), as every record of the
 * store keeps them. */
#ifndef RL_JSON_H
#define RL_JSON_H

#include <jansson.h>

#include "rl_util.h"

/* A new array of the strings of s. */
json_t *rl_strv_to_json(const rl_strv_t *s);
/* Append the string members of arr (anything else, or no array, adds nothing). */
void rl_strv_from_json(json_t *arr, rl_strv_t *out);

#endif
