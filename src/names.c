/* Generated container names, docker's shape: an adjective and the surname
 * of a scientist or engineer, "eager_noether".  Randomness from getrandom;
 * a collision is handled by the caller (another draw). */
#include "rl_cstate.h"

#include <stdint.h>
#include <sys/random.h>

static const char *const adjectives[] = {
    "admiring",      "agitated",   "amazing",    "angry",       "awesome",    "beautiful",
    "blissful",      "bold",       "brave",      "busy",        "charming",   "clever",
    "compassionate", "confident",  "cool",       "dazzling",    "determined", "distracted",
    "dreamy",        "eager",      "ecstatic",   "elastic",     "elated",     "elegant",
    "epic",          "exciting",   "fervent",    "festive",     "focused",    "friendly",
    "frosty",        "gallant",    "gifted",     "goofy",       "gracious",   "happy",
    "hopeful",       "hungry",     "inspiring",  "intelligent", "jolly",      "jovial",
    "keen",          "kind",       "laughing",   "loving",      "lucid",      "magical",
    "modest",        "musing",     "mystifying", "nervous",     "nice",       "nifty",
    "nostalgic",     "optimistic", "peaceful",   "pensive",     "practical",  "priceless",
    "quirky",        "quizzical",  "relaxed",    "reverent",    "romantic",   "serene",
    "sharp",         "silly",      "sleepy",     "stoic",       "strange",    "sweet",
    "tender",        "thirsty",    "trusting",   "upbeat",      "vibrant",    "vigilant",
    "vigorous",      "wizardly",   "wonderful",  "youthful",    "zealous",
};

static const char *const surnames[] = {
    "agnesi",     "allen",         "archimedes", "babbage",  "banach",      "bardeen",
    "bartik",     "bell",          "bohr",       "boole",    "brahmagupta", "cartwright",
    "cerf",       "chandrasekhar", "clarke",     "curie",    "darwin",      "dijkstra",
    "einstein",   "elion",         "euclid",     "euler",    "faraday",     "fermat",
    "fermi",      "feynman",       "franklin",   "galileo",  "gauss",       "germain",
    "goldberg",   "goodall",       "hamilton",   "hawking",  "heisenberg",  "hodgkin",
    "hopper",     "hypatia",       "jackson",    "johnson",  "kalam",       "kepler",
    "khorana",    "knuth",         "kowalevski", "lamarr",   "leakey",      "leavitt",
    "lovelace",   "lumiere",       "mayer",      "mccarthy", "meitner",     "mendel",
    "mirzakhani", "morse",         "napier",     "newton",   "nobel",       "noether",
    "pascal",     "pasteur",       "payne",      "perlman",  "planck",      "poincare",
    "ramanujan",  "ride",          "ritchie",    "rubin",    "sammet",      "shannon",
    "shockley",   "sinoussi",      "stallman",   "swartz",   "tesla",       "thompson",
    "torvalds",   "turing",        "volhard",    "wescoff",  "wiles",       "wozniak",
    "wright",     "yalow",         "yonath",
};

static uint32_t random_below(uint32_t n)
{
  uint32_t v = 0;
  /* getrandom of 4 bytes from an initialized pool cannot come short. */
  while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
    ;
  return v % n;
}

char *rl_cstate_random_name(void)
{
  const char *a = adjectives[random_below(RL_ARRAY_SIZE(adjectives))];
  const char *s = surnames[random_below(RL_ARRAY_SIZE(surnames))];
  return rl_xasprintf("%s_%s", a, s);
}
