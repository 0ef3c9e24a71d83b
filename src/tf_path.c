/*
 * tf_path.c: confining model paths to a directory.
 */
#include "tf_path.h"

#include <string.h>

bool
tf_path_within(const char *dir, const char *path)
{
	size_t		len = strlen(dir);

	/* "/" and "/a/" both end in the separator that must follow the prefix */
	while (len > 0 && dir[len - 1] == '/')
		len--;
	if (strncmp(path, dir, len) != 0)
		return false;
	return path[len] == '/' || path[len] == '\0';
}
