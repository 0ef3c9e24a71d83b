/*
 * tf_path.h: confining model paths to a directory.
 */
#ifndef TF_PATH_H
#define TF_PATH_H

#include <stdbool.h>

/*
 * Whether `path` is `dir` itself or lies below it. Both are canonical
 * absolute paths (as realpath() returns them: no ".", "..", symbolic links
 * or repeated slashes); `dir` may end in one "/" (the root is "/"). The
 * comparison is by whole components: "/a/models2" is not inside "/a/models".
 */
bool		tf_path_within(const char *dir, const char *path);

#endif							/* TF_PATH_H */
