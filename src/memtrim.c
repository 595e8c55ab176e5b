/* A long-lived fork of rless (the container monitor) gives back what
 * starting the container made resident and it will not use again.
 *
 * After fork the monitor has rless' whole start-up behind it: every page of
 * rless, libc, libseccomp and jansson that setting up the container
 * touched is mapped in it, and each fault mapped the 64 KiB around the page
 * ("fault-around").  Its loop afterwards (poll, read, write, waitpid, the log
 * line format) needs a few dozen pages of them.  So:
 *   - file mappings that hold no private copy of a page (text, read-only
 *     data: smaps says Anonymous: 0) lose their page-table entries
 *     (MADV_DONTNEED re-reads them from the page cache when touched: for such
 *     a mapping nothing can be lost);
 *   - mappings with private copies (.data, relocated GOTs) are kept as
 *     they are: dropping those would undo relocations;
 *   - the stack below the caller's frame is dropped (dead frames);
 *   - malloc_trim gives the free heap back.
 * MADV_RANDOM does not stop fault-around on this kernel; what does is
 * touching less: the monitor's log lines are formatted without stdio
 * (src/ctrlog.c), and rless is linked with -z now so no symbol is resolved
 * (through ld.so and libc's symbol tables) after the fork.
 * Nothing here is needed for correctness; every failure is ignored. */
#include "rl_util.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct vma {
  unsigned long start, end;
  bool file, anon_pages, stack;
};

/* The stack below the caller's frame held start-up's deepest calls; a
 * margin is left for the calls the loop still makes from here. */
static void drop_stack(const struct vma *v)
{
  char here;
  unsigned long sp = (unsigned long)&here & ~4095UL, margin = 8 * 4096UL;
  if (sp > v->start + margin && sp <= v->end)
    madvise((void *)v->start, sp - margin - v->start, MADV_DONTNEED);
}

static void drop_vma(const struct vma *v)
{
  if (v->stack)
    drop_stack(v);
  if (!v->file || v->end <= v->start)
    return;
  if (!v->anon_pages)
    madvise((void *)v->start, v->end - v->start, MADV_DONTNEED);
}

/* "start-end perms offset dev inode   path": a file mapping has a path
 * starting with '/' and is private (shared mappings are not ours to drop). */
static bool parse_header(const char *line, struct vma *v)
{
  char perms[8];
  unsigned long inode;
  int path_at = 0;
  if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &v->start, &v->end, perms, &inode, &path_at) < 4)
    return false;
  v->file = inode != 0 && line[path_at] == '/' && perms[3] == 'p';
  v->stack = strncmp(line + path_at, "[stack]", 7) == 0;
  v->anon_pages = false;
  return true;
}

void rl_memtrim(void)
{
  FILE *f = fopen("/proc/self/smaps", "re");
  if (f == NULL)
    return;
  /* The whole list first: madvise while reading would change what is read. */
  struct vma *list = NULL, cur = {0};
  size_t n = 0;
  bool have = false;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    struct vma next;
    if (parse_header(line, &next)) {
      if (have) {
        list = rl_xrealloc(list, (n + 1) * sizeof(*list));
        list[n++] = cur;
      }
      cur = next;
      have = true;
    } else if (have && strncmp(line, "Anonymous:", 10) == 0) {
      unsigned long kb = 0;
      sscanf(line + 10, "%lu", &kb);
      cur.anon_pages = kb != 0;
    }
  }
  fclose(f);
  if (have) {
    list = rl_xrealloc(list, (n + 1) * sizeof(*list));
    list[n++] = cur;
  }
  for (size_t i = 0; i < n; i++)
    drop_vma(&list[i]);
  free(list);
  malloc_trim(0);
}
